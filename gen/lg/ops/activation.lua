--- relu, sigmoid, tanh and relu6: applied to each value a compute step stores (the
-- plan attaches them to the step before them), or, straight after the input,
-- by a copy step of their own. Also writes the C helpers they call.
local ckernel = require("lg.ckernel")
local errors = require("lg.errors")
local int8emit = require("lg.int8emit")
local render = require("lg.render")

local M = {}

M.types = { "relu", "sigmoid", "tanh", "relu6" }
M.role = "activation"
M.int8 = true  -- int8: sigmoid and tanh by 256-entry tables, relu on codes (lg.int8emit)
M.fields = { type = true }

function M.infer(_, _, shape)
  return { table.unpack(shape) }
end

function M.attributes()
  return "elementwise"
end

-- Largest finite float32: a bound or slope beyond it has no float value.
local FLOAT_MAX = 0x1.fffffep+127

--- A numeric field of a parametrised activation (clip's bounds, leaky_relu's
-- slope): a finite number a float32 can hold, or `default` when absent.
function M.number_field(v, raw, layer, fpath, name, default)
  local value = raw[name]
  if value == nil then return default end
  if type(value) ~= "number" or value ~= value or math.abs(value) > FLOAT_MAX then
    v.fail(fpath .. "." .. name, string.format("%s must be a finite number (a float32 value, at most %.9g in "
      .. "magnitude), got %s", name, FLOAT_MAX, errors.describe(value)), layer)
  end
  return value + 0.0
end

--- The copy step: y = activations(x) element by element (activations straight
-- on the input, or a network of flatten layers only).
local function emit_copy(e, step, fname)
  local n = step.out_elements
  local w = e.writer()
  local function value(x)
    if e.q then return int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers, int8emit.load_expr(e, x))) end
    return ckernel.activation_expr(step.acts, x)
  end
  if e.q then
    -- int8: views of the buffers as the element types they hold (lg.int8emit.storage)
    ckernel.signature(w, fname, "input", "output", e.value_type)
    w.line("{")
    ckernel.views(w, { n }, "input", { n }, "output", e.value_type, ckernel.view_types(e))
  else
    ckernel.signature(w, fname, "x", "y", e.value_type)
    w.line("{")
  end
  if step.unroll == "full" then
    for i = 0, n - 1 do w.line("y[%d] = %s;", i, value(string.format("x[%d]", i))) end
  else
    w.line("for (int i = 0; i < %d; ++i) {", n)
    w.line("y[i] = %s;", value("x[i]"))
    w.line("}")
  end
  w.line("}")
  e.add_function(w.text())
end
M.emit_copy = emit_copy

--- The math helpers and activation functions the file calls, or nil.
-- @param used set of activation names the steps apply
-- @param math_kind "builtin" or "libm"
-- @param any_full whether some step is unrolled fully
-- @param layer_acts C text of the activation functions of single layers
--   (clip, leaky_relu: their bounds and slopes are constants), in layer order
-- @param need_softmax_exp whether a softmax step calls lenetgen_expf
function M.helpers(used, math_kind, any_full, layer_acts, need_softmax_exp)
  local need_exp, need_tanh = used.sigmoid or need_softmax_exp, used.tanh
  local parts = {}
  -- with nothing transcendental (relu only, or no activation), no math helpers at all
  if (need_exp or need_tanh) and math_kind == "builtin" then
    parts[#parts + 1] = "/* --math=builtin: no libm; the error bounds are stated below. */"
    local select = {}
    if need_exp then select[#select + 1] = "#define LENETGEN_MATH_EXPF 1" end
    if need_tanh then select[#select + 1] = "#define LENETGEN_MATH_TANHF 1" end
    parts[#parts + 1] = table.concat(select, "\n") .. "\n" .. render.template("math_builtin.c")
  elseif need_exp or need_tanh then
    parts[#parts + 1] = "/* --math=libm: the C library's expf and tanhf. */"
    if need_exp then parts[#parts + 1] = render.fill("libm_expf.c") end
    if need_tanh then parts[#parts + 1] = render.fill("libm_tanhf.c") end
  end
  for _, act in ipairs({ "relu", "sigmoid", "tanh", "relu6" }) do
    if used[act] then
      if any_full and (act == "sigmoid" or act == "tanh") then
        -- --unroll=full calls it from thousands of places; inlining every call
        -- costs compiler memory and code for little speed (LeNet-5 full, gcc 12
        -- -O2, x86-64: peak 2,099 MB -> 1,967 MB, code 8.5 MB -> 7.1 MB)
        parts[#parts + 1] = render.fill("act_noinline.h", { act = act })
      end
      -- Under -ffinite-math-only (-ffast-math, -Ofast) the compiler may assume e^-v is finite;
      -- gcc on x86 then divides vectors by a reciprocal estimate and a Newton step, which
      -- makes 1 / (1 + inf) NaN. So there act_sigmoid returns 0 first for v < -87.34
      -- (sigmoid < 2^-126).
      parts[#parts + 1] = render.fill("act_" .. act .. ".c")
    end
  end
  table.move(layer_acts or {}, 1, #(layer_acts or {}), #parts + 1, parts)
  if #parts == 0 then return nil end
  return table.concat(parts, "\n\n")
end

return M
