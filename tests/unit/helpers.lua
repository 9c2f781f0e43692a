--- Shared by the unit specs: a validated model from a description table.
local M = {}

--- The model of lg.model for a description given as Lua source text of
-- its layers, with seeded random weights.
function M.model(layers, input)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(string.format("return { name = \"t\", input = %s, layers = { %s } }",
    input or "{ channels = 1, height = 28, width = 28 }", table.concat(layers, ", ")))
  f:close()
  local ok, model = pcall(require("lg.model").load, path, { random_seed = 1 })
  os.remove(path)
  assert(ok, type(model) == "table" and require("lg.errors").format(model) or tostring(model))
  return model
end

M.LENET5 = {
  '{ type = "conv2d", out_channels = 6, kernel = 5, padding = 2 }', '{ type = "sigmoid" }',
  '{ type = "avgpool2d", kernel = 2 }', '{ type = "conv2d", out_channels = 16, kernel = 5 }',
  '{ type = "sigmoid" }', '{ type = "avgpool2d", kernel = 2 }', '{ type = "flatten" }',
  '{ type = "linear", out_features = 120 }', '{ type = "sigmoid" }', '{ type = "linear", out_features = 84 }',
  '{ type = "sigmoid" }', '{ type = "linear", out_features = 10 }',
}

--- The C functions an operator emits for a step, joined.
function M.emit_step(step, level)
  local render = require("lg.render")
  local e = { name = "t", NAME = "T", functions = {} }
  function e.writer() return render.writer() end
  function e.add_function(text) e.functions[#e.functions + 1] = text end
  function e.weight_name(layer) return "t_layer" .. layer.index .. "_weight" end
  function e.bias_name(layer) return "t_layer" .. layer.index .. "_bias" end
  require("lg.ops").of(step.kind).emit[level](e, step, "f")
  return table.concat(e.functions, "\n\n")
end

return M
