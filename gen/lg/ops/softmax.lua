--- softmax over the whole output vector, the last layer only:
-- y_i = e^(x_i - m) / sum_j e^(x_j - m) with m the largest x_j, so that no
-- exponential overflows (every argument is <= 0, one of them 0: the sum is
-- at least 1). It calls lenetgen_expf, as sigmoid does (--math=libm or
-- builtin); under -ffinite-math-only the arguments stay finite.
local ckernel = require("lg.ckernel")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")

local M = {}

M.types = { "softmax" }
M.role = "compute"
M.fields = { type = true, unroll = true }
M.int8 = true  -- a table of 2^16 e^(s (q - max)) by code difference, an integer sum and rounded division

function M.check(v, _, layer, fpath)
  if layer.index ~= v.layer_count - 1 then
    v.fail(fpath, string.format("softmax must be the last layer (it normalises the network's output), but "
      .. "%d layer%s follow%s it; move it to the end or remove it", v.layer_count - 1 - layer.index,
      v.layer_count - 2 == layer.index and "" or "s", v.layer_count - 2 == layer.index and "s" or ""), layer)
  end
end

function M.infer(_, _, shape)
  return { table.unpack(shape) }
end

function M.attributes(layer)
  return string.format("over all %d values, max subtracted first", geometry.elements(layer.in_shape))
end

--- The flat function: straight-line (full) or loops.
local function emit_flat(e, step, fname, unrolled)
  local n = step.out_elements
  local w = e.writer()
  ckernel.signature(w, fname, "x", "y")
  w.line("{")
  w.line("float m = x[0];")
  if n > 1 then
    if unrolled then
      for i = 1, n - 1 do w.line("m = (x[%d] > m) ? x[%d] : m;", i, i) end
    else
      w.line("for (int i = 1; i < %d; ++i) {", n)
      w.line("m = (x[i] > m) ? x[i] : m;")
      w.line("}")
    end
  end
  w.line("float s = 0.0f;")
  if unrolled then
    for i = 0, n - 1 do
      w.line("y[%d] = lenetgen_expf(x[%d] - m);", i, i)
      w.line("s += y[%d];", i)
    end
  else
    w.line("for (int i = 0; i < %d; ++i) {", n)
    w.line("y[i] = lenetgen_expf(x[i] - m);")
    w.line("s += y[i];")
    w.line("}")
  end
  if unrolled then
    for i = 0, n - 1 do w.line("y[%d] /= s;", i) end
  else
    w.line("for (int i = 0; i < %d; ++i) {", n)
    w.line("y[i] /= s;")
    w.line("}")
  end
  w.line("}")
  e.add_function(w.text())
end

--- int8 (output scale 1/256, zero point -128): with m the largest code,
-- e_i = table[m - x_i] (2^16 e^(s_in (x_i - m)), lg.quantize), s their sum
-- (at most 2^16 per value), y_i = (256 e_i + s / 2) / s - 128, at most 127.
-- Two passes over the table instead of a buffer of the e_i.
local function emit_int8(e, step, fname, unrolled)
  local n = step.out_elements
  local exp = int8emit.exp_table_name(e, step.layer)
  local w = e.writer()
  ckernel.signature(w, fname, "input", "output", e.value_type)
  local function each(fmt)
    if unrolled then
      for i = 0, n - 1 do w.line((fmt:gsub("%[i%]", "[" .. i .. "]"))) end
    else
      w.line("for (int i = 0; i < %d; ++i) {", n)
      w.line(fmt)
      w.line("}")
    end
  end
  w.line("{")
  -- the stored values (lg.int8emit.storage): their differences are the codes'
  ckernel.views(w, { n }, "input", { n }, "output", e.value_type, ckernel.view_types(e))
  w.line("int32_t m = x[0];")
  each("m = (x[i] > m) ? x[i] : m;")
  w.line("int32_t s = 0;")
  each(string.format("s += %s[m - x[i]];", exp))
  w.line("const int32_t half = s / 2;")
  each(string.format("y[i] = %s;", int8emit.store_expr(e,
    string.format("lg_clamp(((256 * %s[m - x[i]]) + half) / s - 128, -128, 127)", exp))))
  w.line("}")
  e.uses_clamp = true
  e.add_function(w.text())
end

M.emit = {
  full = function(e, step, fname)
    if e.q then return emit_int8(e, step, fname, true) end
    emit_flat(e, step, fname, true)
  end,
  kernel = function(e, step, fname)
    if e.q then return emit_int8(e, step, fname, false) end
    emit_flat(e, step, fname, false)
  end,
  none = function(e, step, fname)
    if e.q then return emit_int8(e, step, fname, false) end
    emit_flat(e, step, fname, false)
  end,
}

return M
