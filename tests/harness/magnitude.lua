--- Magnitudes for the harness tolerance: for every value the reference
-- computes, the size of the terms that produced it.
--
-- The harness accepts |generated - reference| <= 1e-5 + max(1e-5 |ref|, 1e-6 mag).
-- Without cancellation mag equals |ref| (a sum of terms of one sign), so this
-- is exactly the issue's 1e-5 + 1e-5 |ref|. When terms cancel (an input of
-- +-100 through weights of both signs can sum to 0.03 from terms of +-20),
-- float32 rounding is proportional to the terms, not to the small result. A
-- float32 evaluation (sequential sums, random_arch seeds 1-20,000, every
-- harness input: 25.9 million values) exceeds 1e-5 + 1e-5 |ref| on 6 of the
-- 20,000 architectures, always on a +-100 input and a cancelled value, by up
-- to 3x; with the mag term its largest error is 0.12 of the tolerance (all
-- its errors are below 0.037 (1e-5 + 1e-5 mag), hence the factor 1e-6).
--
-- mag is propagated like an error bound, to first order:
--   input                  |x|
--   conv2d, linear         |b| + sum |w| mag(x)        (the layer on absolute values)
--   avgpool2d              mean of mag(x) over the window (padding counts 0)
--   maxpool2d, flatten     max of mag(x) over the window; unchanged
--   relu                   mag(x) where x > 0 or x is within rounding of 0, else 0
--   sigmoid, tanh          max(|y|, f'(x) mag(x)), f' = y (1 - y) or 1 - y^2
--   relu6, clip            mag(x) where x passes (or is within rounding of a
--                          bound), else |y| (the bound itself)
--   leaky_relu, prelu      max(1, |slope|) mag(x)
--   batchnorm2d            |s| (mag(x) + |mean|) + |beta|, s = gamma / sqrt(var + eps)
--                          (folded into a conv2d it is that sum on the folded weights)
--   global_avgpool         mean of mag(x) over the channel, times max(1, n / 16) for n terms
--   softmax                max(|y|, y (2 + 2 M)), M the largest mag(x): an error
--                          d in x_i - m changes y_i by about y_i 2d
local reference = require("lg.reference")

local M = {}

--- The same layer with absolute weights and biases.
local function absolute_layer(layer)
  local copy = {}
  for k, v in pairs(layer) do copy[k] = v end
  local function abs_tensor(t)
    if not t then return nil end
    local data = {}
    for i, v in ipairs(t.data) do data[i] = math.abs(v) end
    return { shape = t.shape, data = data }
  end
  copy.weight = abs_tensor(layer.weight)
  copy.bias_values = abs_tensor(layer.bias_values)
  return copy
end

--- Magnitudes of every layer's output.
-- @param model loaded model; @param input flat input; @param trace from reference.run
-- @return mags, mags[k] parallel to trace[k]
function M.run(model, input, trace)
  local shape = { channels = model.input.channels, height = model.input.height, width = model.input.width }
  local mag, values = {}, input
  for i, x in ipairs(input) do mag[i] = math.abs(x) end
  local mags = {}
  for k, layer in ipairs(model.layers) do
    local t, out = layer.type, trace[k]
    local next_mag = {}
    if t == "conv2d" or t == "linear" then
      next_mag, shape = reference.run_layer[t](absolute_layer(layer), mag, shape)
    elseif t == "avgpool2d" or t == "maxpool2d" or t == "flatten" then
      next_mag, shape = reference.run_layer[t](layer, mag, shape)
    elseif t == "relu" then
      for i, x in ipairs(values) do
        local live = x > 0 or math.abs(x) <= 1e-5 * mag[i]
        next_mag[i] = live and mag[i] or 0.0
      end
    elseif t == "sigmoid" or t == "tanh" then
      for i, y in ipairs(out) do
        local slope = (t == "sigmoid") and y * (1 - y) or (1 - y * y)
        next_mag[i] = math.max(math.abs(y), slope * mag[i])
      end
    elseif t == "global_avgpool" then
      -- a float sum of n terms errs by up to about n u (u = 6e-8) of their magnitude: past 16
      -- terms that outgrows the 1e-6 mag of the tolerance, so mag grows with n / 16
      next_mag, shape = reference.run_layer[t](layer, mag, shape)
      local terms = #mag // #next_mag
      for i = 1, #next_mag do next_mag[i] = next_mag[i] * math.max(1, terms / 16) end
    elseif t == "relu6" or t == "clip" then
      local lo = (t == "relu6") and 0.0 or layer.min
      local hi = (t == "relu6") and 6.0 or layer.max
      for i, x in ipairs(values) do
        local near = function(bound) return bound and math.abs(x - bound) <= 1e-5 * mag[i] end
        local passes = (not lo or x > lo) and (not hi or x < hi)
        next_mag[i] = (passes or near(lo) or near(hi)) and math.max(mag[i], math.abs(out[i])) or math.abs(out[i])
      end
    elseif t == "leaky_relu" or t == "prelu" then
      local slopes = (t == "prelu") and layer.tensors.weight.data or { layer.negative_slope }
      local largest = 1.0
      for _, slope in ipairs(slopes) do largest = math.max(largest, math.abs(slope)) end
      for i = 1, #values do next_mag[i] = largest * mag[i] end
    elseif t == "batchnorm2d" then
      local tensors, per_channel = layer.tensors, #values // layer.channels
      for i = 1, #values do
        local c = (i - 1) // per_channel + 1
        local scale = (layer.affine and tensors.weight.data[c] or 1.0) / math.sqrt(tensors.running_var.data[c] + layer.eps)
        local beta = layer.affine and tensors.bias.data[c] or 0.0
        next_mag[i] = math.abs(scale) * (mag[i] + math.abs(tensors.running_mean.data[c])) + math.abs(beta)
      end
    elseif t == "softmax" then
      local largest = 0.0
      for _, m in ipairs(mag) do largest = math.max(largest, m) end
      for i, y in ipairs(out) do next_mag[i] = math.max(math.abs(y), y * (2 + 2 * largest)) end
    else
      error("magnitude: unknown layer type " .. tostring(t))
    end
    assert(#next_mag == #out)
    mags[k], mag, values = next_mag, next_mag, out
  end
  return mags
end

return M
