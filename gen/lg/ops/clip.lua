--- clip (min, max) and leaky_relu (negative_slope): activations with
-- constants. Each layer gets its own C function act_layer<i>_<type>, with its
-- constants as literals, applied to the stored value like relu (lg.plan puts
-- act_name(layer) in the step's activation list).
local activation = require("lg.ops.activation")
local render = require("lg.render")

local M = {}

M.types = { "clip", "leaky_relu" }
M.role = "activation"
M.int8 = true  -- clip: a clamp on codes or folded into the compute layer's; leaky_relu: lg.int8emit.slope_expr
-- one field set for both types would let clip accept negative_slope: the
-- validator asks fields_of(type) when a module has it
M.fields = { type = true, min = true, max = true, negative_slope = true }
local FIELDS = {
  clip = { type = true, min = true, max = true },
  leaky_relu = { type = true, negative_slope = true },
}
function M.fields_of(layer_type)
  return FIELDS[layer_type]
end

function M.check(v, raw, layer, fpath)
  if raw.type == "leaky_relu" then
    layer.negative_slope = activation.number_field(v, raw, layer, fpath, "negative_slope", 0.01)
    return
  end
  layer.min = activation.number_field(v, raw, layer, fpath, "min", nil)
  layer.max = activation.number_field(v, raw, layer, fpath, "max", nil)
  if layer.min == nil and layer.max == nil then
    v.fail(fpath, "clip needs min, max or both, e.g. { type = \"clip\", min = 0, max = 6 }", layer)
  end
  if layer.min and layer.max and layer.min > layer.max then
    v.fail(fpath .. ".min", string.format("min %.9g is greater than max %.9g; swap them", layer.min, layer.max),
      layer)
  end
end

function M.infer(_, _, shape)
  return { table.unpack(shape) }
end

local function bound_text(x)
  return x and string.format("%.9g", x) or "none"
end

function M.attributes(layer)
  if layer.type == "leaky_relu" then
    return string.format("elementwise, negative_slope %.9g", layer.negative_slope)
  end
  return string.format("elementwise, min %s, max %s", bound_text(layer.min), bound_text(layer.max))
end

--- The name of the layer's C function, less its act_ prefix.
function M.act_name(layer)
  return string.format("layer%d_%s", layer.index, layer.type)
end

--- The C text of the layer's activation function.
function M.helper(layer)
  local key = M.act_name(layer)
  if layer.type == "leaky_relu" then
    return render.fill("act_leaky_relu.c", { index = tostring(layer.index), key = key,
      slope = render.float(layer.negative_slope), slope_text = string.format("%.9g", layer.negative_slope) })
  end
  -- NaN passes through both comparisons, as in PyTorch's clamp
  local value = "v"
  if layer.max then value = string.format("(v > %s) ? %s : %s", render.float(layer.max), render.float(layer.max), value) end
  if layer.min then
    value = string.format("(v < %s) ? %s : %s", render.float(layer.min), render.float(layer.min),
      layer.max and "(" .. value .. ")" or value)
  end
  return render.fill("act_clip.c", { index = tostring(layer.index), key = key,
    bounds = string.format("min %s, max %s", bound_text(layer.min), bound_text(layer.max)),
    body = "return " .. value .. ";" })
end

return M
