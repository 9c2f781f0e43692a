--- relu, sigmoid and tanh: applied to each value a compute step stores (the
-- plan attaches them to the step before them), or, straight after the input,
-- by a copy step of their own. Also writes the C helpers they call.
local ckernel = require("lg.ckernel")
local int8emit = require("lg.int8emit")
local render = require("lg.render")

local M = {}

M.types = { "relu", "sigmoid", "tanh" }
M.role = "activation"
M.int8 = true  -- int8: sigmoid and tanh by 256-entry tables, relu on codes (lg.int8emit)
M.fields = { type = true }

function M.infer(_, _, shape)
  return { table.unpack(shape) }
end

function M.attributes()
  return "elementwise"
end

--- The copy step: y = activations(x) element by element (activations straight
-- on the input, or a network of flatten layers only).
local function emit_copy(e, step, fname)
  local n = step.out_elements
  local w = e.writer()
  ckernel.signature(w, fname, "x", "y", e.value_type)
  local function value(x)
    if e.q then return int8emit.activation_expr(e, step.act_layers, x) end
    return ckernel.activation_expr(step.acts, x)
  end
  w.line("{")
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
function M.helpers(used, math_kind, any_full)
  local need_exp, need_tanh = used.sigmoid, used.tanh
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
  for _, act in ipairs({ "relu", "sigmoid", "tanh" }) do
    if used[act] then
      if any_full and act ~= "relu" then
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
  if #parts == 0 then return nil end
  return table.concat(parts, "\n\n")
end

return M
