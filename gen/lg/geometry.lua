--- Shape arithmetic and its text, in one place: sizes, padding-clipped tap
-- ranges, element counts and the way shapes, pairs and arena ranges are
-- written in messages, comments, the manifest and --explain.
-- (lg.reference keeps its own plain loops on purpose: it is the independent check.)
local M = {}

--- Number of values in a shape ({c, h, w} or {n}).
function M.elements(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

--- Window arithmetic along one axis, shared by the validator, every unroll
-- level and every emitter: a window of `kernel` taps `dilation` apart (tap t
-- reads input index origin + t*dilation, origin = o*stride - pad_begin) moved
-- by `stride` over `size` values with pad_begin zeros before them and pad_end
-- after. dilation defaults to 1 and pad_end to pad_begin, so the short calls
-- of a plain symmetric window stay valid.

--- Input values one window spans: (kernel - 1) * dilation + 1.
function M.span(kernel, dilation)
  return (kernel - 1) * (dilation or 1) + 1
end

--- Output size along one axis (PyTorch's formula). With ceil_mode the last
-- partial window counts too, but only if it starts inside the input or its
-- leading padding (PyTorch's rule), so no window starts in the trailing padding.
-- The caller has checked that the span fits the padded input.
function M.out_size(size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode)
  local room = size + pad_begin + (pad_end or pad_begin) - M.span(kernel, dilation)
  if not ceil_mode then return room // stride + 1 end
  local out = (room + stride - 1) // stride + 1
  if (out - 1) * stride >= size + pad_begin then out = out - 1 end
  return out
end

--- Valid kernel taps [first, last] on one axis for output position o: the taps
-- whose input index o*stride - pad + tap*dilation lies inside 0..size-1 (they
-- are consecutive tap numbers; last < first when every tap is padding).
function M.tap_range(o, stride, pad, kernel, size, dilation)
  local d = dilation or 1
  local origin = o * stride - pad
  local first = (origin >= 0) and 0 or (-origin + d - 1) // d
  local last = math.min(kernel - 1, (size - 1 - origin) // d)
  return first, last
end

--- Taps of output position o that lie inside the padded input (before the
-- end of the trailing padding): the divisor of PyTorch's average pool with
-- count_include_pad, which a ceil_mode window hanging past the padding lowers.
-- (Average pooling has no dilation; a window never starts before the padding.)
function M.padded_taps(o, stride, pad_begin, pad_end, kernel, size)
  return math.min(kernel, size + pad_end - (o * stride - pad_begin))
end

--- PyTorch's "same" padding of one axis, generalised as ONNX SAME_UPPER to any
-- stride and dilation: output ceil(size / stride), total padding the least
-- that gives it, half of it (rounded down) before and the rest after; `lower`
-- (ONNX SAME_LOWER) puts the odd one before instead. Returns begin, end.
function M.same_padding(size, kernel, stride, dilation, lower)
  local out = (size + stride - 1) // stride
  local total = math.max((out - 1) * stride + M.span(kernel, dilation) - size, 0)
  local small = total // 2
  if lower then return total - small, small end
  return small, total - small
end

--- In-bounds taps along one axis, summed over every output position: a window
-- at position o covers input indices o*stride-pad .. o*stride-pad+span-1,
-- and only those inside 0..size-1 count. Positions lo..hi have their whole
-- window inside, so they add kernel each; only the clipped positions before and
-- after them are counted one by one, and there are at most about pad/stride of
-- each, so the cost does not depend on size.
function M.axis_taps(count, size, kernel, stride, pad, dilation)
  local function valid(o)
    local first, last = M.tap_range(o, stride, pad, kernel, size, dilation)
    return math.max(last - first + 1, 0)
  end
  local lo = math.min((pad + stride - 1) // stride, count)          -- first o with origin >= 0
  local hi = math.max(math.min((size - M.span(kernel, dilation) + pad) // stride, count - 1), lo - 1)
  local taps = (hi - lo + 1) * kernel
  for o = 0, lo - 1 do taps = taps + valid(o) end
  for o = hi + 1, count - 1 do taps = taps + valid(o) end
  return taps
end

--- "6x28x28" for a map, "120" for a vector.
function M.shape_text(shape)
  return table.concat(shape, "x")
end

--- "[6, 1, 5, 5]": a tensor shape as PyTorch and safetensors print it.
function M.shape_list(shape)
  return "[" .. table.concat(shape, ", ") .. "]"
end

--- "5x3" for an {h = 5, w = 3} pair.
function M.pair_text(p)
  return string.format("%dx%d", p.h, p.w)
end

--- The leading padding of both axes as a pair {h = top, w = left}.
function M.leading(padding)
  return { h = padding.top, w = padding.left }
end

--- Resolved padding {top, left, bottom, right}: "1x2" when each axis pads
-- both sides alike (as a description writes it), else "{0, 1, 1, 2}" in the
-- description's (ONNX's) order top, left, bottom, right.
function M.padding_text(p)
  if p.top == p.bottom and p.left == p.right then return string.format("%dx%d", p.top, p.left) end
  return string.format("{%d, %d, %d, %d}", p.top, p.left, p.bottom, p.right)
end

--- Where a step's tensor lives: "scratch[a..b]" for an arena range of `count`
-- floats, else the buffer's kind ("input", "output").
function M.buffer_text(ref, count)
  if ref.kind == "arena" then
    return string.format("scratch[%d..%d]", ref.offset, ref.offset + count - 1)
  end
  return ref.kind
end

return M
