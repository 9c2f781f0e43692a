--- The layer kinds lenetgen knows, one module each under lg/ops/.
-- Adding an operator means adding one module with the interface below (copy
-- lg/ops/flatten.lua for an elementwise one, lg/ops/linear.lua for one with
-- weights), listing it in MODULES, and giving it a spec in tests/unit/.
--
-- Interface of an operator module (fields marked * are required):
--   types*       list of the layer `type` strings it implements
--   role*        "compute" (a step of its own: conv2d, linear, pooling),
--                "activation" (applied to the value a compute step stores) or
--                "reshape" (changes no value in memory: flatten)
--   fields*      set of the description fields a layer of this kind takes
--   check(v, raw, layer, fpath)
--                read the kind's fields from the raw layer table into `layer`
--                with defaults; v is the validator (v.fail, v.int, v.pair)
--   infer*(v, layer, shape, prev) -> out_shape
--                output shape from the input shape ({c, h, w} or {n}), or a
--                v.fail that says what to change
--   macs(layer), params(layer)
--                multiply-accumulates per inference and parameters (weights
--                and biases) of a layer with known shapes; 0 when absent
--   tensors(layer) -> weight_shape, bias_shape
--                the PyTorch shapes of its tensors (layers with params only)
--   attributes(layer)
--                the one-line summary in the generated comment ("kernel 5x5, ...")
--   emit         compute kinds: { full = f, kernel = f, none = f }, each
--                f(e, step, fname) adding the step's C functions through the
--                emission context e (see lg.emit)
-- Optional, for the operators added with batch norm (issue 14):
--   fields_of(type)      the field set of one of its types, when they differ
--   role_of(layer)       the role of this layer when it differs from `role`
--                        (a batchnorm2d folded into its convolution: "reshape")
--   act_name(layer), helper(layer)
--                        activations with constants: the name of the layer's
--                        act_ function and its C text
--   tensor_specs(layer)  tensors read by lg.weights into layer.tensors[key]:
--                        { key, name, shape, shapes (alternatives), shape_error,
--                          optional, ignored (any dtype, not read), random }
--   check_values(layer, tensors)  a message when a value is unusable
--   step_layer(layer, float_tensor)  the layer as its step emits it (a copy
--                        with `weight`/`bias_values` derived from its tensors)
--   int8         true when the module emits --quantize=int8 code (e.q set,
--                see lg.int8emit) and lg.quantize / lg.reference_int8 know the
--                type; without it --quantize=int8 refuses the layer by name
local M = {}

local MODULES = { "lg.ops.conv2d", "lg.ops.pool", "lg.ops.linear", "lg.ops.activation", "lg.ops.flatten",
  "lg.ops.clip", "lg.ops.batchnorm", "lg.ops.prelu", "lg.ops.global_avgpool", "lg.ops.softmax" }

local by_type = {}
for _, name in ipairs(MODULES) do
  local op = require(name)
  for _, t in ipairs(op.types) do by_type[t] = op end
end

--- The module of a layer type, or nil for an unknown type.
function M.of(layer_type)
  return by_type[layer_type]
end

--- Every known layer type, sorted (for messages).
function M.type_names()
  local names = {}
  for t in pairs(by_type) do names[#names + 1] = t end
  table.sort(names)
  return names
end

--- Multiply-accumulates of a layer.
function M.macs(layer)
  local op = by_type[layer.type]
  return op.macs and op.macs(layer) or 0
end

--- Parameters (weights and biases) of a layer.
function M.params(layer)
  local op = by_type[layer.type]
  return op.params and op.params(layer) or 0
end

return M
