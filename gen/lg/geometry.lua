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

--- Output size along one axis of a window of `kernel` taps moved by `stride`
-- over `size` values padded by `pad` on both sides.
function M.out_size(size, kernel, stride, pad)
  return (size + 2 * pad - kernel) // stride + 1
end

--- Valid kernel taps [first, last] on one axis for output position o: the taps
-- whose input index o*stride-pad+tap lies inside 0..size-1.
function M.tap_range(o, stride, pad, kernel, size)
  local origin = o * stride - pad
  local first = math.max(0, -origin)
  local last = math.min(kernel, size - origin) - 1
  return first, last
end

--- In-bounds taps along one axis, summed over every output position: a window
-- at position o covers input indices o*stride-pad .. o*stride-pad+kernel-1,
-- and only those inside 0..size-1 count. Positions lo..hi have their whole
-- window inside, so they add kernel each; only the clipped positions before and
-- after them are counted one by one, and there are at most about pad/stride of
-- each, so the cost does not depend on size.
function M.axis_taps(count, size, kernel, stride, pad)
  local function valid(o)
    local origin = o * stride - pad
    return math.max(math.min(origin + kernel, size) - math.max(origin, 0), 0)
  end
  local lo = math.min((pad + stride - 1) // stride, count)          -- first o with origin >= 0
  local hi = math.max(math.min((size - kernel + pad) // stride, count - 1), lo - 1)
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

--- Where a step's tensor lives: "scratch[a..b]" for an arena range of `count`
-- floats, else the buffer's kind ("input", "output").
function M.buffer_text(ref, count)
  if ref.kind == "arena" then
    return string.format("scratch[%d..%d]", ref.offset, ref.offset + count - 1)
  end
  return ref.kind
end

return M
