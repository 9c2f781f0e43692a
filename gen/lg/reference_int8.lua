--- Integer reference: the int8 network of --quantize=int8 evaluated plainly.
--
-- The checking side of the int8 emitter. It reads the model (layer fields and
-- shapes) and the quantization table of lg.quantize, nothing else of the
-- generator; it walks the same windows as lg.reference (whose geometry helpers
-- it calls) but does every sum as written in the scheme: no zero point folded
-- into a bias, no padding regions. Lua 5.4 integers are 64-bit, so sums never
-- overflow here; the generated C keeps them in int32 (a model whose sums leave
-- int32 shows up as a mismatch, and UBSan names it).
--
-- Codes are Lua integers in [-128, 127]; maps are flat C-H-W arrays (1-based)
-- as in lg.reference.
local reference = require("lg.reference")

local M = {}

local INT32_MIN, INT32_MAX = -2147483648, 2147483647

local function clamp(v, lo, hi)
  if v < lo then return lo end
  if v > hi then return hi end
  return v
end

--- C's integer division (truncates toward zero) for a positive divisor.
local function c_divide(a, b)
  if a >= 0 then return a // b end
  return -((-a) // b)
end

--- gemmlowp SaturatingRoundingDoublingHighMul: the high 32 bits of 2*a*b,
-- rounded to nearest (ties away from zero); the one overflowing case saturates.
function M.saturating_rounding_doubling_high_mul(a, b)
  if a == INT32_MIN and b == INT32_MIN then return INT32_MAX end
  local ab = a * b
  local nudge = (ab >= 0) and (1 << 30) or (1 - (1 << 30))
  return c_divide(ab + nudge, 1 << 31)
end

--- gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away
-- from zero. (Lua's >> is a logical shift: the arithmetic shift is a floor
-- division.)
function M.rounding_divide_by_pot(x, exponent)
  local mask = (1 << exponent) - 1
  local remainder = x & mask
  local threshold = (mask >> 1) + ((x < 0) and 1 or 0)
  return x // (1 << exponent) + ((remainder > threshold) and 1 or 0)
end

--- TFLite MultiplyByQuantizedMultiplier; a left shift (shift > 0) saturates to
-- int32 first (TFLite leaves that overflow undefined).
function M.multiply_by_quantized_multiplier(x, multiplier, shift)
  local left = (shift > 0) and shift or 0
  local right = (shift > 0) and 0 or -shift
  local shifted = clamp(x * (1 << left), INT32_MIN, INT32_MAX)
  return M.rounding_divide_by_pot(M.saturating_rounding_doubling_high_mul(shifted, multiplier), right)
end

--- An int32 accumulator of output channel oc to the layer's output code.
local function requantize(entry, acc, oc)
  local v = M.multiply_by_quantized_multiplier(acc, entry.multiplier[oc + 1], entry.shift[oc + 1])
  return clamp(v + entry.out.zero_point, entry.low, entry.high)
end

local run_layer = {}

--- acc = bias[oc] + sum of w * (x - zx) over the taps inside the image. With
-- groups, output channel oc reads the group_size input channels of its block
-- oc // (out_channels / groups), as in lg.reference.
function run_layer.conv2d(layer, entry, input, shape)
  local g = reference.window_geometry(layer, shape)
  local height, width = shape.height, shape.width
  local groups = layer.groups or 1
  local group_size = shape.channels // groups
  local outputs_per_group = layer.out_channels // groups
  local zx = entry.input.zero_point
  local w = entry.weight
  return reference.output_map(layer.out_channels, g, function(oc, out_y, out_x)
    local acc = entry.bias[oc + 1]
    local block = oc // outputs_per_group
    for j = 0, group_size - 1 do
      local ic = block * group_size + j
      reference.each_tap_inside(g, out_y, out_x, height, width, function(in_y, in_x, fy, fx)
        local x = input[reference.chw_index(ic, in_y, in_x, height, width)]
        local wi = ((oc * group_size + j) * g.kernel_height + fy) * g.kernel_width + fx + 1
        acc = acc + w[wi] * (x - zx)
      end)
    end
    return requantize(entry, acc, oc)
  end)
end

function run_layer.linear(layer, entry, input, shape)
  local n_in, n_out = shape.features, layer.out_features
  local zx = entry.input.zero_point
  local out = {}
  for o = 0, n_out - 1 do
    local acc = entry.bias[o + 1]
    for i = 0, n_in - 1 do acc = acc + entry.weight[o * n_in + i + 1] * (input[i + 1] - zx) end
    out[o + 1] = requantize(entry, acc, o)
  end
  return out, { features = n_out }
end

--- sum / count rounded half away from zero (TFLite's average pooling).
local function rounded_divide(sum, count)
  if sum > 0 then return c_divide(sum + count // 2, count) end
  return c_divide(sum - count // 2, count)
end

--- Window positions along one axis inside the padded input [-pad_before,
-- size + pad_after) of a window starting at origin (only a ceil_mode window
-- hangs past its end).
local function positions_in_padded_input(origin, kernel, size, pad_after)
  return math.min(origin + kernel, size + pad_after) - origin
end

--- The average of a window, as PyTorch divides it: count_include_pad (the
-- default) divides by the window's positions in the padded input, its padded
-- taps counting as the zero point (the code of 0.0); count_include_pad =
-- false divides by the taps inside the image. Rounded half away from zero.
function run_layer.avgpool2d(layer, entry, input, shape)
  local g = reference.window_geometry(layer, shape)
  local zx = entry.input.zero_point
  return reference.output_map(shape.channels, g, function(c, out_y, out_x)
    local sum, taps = 0, 0
    reference.each_tap_inside(g, out_y, out_x, shape.height, shape.width, function(in_y, in_x)
      sum = sum + input[reference.chw_index(c, in_y, in_x, shape.height, shape.width)]
      taps = taps + 1
    end)
    local count = taps
    if layer.count_include_pad ~= false then
      count = positions_in_padded_input(out_y * g.stride_height - g.pad_top, g.kernel_height, shape.height,
        g.pad_bottom) * positions_in_padded_input(out_x * g.stride_width - g.pad_left, g.kernel_width, shape.width,
        g.pad_right)
      sum = sum + (count - taps) * zx
    end
    return clamp(rounded_divide(sum, count), -128, 127)
  end)
end

function run_layer.maxpool2d(layer, _, input, shape)
  local g = reference.window_geometry(layer, shape)
  return reference.output_map(shape.channels, g, function(c, out_y, out_x)
    local largest = -129
    reference.each_tap_inside(g, out_y, out_x, shape.height, shape.width, function(in_y, in_x)
      largest = math.max(largest, input[reference.chw_index(c, in_y, in_x, shape.height, shape.width)])
    end)
    return largest
  end)
end

local function lookup(_, entry, input, shape)
  local out = {}
  for i, q in ipairs(input) do out[i] = entry.table[q + 129] end
  return out, shape
end
run_layer.sigmoid, run_layer.tanh = lookup, lookup

function run_layer.relu(_, entry, input, shape)
  local out = {}
  for i, q in ipairs(input) do out[i] = math.max(q, entry.input.zero_point) end
  return out, shape
end

function run_layer.flatten(_, _, input, shape)
  local features = shape.features or shape.channels * shape.height * shape.width
  return table.move(input, 1, #input, 1, {}), { features = features }
end

--- Channels and values per channel: C x H x W has C channels of H*W values,
-- a vector of n features n channels of one value (as lg.reference).
local function channel_layout(shape)
  if shape.features then return shape.features, 1 end
  return shape.channels, shape.height * shape.width
end

--- Folded into the convolution before it: the codes pass unchanged.
-- Unfolded: acc = bias[c] + weight[c] * (x - zx) per channel c, requantized
-- with channel c's multiplier and shift.
function run_layer.batchnorm2d(_, entry, input, shape)
  if entry.folded then return table.move(input, 1, #input, 1, {}), shape end
  local channels, count = channel_layout(shape)
  local zx = entry.input.zero_point
  local out = {}
  for c = 0, channels - 1 do
    for i = c * count + 1, (c + 1) * count do
      out[i] = requantize(entry, entry.bias[c + 1] + entry.weight[c + 1] * (input[i] - zx), c)
    end
  end
  return out, shape
end

--- relu6 and clip: the codes clamped to the codes of the bounds, [low, high]
-- (folded into a conv2d/linear's clamp, already within them).
local function clamp_codes(_, entry, input, shape)
  local out = {}
  for i, q in ipairs(input) do out[i] = clamp(q, entry.low, entry.high) end
  return out, shape
end
run_layer.relu6, run_layer.clip = clamp_codes, clamp_codes

--- TFLite's quantized LeakyRelu and PReLU: x = q - zx; x >= 0 is multiplied
-- by the identity multiplier (s_in / s_out), x < 0 by the slope's code
-- (+-127) and the slope multiplier of its channel (one slope: every
-- channel); plus the output zero point, clamped to [-128, 127].
local function slope_layer(_, entry, input, shape)
  local channels, count = channel_layout(shape)
  local zx, zy = entry.input.zero_point, entry.out.zero_point
  local out = {}
  for c = 0, channels - 1 do
    local s = (#entry.slope == 1) and 1 or c + 1
    for i = c * count + 1, (c + 1) * count do
      local x = input[i] - zx
      local v
      if x >= 0 then
        v = M.multiply_by_quantized_multiplier(x, entry.identity_multiplier, entry.identity_shift)
      else
        v = M.multiply_by_quantized_multiplier(x * entry.slope[s], entry.slope_multiplier[s], entry.slope_shift[s])
      end
      out[i] = clamp(v + zy, -128, 127)
    end
  end
  return out, shape
end
run_layer.leaky_relu, run_layer.prelu = slope_layer, slope_layer

--- The mean of each channel's codes (the quantization is shared): the sum
-- over H*W rounded half away from zero.
function run_layer.global_avgpool(_, _, input, shape)
  local channels, count = channel_layout(shape)
  local out = {}
  for c = 0, channels - 1 do
    local sum = 0
    for i = c * count + 1, (c + 1) * count do sum = sum + input[i] end
    out[c + 1] = clamp(rounded_divide(sum, count), -128, 127)
  end
  return out, { channels = channels, height = 1, width = 1 }
end

--- softmax (the last layer), output scale 1/256, zero point -128: with m the
-- largest code, e_i = exp_table[m - q_i + 1] (2^16 e^(s_in (q_i - m)),
-- computed at generation), S = sum of e_i; y_i = round(256 e_i / S) - 128,
-- rounded half up (everything is positive), clamped to 127.
function run_layer.softmax(_, entry, input, shape)
  local largest = -128
  for _, q in ipairs(input) do largest = math.max(largest, q) end
  local e, total = {}, 0
  for i, q in ipairs(input) do
    e[i] = entry.exp_table[largest - q + 1]
    total = total + e[i]
  end
  local out = {}
  for i = 1, #input do out[i] = clamp((256 * e[i] + total // 2) // total - 128, -128, 127) end
  return out, shape
end

--- The input codes of float inputs: round(x / scale) + zero point (half away from zero), clamped.
function M.quantize_input(q, values)
  local codes = {}
  for i, x in ipairs(values) do
    local v = x / q.input.scale
    v = (v >= 0) and math.floor(v + 0.5) or -math.floor(-v + 0.5)
    codes[i] = math.tointeger(clamp(v + q.input.zero_point, -128, 127))
  end
  return codes
end

--- Run the int8 network on input codes.
-- @return output codes, trace (trace[k] = codes of layer index k - 1's output)
function M.run(model, q, codes)
  local shape = { channels = model.input.channels, height = model.input.height, width = model.input.width }
  assert(#codes == shape.channels * shape.height * shape.width, "input size")
  local values, trace = codes, {}
  for k, layer in ipairs(model.layers) do
    values, shape = run_layer[layer.type](layer, q.layers[k], values, shape)
    trace[k] = values
  end
  return values, trace
end

return M
