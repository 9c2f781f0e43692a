--- batchnorm2d at inference: y = (x - running_mean) / sqrt(running_var + eps)
-- * weight + bias per channel (weight and bias 1 and 0 with affine = false).
-- Straight after a conv2d it is folded into that convolution's weights and
-- bias at generation (lg.plan asks fold(conv, bn)), computed in double and
-- rounded once to float32; anywhere else it is a step of its own that
-- multiplies by a per-channel scale and adds a shift. lg.reference computes
-- it unfolded, from the tensors as read.
local activation = require("lg.ops.activation")
local channelwise = require("lg.ops.channelwise")
local errors = require("lg.errors")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")
local render = require("lg.render")

local M = {}

M.types = { "batchnorm2d" }
M.role = "compute"
M.fields = { type = true, eps = true, affine = true, unroll = true }
M.int8 = true  -- folded: the convolution's int8 weights; unfolded: a per-channel requantization (lg.int8emit)

function M.check(v, raw, layer, fpath)
  layer.eps = activation.number_field(v, raw, layer, fpath, "eps", 1e-5)
  if layer.eps <= 0 then
    v.fail(fpath .. ".eps", string.format("eps must be greater than 0 (PyTorch's default is 1e-05), got %.9g",
      layer.eps), layer)
  end
  if raw.affine ~= nil and type(raw.affine) ~= "boolean" then
    v.fail(fpath .. ".affine", "affine must be true or false, got " .. errors.describe(raw.affine), layer)
  end
  layer.affine = raw.affine ~= false
end

function M.infer(v, layer, shape, prev)
  if #shape ~= 3 then
    v.fail("layers." .. (layer.index + 1), string.format("input is flat (%d values), but batchnorm2d needs a "
      .. "channels x height x width input; move it before the flatten", shape[1]), layer)
  end
  layer.channels = shape[1]
  -- folded when the value it normalises is a convolution's, before any activation
  layer.folds_into = (prev and prev.type == "conv2d") and prev or nil
  return { table.unpack(shape) }
end

--- Folded: nothing of its own runs (lg.plan treats it as a reshape).
function M.role_of(layer)
  return layer.folds_into and "reshape" or "compute"
end

function M.macs(layer)
  return layer.folds_into and 0 or geometry.elements(layer.in_shape)
end

--- Folded: the bias it creates on a convolution without one; else scale and shift.
function M.params(layer)
  if layer.folds_into then return layer.folds_into.bias and 0 or layer.channels end
  return 2 * layer.channels
end

--- The tensors it reads (lg.weights): PyTorch's names for module i.
function M.tensor_specs(layer)
  local c, i = layer.channels, layer.index
  local specs = {}
  local function add(key, random)
    specs[#specs + 1] = { key = key, name = string.format("%d.%s", i, key), shape = { c }, random = random }
  end
  if layer.affine then
    add("weight")
    add("bias")
  end
  add("running_mean")
  -- a positive variance for --random-weights
  add("running_var", function(x) return 0.5 + math.abs(x) end)
  -- PyTorch saves it (an int64 scalar); inference does not use it
  specs[#specs + 1] = { key = "num_batches_tracked", name = string.format("%d.num_batches_tracked", i),
                        optional = true, ignored = true }
  return specs
end

--- A variance below zero has no square root: the message names the channel.
function M.check_values(layer, tensors)
  for c, var in ipairs(tensors.running_var.data) do
    if var < 0 then
      return string.format("tensor %q channel %d: running_var is %.9g, below zero; a variance cannot be "
        .. "negative: export the weights again", layer.index .. ".running_var", c - 1, var)
    end
  end
end

local function scale_and_shift(bn)
  local t = bn.tensors
  local scale, shift = {}, {}
  for c = 1, bn.channels do
    local gamma = t.weight and t.weight.data[c] or 1.0
    local beta = t.bias and t.bias.data[c] or 0.0
    scale[c] = gamma / math.sqrt(t.running_var.data[c] + bn.eps)
    shift[c] = beta - t.running_mean.data[c] * scale[c]
  end
  return scale, shift
end

local SCALE_TEXT = "gamma / sqrt(running_var + eps)"

function M.attributes(layer)
  local text = string.format("eps %.9g, %s", layer.eps, layer.affine and "affine" or "not affine")
  if layer.folds_into then
    return string.format("%s; folded into layer %d (conv2d) at generation, in double, rounded once to "
      .. "float32: weight x %s, bias (bias - running_mean) x %s + beta", text, layer.folds_into.index,
      SCALE_TEXT, SCALE_TEXT)
  end
  return string.format("%s; y = x * scale + shift per channel, scale = %s, shift = beta - running_mean "
    .. "x scale (in double, rounded once to float32)", text, SCALE_TEXT)
end

--- The convolution with bn folded in: a copy, with new weight and bias
-- tensors (float_tensor(shape, values) rounds and packs them).
function M.fold(conv, bn, float_tensor)
  local scale, shift = scale_and_shift(bn)
  local w = conv.weight
  local per_channel = #w.data // bn.channels
  local weight, bias = {}, {}
  for c = 1, bn.channels do
    for k = (c - 1) * per_channel + 1, c * per_channel do weight[k] = w.data[k] * scale[c] end
    local b = conv.bias_values and conv.bias_values.data[c] or 0.0
    -- (b - mean) * s + beta, as the comment states, in double
    local gamma_free = (b - bn.tensors.running_mean.data[c]) * scale[c]
    bias[c] = gamma_free + (bn.tensors.bias and bn.tensors.bias.data[c] or 0.0)
  end
  local copy = {}
  for k, v in pairs(conv) do copy[k] = v end
  local from = string.format(" folded with layer %d (batchnorm2d)", bn.index)
  copy.weight = float_tensor(w.shape, weight)
  copy.bias_values = float_tensor({ bn.channels }, bias)
  copy.weight_name = conv.weight_name .. from
  copy.bias_name = (conv.bias and conv.bias_name or string.format("no bias (created)")) .. from
  copy.bias = true
  return copy
end

--- The layer as its step emits it: scale and shift as weight and bias.
function M.step_layer(bn, float_tensor)
  if not bn.tensors then return bn end
  local scale, shift = scale_and_shift(bn)
  local copy = {}
  for k, v in pairs(bn) do copy[k] = v end
  copy.weight, copy.bias_values, copy.bias = float_tensor({ bn.channels }, scale), float_tensor({ bn.channels }, shift), true
  copy.weight_name = string.format("scale of layer %d: %s", bn.index, SCALE_TEXT)
  copy.bias_name = string.format("shift of layer %d: beta - running_mean x scale", bn.index)
  return copy
end

M.emit = channelwise.emitters(function(e, layer, c, x)
  if e.q then return int8emit.channel_affine_expr(e, layer, c, x) end
  return string.format("(%s * %s[%s]) + %s[%s]", x, e.weight_name(layer), c, e.bias_name(layer), c)
end)

return M
