--- Which requantization a layer's accumulators allow (lg_requantize's
-- `bounded` argument, templates/source_head_int8.c), from the quantization
-- table entry alone. Split from lg.int8emit, which re-exports it.
local M = {}

-- lg_scale_bounded's precondition (templates/source_head_int8.c): |acc| *
-- 2^left < 2^29 for every accumulator of every channel.
M.BOUNDED_LIMIT = 1 << 29
-- mode 3's largest right shift: (zero point + 128) * 2^22 < 2^30
M.FOLD_RIGHT_LIMIT = 22

--- lg_requantize's `bounded` argument for a layer: 0 when some accumulator
-- may break lg_scale_bounded's precondition, else 1, or 2 when moreover every
-- shift is negative (a right shift only), or 3 when moreover every right
-- shift is at most M.FOLD_RIGHT_LIMIT bits ((the output zero point + 128)
-- times 2^right, below 2^30, then joins the rounding constant) and every
-- multiplier is at least 2^30 (2 * multiplier - 2^32 is an int32: SMMLAR). An
-- accumulator is bias + sum of w * (x - zero point) over the real taps, with
-- x an int8 code, so |acc| <= |bias| + d * sum |w|, d the largest |x - zero
-- point|; times 2^left (a left shift when shift > 0).
function M.bounded_mode(entry)
  local channels = #entry.bias
  local per = #entry.weight // channels
  local d = math.max(128 + entry.input.zero_point, 127 - entry.input.zero_point)
  local only_right, small_right = true, true
  for oc = 1, channels do
    local sum = 0
    for i = (oc - 1) * per + 1, oc * per do sum = sum + math.abs(entry.weight[i]) end
    local left = math.max(entry.shift[oc], 0)
    if left > 28 or -entry.shift[oc] > 31 then return 0 end
    if (math.abs(entry.bias[oc]) + d * sum) << left >= M.BOUNDED_LIMIT then return 0 end
    only_right = only_right and entry.shift[oc] < 0
    small_right = small_right and -entry.shift[oc] <= M.FOLD_RIGHT_LIMIT and entry.multiplier[oc] >= 1 << 30
  end
  if not only_right then return 1 end
  return small_right and 3 or 2
end

return M
