--- --quantize=int8: TensorFlow Lite's int8 scheme, from calibration ranges.
--
-- The quantization table built here is the ONE place where scales, zero points,
-- integer weights, multipliers, shifts and activation tables are decided; the
-- emitter (lg.emit and the op modules) and the integer reference
-- (lg.reference_int8) both read it and compute nothing of it themselves.
--
-- A real value r and its int8 code q are related by r = scale * (q - zero_point).
--   weights      int8, symmetric per output channel: scale = max|w| / 127,
--                zero point 0, codes in [-127, 127]
--   activations  int8, asymmetric per tensor: the calibration range [min, max]
--                widened to include 0, scale = (max - min) / 255, zero point
--                nudged to an integer in [-128, 127] (TFLite's
--                ChooseQuantizationParams)
--   bias         int32 at scale s_in * s_w[oc], zero point 0
--   requantize   acc (int32, at s_in * s_w) to the output tensor: the real
--                multiplier s_in * s_w / s_out as a 32-bit fixed-point
--                multiplier and a shift (QuantizeMultiplier), applied with
--                gemmlowp's SaturatingRoundingDoublingHighMul then
--                RoundingDivideByPOT, plus the output zero point, clamped to
--                [low, 127]
--   relu, relu6, clip  a conv2d or linear followed by one (through a folded
--                batch norm) takes its range and clamps at [low, high], the
--                codes of its bounds (folded into the clamp); elsewhere a
--                clamp on the codes in the input's quantization (relu:
--                max(q, zero point))
--   batchnorm2d  straight after a conv2d: folded into its float weights and
--                bias first (lg.ops.batchnorm.fold, as lg.plan emits it), the
--                folded convolution quantized and calibrated on the batch
--                norm's range; elsewhere y = x * scale[c] + shift[c] as a
--                one-weight convolution per channel (weight code +-127, an
--                int32 bias, a multiplier per channel)
--   leaky_relu, prelu  TFLite's quantized LeakyRelu/PReLU with their own
--                output range: x = q - zx; x >= 0 times the identity
--                multiplier s_in / s_out, x < 0 times the slope's code
--                (+-127, scale |slope| / 127) and multiplier s_in * s_slope /
--                s_out (per channel for prelu; never negative)
--   sigmoid/tanh a 256-entry table of output codes indexed by q + 128; the
--                output quantization is fixed (sigmoid 1/256, -128; tanh 1/128, 0)
--   softmax      (the last layer) output fixed at 1/256, -128; a 256-entry
--                int32 table of round(2^16 e^(-s_in d)) for d = max - q, and
--                y = round(256 e / sum e) - 128 (lg.reference_int8)
--   pooling, flatten, global_avgpool keep their input's quantization (avg
--                pool: rounded division by PyTorch's divisor, padded taps
--                counting as the zero point; max pool on the codes)
--
-- The table (q):
--   calibration   { path =, count = }
--   input         the network input's params: { scale, zero_point, min, max, degenerate }
--   output        the last layer's output params
--   layers[k]     for layer index k - 1:
--     input, out  params of the tensor it reads and of the one it writes
--                 (shared tables where the quantization is shared)
--     conv2d, linear: weight (int8 codes, the float tensor's layout), weight_scale[oc],
--                 bias[oc] (int32 codes, 0 without bias), multiplier[oc], shift[oc]
--                 (left shift when positive), low, high (the clamp); value_of (a
--                 folded batch norm: the trace index whose float values the codes are)
--     batchnorm2d unfolded: the same per channel, and weight_shape = { C }
--     folded (batch norm, clamp): folded = true, folded_into (compute layer index);
--                 low, high for a clamp
--     relu6, clip: low, high (codes of the bounds)
--     leaky_relu, prelu: identity_multiplier, identity_shift, slope[c],
--                 slope_multiplier[c], slope_shift[c] (one entry: every channel)
--     sigmoid, tanh: table[1..256] (output code of input code i - 129)
--     softmax: exp_table[1..256] (2^16 e^(-s_in d) at d + 1)
local reference = require("lg.reference")

local M = {}

M.QMIN, M.QMAX = -128, 127
M.INT32_MIN, M.INT32_MAX = -2147483648, 2147483647

--- Round half away from zero (std::round, as TFLite's TfLiteRound).
function M.round(x)
  if x >= 0 then return math.floor(x + 0.5) end
  return -math.floor(-x + 0.5)
end

local function clamp(v, lo, hi)
  if v < lo then return lo end
  if v > hi then return hi end
  return v
end
M.clamp = clamp

--- x = m * 2^e with 0.5 <= m < 1 (Lua 5.4 has no math.frexp).
function M.frexp(x)
  if x == 0 then return 0.0, 0 end
  local e = 0
  local m = math.abs(x)
  while m >= 1.0 do m = m / 2; e = e + 1 end
  while m < 0.5 do m = m * 2; e = e - 1 end
  return (x < 0) and -m or m, e
end

--- TFLite's QuantizeMultiplier: a positive real multiplier as a Q31 value
-- in [2^30, 2^31) and a shift (left when positive): real = q * 2^(shift - 31).
function M.quantize_multiplier(real)
  assert(real >= 0, "negative multiplier")
  if real == 0 then return 0, 0 end
  local q, shift = M.frexp(real)
  local q_fixed = math.tointeger(M.round(q * (1 << 31)))
  if q_fixed == (1 << 31) then
    q_fixed = q_fixed // 2
    shift = shift + 1
  end
  if shift < -31 then return 0, 0 end
  return q_fixed, shift
end

--- Scale and zero point of a real range (TFLite's ChooseQuantizationParams).
function M.choose_params(min, max)
  local rmin, rmax = math.min(min, 0.0), math.max(max, 0.0)
  local p = { min = min, max = max }
  if rmax == rmin then
    -- every calibration value was 0: any scale represents them; 1 keeps the
    -- multipliers finite
    p.scale, p.zero_point, p.degenerate = 1.0, 0, true
    return p
  end
  local scale = (rmax - rmin) / (M.QMAX - M.QMIN)
  local zp_from_min = M.QMIN - rmin / scale
  local zp_from_max = M.QMAX - rmax / scale
  local err_min = math.abs(M.QMIN) + math.abs(rmin / scale)
  local err_max = math.abs(M.QMAX) + math.abs(rmax / scale)
  local zp = (err_min < err_max) and zp_from_min or zp_from_max
  p.scale = scale
  p.zero_point = math.tointeger(clamp(M.round(zp), M.QMIN, M.QMAX))
  p.degenerate = (min == max)
  return p
end

--- The code of a real value in the given params (round half away, clamp).
function M.quantize_value(x, p)
  return math.tointeger(clamp(M.round(x / p.scale) + p.zero_point, M.QMIN, M.QMAX))
end

--- The real value of a code.
function M.dequantize_value(q, p)
  return p.scale * (q - p.zero_point)
end

local FIXED = {
  sigmoid = { scale = 1.0 / 256, zero_point = -128, min = 0.0, max = 1.0, fixed = true },
  tanh = { scale = 1.0 / 128, zero_point = 0, min = -1.0, max = 1.0, fixed = true },
  softmax = { scale = 1.0 / 256, zero_point = -128, min = 0.0, max = 1.0, fixed = true },
}

--- The 256-entry table of an activation from input params p_in.
local function activation_table(fn, p_in, p_out)
  local t = {}
  for q = M.QMIN, M.QMAX do
    local y = fn(M.dequantize_value(q, p_in))
    t[#t + 1] = math.tointeger(clamp(M.round(y / p_out.scale) + p_out.zero_point, M.QMIN, M.QMAX))
  end
  return t
end

--- Per output channel weights, bias and requantization of conv2d/linear.
local function quantize_weights(layer, entry)
  local data = layer.weight.data
  local channels = layer.weight.shape[1]
  local per = #data // channels
  local codes, wscale, bias, mult, shift = {}, {}, {}, {}, {}
  for oc = 1, channels do
    local maxabs = 0.0
    for i = (oc - 1) * per + 1, oc * per do maxabs = math.max(maxabs, math.abs(data[i])) end
    local s = (maxabs > 0) and (maxabs / 127) or 1.0
    wscale[oc] = s
    for i = (oc - 1) * per + 1, oc * per do
      codes[i] = math.tointeger(clamp(M.round(data[i] / s), -127, 127))
    end
    local acc_scale = entry.input.scale * s
    local b = layer.bias and layer.bias_values.data[oc] or 0.0
    bias[oc] = math.tointeger(clamp(M.round(b / acc_scale), M.INT32_MIN, M.INT32_MAX))
    mult[oc], shift[oc] = M.quantize_multiplier(acc_scale / entry.out.scale)
  end
  entry.weight, entry.weight_scale, entry.bias = codes, wscale, bias
  entry.multiplier, entry.shift = mult, shift
end

--- lg.reference.run's trace of every layer, computed faster (lg.float_trace).
M.float_trace = require("lg.float_trace").trace

--- Float ranges of every layer's output (and of the input) over the calibration inputs.
function M.ranges(model, inputs)
  local lo, hi = { [0] = math.huge }, { [0] = -math.huge }
  for k = 1, #model.layers do lo[k], hi[k] = math.huge, -math.huge end
  for _, x in ipairs(inputs) do
    for _, v in ipairs(x) do
      if v < lo[0] then lo[0] = v end
      if v > hi[0] then hi[0] = v end
    end
    local trace = M.float_trace(model, x)
    for k, values in ipairs(trace) do
      local l, h = lo[k], hi[k]
      for _, v in ipairs(values) do
        if v < l then l = v end
        if v > h then h = v end
      end
      lo[k], hi[k] = l, h
    end
  end
  return lo, hi
end

local COMPUTE = { conv2d = true, linear = true }
local SHARED = { avgpool2d = true, maxpool2d = true, flatten = true, relu = true, global_avgpool = true }

--- The real bounds of a clamping activation (nil: unbounded on that side),
-- or nothing for another layer.
local function clamp_bounds(layer)
  if layer.type == "relu" then return true, 0.0, nil end
  if layer.type == "relu6" then return true, 0.0, 6.0 end
  if layer.type == "clip" then return true, layer.min, layer.max end
  return false
end

--- The codes of a clamping activation's bounds in params p: [low, high].
local function clamp_codes(layer, p)
  local _, min, max = clamp_bounds(layer)
  return min and M.quantize_value(min, p) or M.QMIN, max and M.quantize_value(max, p) or M.QMAX
end

--- A batch norm folded into the convolution at k (lg.plan folds the same), or nil.
local function folded_batchnorm(layers, k)
  local bn = layers[k + 1]
  if bn and bn.type == "batchnorm2d" and bn.folds_into and bn.folds_into.index == layers[k].index and bn.tensors then
    return bn
  end
  return nil
end

--- Weight code and multiplier of a slope alpha (leaky_relu, prelu): alpha
-- symmetric as a weight (code +-127, scale |alpha| / 127; 0 for 0), so the
-- multiplier s_in * s_alpha / s_out is never negative.
local function slope_params(alpha, p_in, p_out)
  local code = (alpha > 0) and 127 or ((alpha < 0) and -127 or 0)
  local m, shift = M.quantize_multiplier(p_in.scale * math.abs(alpha) / 127 / p_out.scale)
  return code, m, shift
end

--- The fixed-point exponentials of softmax: exp_table[d + 1] = round(2^16 *
-- e^(-s_in * d)) for the code difference d = max - q in 0..255.
local function softmax_exp_table(p_in)
  local t = {}
  for d = 0, 255 do t[d + 1] = math.tointeger(M.round(65536 * math.exp(-p_in.scale * d))) end
  return t
end

--- Build the quantization table (see the top of this file).
-- @param model the model of lg.model, with weights
-- @param calib the calibration of lg.calibration.read
function M.build(model, calib)
  local lo, hi = M.ranges(model, calib.inputs)
  local q = { calibration = { path = calib.path, count = calib.count, sha256 = calib.sha256 }, layers = {} }
  q.input = M.choose_params(lo[0], hi[0])
  local current = q.input
  local layers = model.layers
  local folded = {}  -- k -> the index of the compute layer that layers[k] is folded into
  local float_tensor = require("lg.weights").float_tensor
  for k, layer in ipairs(layers) do
    local entry = { input = current }
    local t = layer.type
    if folded[k] then
      -- a batch norm folded into its convolution, or a clamp folded into the
      -- clamp of the conv2d/linear before it: the codes pass unchanged
      entry.out, entry.folded, entry.folded_into = current, true, folded[k]
      if clamp_bounds(layer) then entry.low, entry.high = clamp_codes(layer, current) end
    elseif COMPUTE[t] then
      -- a batch norm straight after a convolution is folded into its weights
      -- (as lg.plan emits it); a relu, relu6 or clip after that into the
      -- clamp: the stored value is the activation's, in its range
      local source, last = layer, k
      local bn = folded_batchnorm(layers, k)
      if bn then
        source, last = require("lg.ops.batchnorm").fold(layer, bn, float_tensor), k + 1
        -- its codes are the batch norm's values (--explain's SQNR compares them with those)
        entry.value_of = k + 1
        folded[k + 1] = layer.index
      end
      local act = layers[last + 1]
      local folds_clamp = act and clamp_bounds(act)
      local rk = folds_clamp and last + 1 or last
      entry.out = M.choose_params(lo[rk], hi[rk])
      entry.out.range_of = folds_clamp and act.type or nil
      entry.low, entry.high = M.QMIN, M.QMAX
      if folds_clamp then
        folded[last + 1] = layer.index
        entry.low, entry.high = clamp_codes(act, entry.out)
      end
      quantize_weights(source, entry)
    elseif t == "batchnorm2d" then
      -- unfolded: y = x * scale[c] + shift[c] as a one-weight convolution per
      -- channel (weight code +-127, bias at s_in * s_w, a multiplier per channel)
      entry.out = M.choose_params(lo[k], hi[k])
      entry.low, entry.high = M.QMIN, M.QMAX
      quantize_weights(require("lg.ops.batchnorm").step_layer(layer, float_tensor), entry)
      entry.weight_shape = { layer.channels }
    elseif t == "relu6" or t == "clip" then
      -- a clamp on the codes, in its input's quantization
      entry.out = current
      entry.low, entry.high = clamp_codes(layer, current)
    elseif t == "leaky_relu" or t == "prelu" then
      -- TFLite's quantized LeakyRelu/PReLU: q - zx >= 0 times the identity
      -- multiplier s_in / s_out, else times the slope's code and multiplier
      entry.out = M.choose_params(lo[k], hi[k])
      entry.identity_multiplier, entry.identity_shift = M.quantize_multiplier(current.scale / entry.out.scale)
      local slopes = (t == "prelu") and layer.tensors.weight.data or { layer.negative_slope }
      entry.slope, entry.slope_multiplier, entry.slope_shift = {}, {}, {}
      for i, alpha in ipairs(slopes) do
        entry.slope[i], entry.slope_multiplier[i], entry.slope_shift[i] = slope_params(alpha, current, entry.out)
      end
    elseif t == "softmax" then
      entry.out = FIXED.softmax
      entry.exp_table = softmax_exp_table(current)
    elseif SHARED[t] then
      entry.out = current
    elseif FIXED[t] then
      entry.out = FIXED[t]
      entry.table = activation_table(reference.activation[t], current, entry.out)
    else
      error("no int8 quantization for layer type " .. tostring(t))
    end
    -- the range each layer's own output showed, for --explain
    entry.range = { min = lo[k], max = hi[k] }
    q.layers[k] = entry
    current = entry.out
  end
  q.output = current
  return q
end

-- softmax's int32 sum of exponentials at 2^16 each stays below 2^31
M.SOFTMAX_MAX_VALUES = 32767

--- Every layer's op module must declare int8 support (its `int8` field).
function M.check_support(model)
  local errors = require("lg.errors")
  local ops = require("lg.ops")
  for _, layer in ipairs(model.layers) do
    if not ops.of(layer.type).int8 then
      errors.raise(model.path, layer.line, errors.layer_prefix(layer) .. "--quantize=int8 does not support "
        .. layer.type .. " (no int8 kernel yet); remove --quantize to generate float code")
    end
    local n = layer.in_shape and require("lg.geometry").elements(layer.in_shape)
    if layer.type == "softmax" and n > M.SOFTMAX_MAX_VALUES then
      errors.raise(model.path, layer.line, string.format("%s--quantize=int8 takes a softmax over at most %d values "
        .. "(its int32 sum of exponentials), this one has %d; remove --quantize or end the network on fewer values",
        errors.layer_prefix(layer), M.SOFTMAX_MAX_VALUES, n))
    end
  end
end

--- The CLI's entry: check support, read the calibration file, build the table
-- (with explain, also the signal-to-quantization-noise ratios).
function M.prepare(model, calibration_path, explain)
  local errors = require("lg.errors")
  M.check_support(model)
  if model.weights_absent then
    errors.raise(model.path, model.weights_line, "--quantize=int8 needs the weights to quantize them, and "
      .. "the weights file does not exist yet; train first or pass --random-weights SEED")
  end
  local calib = require("lg.calibration").read(calibration_path, model)
  local q = M.build(model, calib)
  if explain then M.measure_sqnr(model, q, calib.inputs) end
  return q
end

--- Per layer, 10 log10(sum r^2 / sum (r - dequantized code)^2) over the
-- calibration set: the float reference's output r against the integer
-- reference's. Stored as q.layers[k].sqnr_db (math.huge: no noise).
function M.measure_sqnr(model, q, inputs)
  local reference_int8 = require("lg.reference_int8")
  local signal, noise = {}, {}
  for k = 1, #model.layers do signal[k], noise[k] = 0.0, 0.0 end
  for _, x in ipairs(inputs) do
    local _, float_trace = reference.run(model, x)
    local _, int_trace = reference_int8.run(model, q, reference_int8.quantize_input(q, x))
    for k in ipairs(float_trace) do
      local values = float_trace[q.layers[k].value_of or k]
      local p = q.layers[k].out
      local codes = int_trace[k]
      local s, n = signal[k], noise[k]
      for i, r in ipairs(values) do
        local d = r - p.scale * (codes[i] - p.zero_point)
        s, n = s + r * r, n + d * d
      end
      signal[k], noise[k] = s, n
    end
  end
  for k = 1, #model.layers do
    q.layers[k].sqnr_db = (noise[k] > 0) and 10 * math.log(signal[k] / noise[k], 10) or math.huge
  end
end

return M
