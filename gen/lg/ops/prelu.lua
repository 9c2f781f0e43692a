--- prelu: y = x for x > 0, else slope x; the slopes are the tensor
-- <i>.weight, one per channel ([C], C the input's channels, or its values
-- when flat) or one for all ([1]), as PyTorch's nn.PReLU. A step of its own
-- (the slope depends on the channel), with the activations after it fused.
local channelwise = require("lg.ops.channelwise")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")

local M = {}

M.types = { "prelu" }
M.role = "compute"
M.fields = { type = true, unroll = true }
M.int8 = true  -- TFLite's quantized PReLU, a slope code and multiplier per channel (lg.int8emit.slope_expr)

function M.infer(_, layer, shape)
  layer.channels = shape[1]
  return { table.unpack(shape) }
end

--- One slope per channel, or one shared: as the file has it once read.
function M.params(layer)
  return layer.tensors and #layer.tensors.weight.data or layer.channels
end

function M.tensor_specs(layer)
  local c = layer.channels
  return { { key = "weight", name = string.format("%d.weight", layer.index), shape = { c },
             shapes = { { c }, { 1 } },
             shape_error = function(got)
               return string.format("a prelu weight has shape [%d] (one slope per channel of the %s input) or "
                 .. "[1] (one shared slope, nn.PReLU()'s default); export it with nn.PReLU(num_parameters=%d) "
                 .. "or nn.PReLU()", c, geometry.shape_text(layer.in_shape), c)
             end } }
end

function M.attributes(layer)
  local shared = layer.tensors and #layer.tensors.weight.data == 1 and layer.channels > 1
  return string.format("elementwise, %s", shared and "one slope for every channel" or "one slope per channel")
end

function M.step_layer(layer)
  if not layer.tensors then return layer end
  local copy = {}
  for k, v in pairs(layer) do copy[k] = v end
  copy.weight, copy.weight_name = layer.tensors.weight, string.format("%d.weight", layer.index)
  return copy
end

M.emit = channelwise.emitters(function(e, layer, c, x)
  if e.q then return int8emit.slope_expr(e, layer, x, c) end
  local slope = string.format("%s[%s]", e.weight_name(layer), #layer.weight.data == 1 and "0" or c)
  return string.format("(%s > 0.0f) ? %s : (%s * %s)", x, x, x, slope)
end)

return M
