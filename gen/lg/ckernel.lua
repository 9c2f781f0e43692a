--- Pieces of C that every operator's emitter shares: index expressions,
-- array views, runs of positions with one window shape, loops over them,
-- the per-position and --unroll=full function layouts.
local geometry = require("lg.geometry")
local render = require("lg.render")

local M = {}

-- With --unroll=full every statement is straight-line code, so functions are
-- kept to about this many multiply-accumulates: compile time grows faster than
-- linearly with function size (see the README's compile-time table).
M.FULL_FUNCTION_MACS = 600

--- An index expression coef*var + offset (+ extra); var is a loop variable
-- name or a number, extra an optional further term (a loop variable). The
-- product is parenthesised when a sum follows it, (2 * py) - 1 + ky, so that
-- no index mixes * with + or - unparenthesised (MISRA C:2012 Rule 12.1).
function M.affine(var, coef, offset, extra)
  local text
  if type(var) == "number" then
    text = tostring(var * coef + offset)
  else
    text = (coef == 1) and var or string.format("%d * %s", coef, var)
    if coef ~= 1 and (offset ~= 0 or extra) then text = "(" .. text .. ")" end
    if offset > 0 then text = string.format("%s + %d", text, offset) end
    if offset < 0 then text = string.format("%s - %d", text, -offset) end
  end
  if extra then text = string.format("%s + %s", text, extra) end
  return text
end

--- A loop variable times a dilation, as the extra term of affine: "ky", or
-- "(2 * ky)" (parenthesised for the same MISRA rule).
function M.scaled(var, factor)
  if factor == 1 then return var end
  return string.format("(%d * %s)", factor, var)
end

--- expr with the step's activations applied, innermost first.
function M.activation_expr(acts, expr)
  for _, act in ipairs(acts) do expr = string.format("act_%s(%s)", act, expr) end
  return expr
end

--- expr divided by a pooling window's element count. Dividing by 2^k and
-- multiplying by 2^-k round the same exact value, so the result is identical;
-- the multiply takes 1 cycle where VDIV takes 14 on a Cortex-M4F.
function M.divide_by_count(expr, count)
  if count & (count - 1) == 0 then
    return string.format("%s * %s", expr, render.float(1 / count))
  end
  return string.format("%s / %s", expr, render.float(count))
end

--- The first line of a step function; ctype is the stored value's C type
-- (default float; int8_t with --quantize=int8).
function M.signature(w, fname, in_name, out_name, ctype)
  ctype = ctype or "float"
  w.line("static void %s(const %s *restrict %s, %s *restrict %s)", fname, ctype, in_name, ctype, out_name)
end

--- A view of a flat buffer (of view_type elements) as a C-H-W array (or a
-- flat vector) of ctype.
local function view(w, qualifier, var, shape, buffer, ctype, view_type)
  if #shape == 3 then
    w.line("%s%s (*%s)[%d][%d] = (%s%s (*)[%d][%d])%s;", qualifier, view_type, var, shape[2], shape[3], qualifier,
      view_type, shape[2], shape[3], buffer)
  elseif view_type ~= ctype then
    w.line("%s%s *%s = (%s%s *)%s;", qualifier, view_type, var, qualifier, view_type, buffer)
  else
    w.line("%s%s *%s = %s;", qualifier, ctype, var, buffer)
  end
end

--- The step's views: x reads its input, y writes its output (ctype as in
-- signature; int8: x_type and y_type are the element types the buffers hold,
-- see lg.int8emit.storage).
function M.views(w, in_shape, in_name, out_shape, out_name, ctype, x_type, y_type)
  ctype = ctype or "float"
  view(w, "const ", "x", in_shape, in_name, ctype, x_type or ctype)
  view(w, "", "y", out_shape, out_name, ctype, y_type or ctype)
end

--- The element types of the step's views: int8 storage (e.storage_in,
-- e.storage_out, set by lg.emit) or the value type.
function M.view_types(e)
  if e.storage_in then return e.storage_in.ctype, e.storage_out.ctype end
  return e.value_type, e.value_type
end

--- A step function that reads `input` and writes `output` through the views,
-- with body(w) in between.
function M.step_function(e, step, fname, body)
  local w = e.writer()
  M.signature(w, fname, "input", "output", e.value_type)
  w.line("{")
  M.views(w, step.in_shape, "input", step.out_shape, "output", e.value_type, M.view_types(e))
  body(w)
  w.line("}")
  e.add_function(w.text())
end

--- A kernel-level step function: body(w) inside a loop of `var` over the
-- `count` channels.
function M.channel_loop_function(e, step, fname, var, count, body)
  M.step_function(e, step, fname, function(w)
    w.line("for (int %s = 0; %s < %d; ++%s) {", var, var, count, var)
    body(w)
    w.line("}")
  end)
end

--- --unroll=full: one function per part, then the step function calling
-- each in order. each_part(part) calls part(suffix, body) for every part in
-- order, so parts are written as they come (the byte budget stops a huge
-- unrolling early, before a list of every part would fill the memory).
function M.full_parts(e, step, fname, each_part)
  local calls = {}
  each_part(function(suffix, body)
    local sub = fname .. suffix
    M.step_function(e, step, sub, body)
    calls[#calls + 1] = string.format("%s(input, output);", sub)
  end)
  local w = e.writer()
  M.signature(w, fname, "input", "output", e.value_type)
  w.line("{")
  for _, call in ipairs(calls) do w.line(call) end
  w.line("}")
  e.add_function(w.text())
end

--- Group consecutive positions 0..count-1 whose key(pos) is the same.
-- Returns runs { first, last, key }.
function M.runs(count, key)
  local result = {}
  for pos = 0, count - 1 do
    local k = key(pos)
    local last = result[#result]
    if last and last.key == k then
      last.last = pos
    else
      result[#result + 1] = { first = pos, last = pos, key = k }
    end
  end
  return result
end

--- One region's columns: blocks of `width` positions (a loop when there are
-- several), then the remainder as a narrower body.
local function region_columns(w, cr, y, xvar, first_row, width, body)
  local count = cr.last - cr.first + 1
  local blocks = count // width
  if blocks == 1 then
    w.line("{")
    body(y, cr.first, first_row, cr.first, width)
    w.line("}")
  elseif blocks > 1 then
    local step_text = (width == 1) and ("++" .. xvar) or string.format("%s += %d", xvar, width)
    w.line("for (int %s = %d; %s < %d; %s) {", xvar, cr.first, xvar, cr.first + blocks * width, step_text)
    body(y, xvar, first_row, cr.first, width)
    w.line("}")
  end
  if count % width > 0 then
    w.line("{")
    body(y, cr.first + blocks * width, first_row, cr.first + blocks * width, count % width)
    w.line("}")
  end
end

--- Loop over rectangular regions of positions that share one window shape.
-- A region one position tall gets a constant instead of a loop; along x the
-- body handles `width` positions at a time, the remainder as a narrower body.
-- body(y, x, row, col, width): y and x are loop variable names or numbers;
-- row and col the region's first position as numbers.
function M.regions(w, row_runs, col_runs, yvar, xvar, label, width, body)
  for _, r in ipairs(row_runs) do
    for _, cr in ipairs(col_runs) do
      local y = (r.first == r.last) and r.first or yvar
      w.line("/* %s rows %d..%d, columns %d..%d */", label, r.first, r.last, cr.first, cr.last)
      if y == yvar then w.line("for (int %s = %d; %s <= %d; ++%s) {", yvar, r.first, yvar, r.last, yvar) end
      region_columns(w, cr, y, xvar, r.first, width, body)
      if y == yvar then w.line("}") end
    end
  end
end

--- Runs of output positions along one axis that share one tap range (and
-- extra(o), when given: another per-position quantity the body depends on).
function M.axis_runs(count, stride, pad, kernel, size, dilation, extra)
  return M.runs(count, function(o)
    local key = table.concat({ geometry.tap_range(o, stride, pad, kernel, size, dilation) }, ":")
    return extra and (key .. ":" .. extra(o)) or key
  end)
end

--- The holes every --unroll=none template shares: fname, tables (the
-- window bounds of both axes), views, iy and ix (the input row and column of
-- tap ky, kx of output position oy, ox; g.d is the dilation). Pieces are bounded in size (a few lines), so they are
-- written without the budget; the filled template is counted by emit_none.
function M.none_vars(step, fname, g, ctype, x_type, y_type)
  local t = render.writer()
  M.range_tables(t, "ky", g.oh, g.s.h, g.p.h, g.k.h, g.h, g.d.h)
  M.range_tables(t, "kx", g.ow, g.s.w, g.p.w, g.k.w, g.w, g.d.w)
  local v = render.writer()
  M.views(v, step.in_shape, "input", step.out_shape, "output", ctype, x_type, y_type)
  return { fname = fname, ctype = ctype or "float", tables = t.text(), views = v.text(), oh = tostring(g.oh),
           ow = tostring(g.ow), iy = M.affine("oy", g.s.h, -g.p.h, M.scaled("ky", g.d.h)),
           ix = M.affine("ox", g.s.w, -g.p.w, M.scaled("kx", g.d.w)) }
end

--- An --unroll=none step function from its template.
function M.emit_none(e, template, vars)
  local w = e.writer()
  w.line(render.fill(template, vars))
  e.add_function(w.text())
end

--- Constant tables of the first and one-past-last valid tap on one axis for
-- every output position (the --unroll=none window bounds).
function M.range_tables(w, prefix, count, stride, pad, kernel, size, dilation)
  local first, last = {}, {}
  for o = 0, count - 1 do
    local a, b = geometry.tap_range(o, stride, pad, kernel, size, dilation)
    first[#first + 1], last[#last + 1] = tostring(a), tostring(b + 1)
  end
  w.line("static const int %s_begin[%d] = { %s };", prefix, count, table.concat(first, ", "))
  w.line("static const int %s_end[%d] = { %s };", prefix, count, table.concat(last, ", "))
end

return M
