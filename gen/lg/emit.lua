--- Stage 5: write the C for a planned model.
-- Unroll levels, per step:
--   full    no loops at all: every output element is straight-line code with
--           constant indices, split into one function per output channel and
--           output row so compilers stay fast;
--   kernel  loops over output channels and positions; every kernel window is
--           straight-line code, and positions whose windows are clipped by the
--           padding get their own region, so no tap is ever bounds-checked;
--   none    plain nested loops (window ranges from constant tables).
-- Loops, unrolling and naming live here; C fragments live in templates/.
local render = require("lg.render")
local planner = require("lg.plan")

local M = {}

-- linear outputs computed together: each input load feeds 8 FMAs (LeNet-5,
-- Cortex-M4F QEMU instruction count: 4 outputs 0.923 M per inference, 8 give 0.914 M)
M.MAC_BLOCK = 8
-- conv outputs one body keeps in registers, with the row's weights and one
-- input at a time beside them in a 32-register FPU. LeNet-5 on Cortex-M4F, QEMU
-- instruction count per inference, statements in input-pixel order (conv_body):
-- 8 accumulators 0.979 M, 12 give 0.875 M, 16 give 0.904 M, 24 give 0.959 M.
-- (In weight-major order, before, 16 was best: 0.965 M against 1.04 M for 8.)
M.MAX_ACCUMULATORS = 12

-- An index expression coef*var + offset; var is a loop variable name or a number.
local function affine(var, coef, offset)
  if type(var) == "number" then return tostring(var * coef + offset) end
  local term = (coef == 1) and var or string.format("%d * %s", coef, var)
  if offset > 0 then return string.format("%s + %d", term, offset) end
  if offset < 0 then return string.format("%s - %d", term, -offset) end
  return term
end

local function dims(shape)
  local parts = {}
  for i, n in ipairs(shape) do parts[i] = string.format("[%d]", n) end
  return table.concat(parts)
end

local function pair(p) return string.format("%dx%d", p.h, p.w) end

--- Valid kernel taps [first, last] on one axis for output position o.
local function tap_range(o, stride, pad, kernel, size)
  local origin = o * stride - pad
  local first = math.max(0, -origin)
  local last = math.min(kernel, size - origin) - 1
  return first, last
end

--- Group consecutive positions 0..count-1 whose key(pos) is the same.
-- Returns runs { first, last, key }.
local function runs(count, key)
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

--- Loop over rectangular regions of positions that share one window shape.
-- A region one position tall gets a constant instead of a loop; along x the
-- body handles `width` positions at a time, the remainder as a narrower body.
local function emit_regions(w, row_runs, col_runs, yvar, xvar, label, width, body)
  for _, r in ipairs(row_runs) do
    for _, cr in ipairs(col_runs) do
      local y = (r.first == r.last) and r.first or yvar
      w.line("/* %s rows %d..%d, columns %d..%d */", label, r.first, r.last, cr.first, cr.last)
      if y == yvar then w.line("for (int %s = %d; %s <= %d; ++%s) {", yvar, r.first, yvar, r.last, yvar) end
      local count = cr.last - cr.first + 1
      local blocks = count // width
      if blocks == 1 then
        w.line("{")
        body(y, cr.first, r.first, cr.first, width)
        w.line("}")
      elseif blocks > 1 then
        local step_text = (width == 1) and ("++" .. xvar) or string.format("%s += %d", xvar, width)
        w.line("for (int %s = %d; %s < %d; %s) {", xvar, cr.first, xvar, cr.first + blocks * width, step_text)
        body(y, xvar, r.first, cr.first, width)
        w.line("}")
      end
      if count % width > 0 then
        w.line("{")
        body(y, cr.first + blocks * width, r.first, cr.first + blocks * width, count % width)
        w.line("}")
      end
      if y == yvar then w.line("}") end
    end
  end
end

--- expr divided by a pooling window's element count. Dividing by 2^k and
-- multiplying by 2^-k round the same exact value, so the result is identical;
-- the multiply takes 1 cycle where VDIV takes 14 on a Cortex-M4F.
local function divide_by_count(expr, count)
  if count & (count - 1) == 0 then
    return string.format("%s * %s", expr, render.float(1 / count))
  end
  return string.format("%s / %s", expr, render.float(count))
end

local function activation_expr(acts, expr)
  for _, act in ipairs(acts) do expr = string.format("act_%s(%s)", act, expr) end
  return expr
end

--------------------------------------------------------------------------------
-- Context: names, writer, and which helpers the file needs.
--------------------------------------------------------------------------------
local function new_context(model, opts)
  return {
    model = model, opts = opts, name = model.name, NAME = model.name:upper(),
    used_acts = {},
    functions = {},   -- C text of each function, in order
  }
end

--- A view or weight pointer that no statement reads (every tap of a region
-- fell in the padding) would trip -Wunused-variable: mark it used, and say why.
local function guard_unused(text)
  -- the end of the first line holding `needle`, by plain search: a pattern
  -- starting with [^\n]- retries from every byte of a line, which is quadratic
  -- in its length (--unroll=none writes one row of 4096 window bounds per line)
  local function end_of_line_with(needle)
    local at = text:find(needle, 1, true)
    return at and text:find("\n", at, true)
  end
  for _, var in ipairs({ "x", "w" }) do
    local e = end_of_line_with("(*" .. var .. ")") or end_of_line_with("*" .. var .. " = ")
    if e and not text:find("[^%w_]" .. var .. "%[") then
      text = text:sub(1, e) .. "(void)" .. var .. "; /* every tap here falls in the padding */\n" .. text:sub(e + 1)
    end
  end
  return text
end

local function add_function(ctx, text)
  ctx.functions[#ctx.functions + 1] = guard_unused(text)
end

local function note_acts(ctx, acts)
  for _, act in ipairs(acts) do ctx.used_acts[act] = true end
end

local function weight_name(ctx, layer) return string.format("%s_layer%d_weight", ctx.name, layer.index) end
local function bias_name(ctx, layer) return string.format("%s_layer%d_bias", ctx.name, layer.index) end

local function shape_text(s)
  if #s == 1 then return tostring(s[1]) end
  return table.concat(s, "x")
end

--- Views of flat buffers as C-H-W arrays (or flat vectors).
local function view_lines(w, shape, in_name, out_shape, out_name)
  if #shape == 3 then
    w.line("const float (*x)[%d][%d] = (const float (*)[%d][%d])%s;", shape[2], shape[3], shape[2], shape[3], in_name)
  else
    w.line("const float *x = %s;", in_name)
  end
  if #out_shape == 3 then
    w.line("float (*y)[%d][%d] = (float (*)[%d][%d])%s;", out_shape[2], out_shape[3], out_shape[2], out_shape[3],
      out_name)
  else
    w.line("float *y = %s;", out_name)
  end
end

--------------------------------------------------------------------------------
-- conv2d (optionally with a fused pooling layer)
--------------------------------------------------------------------------------
local function conv_geometry(step)
  local conv, pool = step.layer, step.pool
  local g = {
    c_in = conv.in_shape[1], h = conv.in_shape[2], w = conv.in_shape[3],
    k = conv.kernel, s = conv.stride, p = conv.padding,
    oh = conv.out_shape[2], ow = conv.out_shape[3],
    pk = pool and pool.kernel or { h = 1, w = 1 },
    ps = pool and pool.stride or { h = 1, w = 1 },
    poh = step.out_shape[2], pow = step.out_shape[3],
  }
  -- window signature of a pooled row/column: the tap range of every conv
  -- position it covers
  g.row_key = function(py)
    local parts = {}
    for dy = 0, g.pk.h - 1 do
      local a, b = tap_range(py * g.ps.h + dy, g.s.h, g.p.h, g.k.h, g.h)
      parts[#parts + 1] = a .. ":" .. b
    end
    return table.concat(parts, ",")
  end
  g.col_key = function(px)
    local parts = {}
    for dx = 0, g.pk.w - 1 do
      local a, b = tap_range(px * g.ps.w + dx, g.s.w, g.p.w, g.k.w, g.w)
      parts[#parts + 1] = a .. ":" .. b
    end
    return table.concat(parts, ",")
  end
  return g
end

--- How many horizontally adjacent positions one conv body computes: each
-- weight it loads then feeds that many more FMAs (register blocking), within
-- about 8 accumulators so they stay in registers on a 32-register FPU.
local function conv_block_width(g)
  local window = g.pk.h * g.pk.w
  return math.max(1, math.min(4, M.MAX_ACCUMULATORS // window))
end

--- Straight-line body computing `width` adjacent outputs (pooled positions
-- when a pool is fused) of output channel oc, starting at (py, px). oc, py
-- and px are loop variable names or numbers (numbers at --unroll=full, so every
-- subscript there is an integer literal); row/col give the same position as numbers (for a
-- loop, the first position of the region: all positions of a region share
-- their windows).
local function conv_body(w, step, g, oc, py, px, row, col, width, c_loop)
  local pooled = step.pool ~= nil
  local acc = {}
  for k = 0, width - 1 do
    for dy = 0, g.pk.h - 1 do
      for dx = 0, g.pk.w - 1 do
        local name
        if pooled then
          name = (width > 1) and string.format("a%d_%d%d", k, dy, dx) or string.format("a%d%d", dy, dx)
        else
          name = (width > 1) and string.format("acc%d", k) or "acc"
        end
        local y_first, y_last = tap_range(row * g.ps.h + dy, g.s.h, g.p.h, g.k.h, g.h)
        local x_first, x_last = tap_range((col + k) * g.ps.w + dx, g.s.w, g.p.w, g.k.w, g.w)
        acc[#acc + 1] = { k = k, dy = dy, dx = dx, name = name,
                          y_first = y_first, y_last = y_last, x_first = x_first, x_last = x_last }
        w.line("float %s = b; /* conv output [%s][%s][%s] */", name, oc, affine(py, g.ps.h, dy),
          affine(px, g.ps.w, g.ps.w * k + dx))
      end
    end
  end
  -- each weight is loaded once and used by every accumulator whose window
  -- holds it; at kernel level the input channels are a loop around the
  -- straight-line window (one window's worth of loads per iteration keeps the
  -- body small enough for the register allocator and stops compilers hoisting
  -- every weight of the layer out of the position loops)
  local channel_loop = c_loop and g.c_in > 1
  -- a single input channel has no channel loop; where every accumulator sees
  -- the whole kernel height, loop over kernel rows instead, for the same reason
  local row_loop = c_loop and not channel_loop and g.k.h > 1
  for _, a in ipairs(acc) do
    row_loop = row_loop and a.y_first == 0 and a.y_last == g.k.h - 1
  end
  local channels = channel_loop and { "c" } or {}
  if not channel_loop then
    for c = 0, g.c_in - 1 do channels[#channels + 1] = c end
  end
  local rows = row_loop and { "ky" } or {}
  if not row_loop then
    for ky = 0, g.k.h - 1 do rows[#rows + 1] = ky end
  end
  if channel_loop then w.line("for (int c = 0; c < %d; ++c) {", g.c_in) end
  if row_loop then w.line("for (int ky = 0; ky < %d; ++ky) {", g.k.h) end
  -- Within one kernel row of one input channel the statements go in input
  -- pixel order (row, then column), each pixel feeding every accumulator that
  -- reads it: a pixel is then live for a few statements only and the row's
  -- kw weights stay in registers, so each pixel and each weight is loaded once
  -- (weight-major order keeps every pixel live across the whole row and makes
  -- the register allocator reload it).
  for _, c in ipairs(channels) do
    for _, ky in ipairs(rows) do
      local macs = {}
      for kx = 0, g.k.w - 1 do
        for i, a in ipairs(acc) do
          local ky_ok = row_loop or (ky >= a.y_first and ky <= a.y_last)
          if ky_ok and kx >= a.x_first and kx <= a.x_last then
            local row_offset = a.dy * g.s.h
            local col_offset = (a.k * g.ps.w + a.dx) * g.s.w + kx
            macs[#macs + 1] = { a = a, kx = kx, row = row_offset, col = col_offset, order = i }
          end
        end
      end
      table.sort(macs, function(m, n)
        if m.row ~= n.row then return m.row < n.row end
        if m.col ~= n.col then return m.col < n.col end
        return m.order < n.order
      end)
      for _, m in ipairs(macs) do
        local a, kx = m.a, m.kx
        local iy
        if row_loop then
          iy = affine(py, g.ps.h * g.s.h, a.dy * g.s.h - g.p.h) .. " + ky"
        else
          iy = affine(py, g.ps.h * g.s.h, a.dy * g.s.h - g.p.h + ky)
        end
        local ix = affine(px, g.ps.w * g.s.w, (a.k * g.ps.w + a.dx) * g.s.w - g.p.w + kx)
        w.line("LG_MAC(%s, w[%s][%s][%d], x[%s][%s][%s]);", a.name, c, ky, kx, c, iy, ix)
      end
    end
  end
  if row_loop then w.line("}") end
  if channel_loop then w.line("}") end
  local per_output = #acc // width
  for k = 0, width - 1 do
    local out_ref = string.format("y[%s][%s][%s]", oc, affine(py, 1, 0), affine(px, 1, k))
    local group = { table.unpack(acc, k * per_output + 1, (k + 1) * per_output) }
    if not pooled then
      w.line("%s = %s;", out_ref, activation_expr(step.acts, group[1].name))
    else
      for _, a in ipairs(group) do
        if #step.acts > 0 then w.line("%s = %s;", a.name, activation_expr(step.acts, a.name)) end
      end
      local value
      if step.pool.type == "avgpool2d" then
        local names = {}
        for i, a in ipairs(group) do names[i] = a.name end
        value = divide_by_count("(" .. table.concat(names, " + ") .. ")", #group)
      else
        local m = (width > 1) and ("m" .. k) or "m"
        w.line("float %s = %s;", m, group[1].name)
        for i = 2, #group do w.line("%s = (%s > %s) ? %s : %s;", m, group[i].name, m, group[i].name, m) end
        value = m
      end
      w.line("%s = %s;", out_ref, activation_expr(step.post_acts, value))
    end
  end
end

local function conv_channel_prologue(ctx, w, step, oc)
  local layer = step.layer
  w.line("const float (*w)[%d][%d] = %s[%s];", layer.kernel.h, layer.kernel.w, weight_name(ctx, layer), oc)
  if layer.bias then
    w.line("const float b = %s[%s];", bias_name(ctx, layer), oc)
  else
    w.line("const float b = 0.0f; /* no bias */")
  end
end

local function emit_conv_kernel(ctx, step, fname, in_flat, out_flat)
  local g = conv_geometry(step)
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  w.line("for (int oc = 0; oc < %d; ++oc) {", step.layer.out_channels)
  conv_channel_prologue(ctx, w, step, "oc")
  emit_regions(w, runs(g.poh, g.row_key), runs(g.pow, g.col_key), "py", "px",
    step.pool and "pooled" or "output", conv_block_width(g), function(py, px, row, col, width)
      conv_body(w, step, g, "oc", py, px, row, col, width, true)
    end)
  w.line("}")
  w.line("}")
  add_function(ctx, w.text())
end

-- With --unroll=full every statement is straight-line code, so functions are
-- kept to about this many multiply-accumulates: compile time grows faster than
-- linearly with function size (see the README's compile-time table).
M.FULL_FUNCTION_MACS = 600

local function emit_conv_full(ctx, step, fname, in_flat, out_flat)
  local g = conv_geometry(step)
  local macs_per_position = g.pk.h * g.pk.w * g.c_in * g.k.h * g.k.w
  local width = math.max(1, math.min(conv_block_width(g), M.FULL_FUNCTION_MACS // macs_per_position))
  local calls = {}
  for oc = 0, step.layer.out_channels - 1 do
    for py = 0, g.poh - 1 do
      for px = 0, g.pow - 1, width do
        local sub = string.format("%s_oc%d_y%d_x%d", fname, oc, py, px)
        local w = render.writer()
        w.line("static void %s(const float *restrict %s, float *restrict %s)", sub, in_flat, out_flat)
        w.line("{")
        view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
        conv_channel_prologue(ctx, w, step, oc)
        conv_body(w, step, g, oc, py, px, py, px, math.min(width, g.pow - px), false)
        w.line("}")
        add_function(ctx, w.text())
        calls[#calls + 1] = string.format("%s(%s, %s);", sub, in_flat, out_flat)
      end
    end
  end
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  for _, call in ipairs(calls) do w.line(call) end
  w.line("}")
  add_function(ctx, w.text())
end

--- Constant table of the first/last valid tap on one axis for every output position.
local function range_tables(w, prefix, count, stride, pad, kernel, size)
  local first, last = {}, {}
  for o = 0, count - 1 do
    local a, b = tap_range(o, stride, pad, kernel, size)
    first[#first + 1], last[#last + 1] = tostring(a), tostring(b + 1)
  end
  w.line("static const int %s_begin[%d] = { %s };", prefix, count, table.concat(first, ", "))
  w.line("static const int %s_end[%d] = { %s };", prefix, count, table.concat(last, ", "))
end

local function emit_conv_none(ctx, step, fname, in_flat, out_flat)
  local layer = step.layer
  local g = conv_geometry(step)
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  range_tables(w, "ky", g.oh, g.s.h, g.p.h, g.k.h, g.h)
  range_tables(w, "kx", g.ow, g.s.w, g.p.w, g.k.w, g.w)
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  w.line("for (int oc = 0; oc < %d; ++oc) {", layer.out_channels)
  conv_channel_prologue(ctx, w, step, "oc")
  w.line("for (int oy = 0; oy < %d; ++oy) {", g.oh)
  w.line("for (int ox = 0; ox < %d; ++ox) {", g.ow)
  w.line("float acc = b;")
  w.line("for (int c = 0; c < %d; ++c) {", g.c_in)
  w.line("for (int ky = ky_begin[oy]; ky < ky_end[oy]; ++ky) {")
  w.line("for (int kx = kx_begin[ox]; kx < kx_end[ox]; ++kx) {")
  w.line("LG_MAC(acc, w[c][ky][kx], x[c][%s + ky][%s + kx]);", affine("oy", g.s.h, -g.p.h), affine("ox", g.s.w, -g.p.w))
  w.line("}")
  w.line("}")
  w.line("}")
  w.line("y[oc][oy][ox] = %s;", activation_expr(step.acts, "acc"))
  w.line("}")
  w.line("}")
  w.line("}")
  w.line("}")
  add_function(ctx, w.text())
end

--------------------------------------------------------------------------------
-- pooling on its own
--------------------------------------------------------------------------------
local function pool_geometry(step)
  local layer = step.layer
  return {
    c = layer.in_shape[1], h = layer.in_shape[2], w = layer.in_shape[3],
    k = layer.kernel, s = layer.stride, p = layer.padding,
    oh = layer.out_shape[2], ow = layer.out_shape[3],
  }
end

local function pool_body(w, step, g, c, oy, ox, row, col)
  local y_first, y_last = tap_range(row, g.s.h, g.p.h, g.k.h, g.h)
  local x_first, x_last = tap_range(col, g.s.w, g.p.w, g.k.w, g.w)
  local is_avg = step.layer.type == "avgpool2d"
  local started = false
  local var = is_avg and "s" or "m"
  for ky = y_first, y_last do
    for kx = x_first, x_last do
      local ref = string.format("x[%s][%s][%s]", c, affine(oy, g.s.h, ky - g.p.h), affine(ox, g.s.w, kx - g.p.w))
      if not started then
        w.line("float %s = %s;", var, ref)
        started = true
      elseif is_avg then
        w.line("s += %s;", ref)
      else
        w.line("m = (%s > m) ? %s : m;", ref, ref)
      end
    end
  end
  if not started then
    -- avg-pool window entirely in the padding: PyTorch's value is 0 (validation
    -- keeps padding <= kernel/2, so this cannot happen, but stay correct)
    w.line("float %s = 0.0f;", var)
  end
  local value = is_avg and divide_by_count("s", g.k.h * g.k.w) or "m"
  w.line("y[%s][%s][%s] = %s;", c, affine(oy, 1, 0), affine(ox, 1, 0), activation_expr(step.acts, value))
end

local function pool_runs(g)
  local row_runs = runs(g.oh, function(o) return table.concat({ tap_range(o, g.s.h, g.p.h, g.k.h, g.h) }, ":") end)
  local col_runs = runs(g.ow, function(o) return table.concat({ tap_range(o, g.s.w, g.p.w, g.k.w, g.w) }, ":") end)
  return row_runs, col_runs
end

local function emit_pool_kernel(ctx, step, fname, in_flat, out_flat)
  local g = pool_geometry(step)
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  w.line("for (int c = 0; c < %d; ++c) {", g.c)
  local row_runs, col_runs = pool_runs(g)
  emit_regions(w, row_runs, col_runs, "oy", "ox", "output", 1, function(oy, ox, row, col)
    pool_body(w, step, g, "c", oy, ox, row, col)
  end)
  w.line("}")
  w.line("}")
  add_function(ctx, w.text())
end

local function emit_pool_full(ctx, step, fname, in_flat, out_flat)
  local g = pool_geometry(step)
  local calls = {}
  for c = 0, g.c - 1 do
    local sub = string.format("%s_c%d", fname, c)
    local w = render.writer()
    w.line("static void %s(const float *restrict %s, float *restrict %s)", sub, in_flat, out_flat)
    w.line("{")
    view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
    for oy = 0, g.oh - 1 do
      for ox = 0, g.ow - 1 do
        w.line("{")
        pool_body(w, step, g, c, oy, ox, oy, ox)
        w.line("}")
      end
    end
    w.line("}")
    add_function(ctx, w.text())
    calls[#calls + 1] = string.format("%s(%s, %s);", sub, in_flat, out_flat)
  end
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  for _, call in ipairs(calls) do w.line(call) end
  w.line("}")
  add_function(ctx, w.text())
end

local function emit_pool_none(ctx, step, fname, in_flat, out_flat)
  local g = pool_geometry(step)
  local is_avg = step.layer.type == "avgpool2d"
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  range_tables(w, "ky", g.oh, g.s.h, g.p.h, g.k.h, g.h)
  range_tables(w, "kx", g.ow, g.s.w, g.p.w, g.k.w, g.w)
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  w.line("for (int c = 0; c < %d; ++c) {", g.c)
  w.line("for (int oy = 0; oy < %d; ++oy) {", g.oh)
  w.line("for (int ox = 0; ox < %d; ++ox) {", g.ow)
  if is_avg then
    w.line("float s = 0.0f;")
  else
    -- start from the first tap of the window (never empty: padding <= kernel / 2)
    w.line("float m = x[c][%s + ky_begin[oy]][%s + kx_begin[ox]];", affine("oy", g.s.h, -g.p.h),
      affine("ox", g.s.w, -g.p.w))
  end
  w.line("for (int ky = ky_begin[oy]; ky < ky_end[oy]; ++ky) {")
  w.line("for (int kx = kx_begin[ox]; kx < kx_end[ox]; ++kx) {")
  local ref = string.format("x[c][%s + ky][%s + kx]", affine("oy", g.s.h, -g.p.h), affine("ox", g.s.w, -g.p.w))
  if is_avg then
    w.line("s += %s;", ref)
  else
    w.line("const float v = %s;", ref)
    w.line("m = (v > m) ? v : m;")
  end
  w.line("}")
  w.line("}")
  local value = is_avg and divide_by_count("s", g.k.h * g.k.w) or "m"
  w.line("y[c][oy][ox] = %s;", activation_expr(step.acts, value))
  w.line("}")
  w.line("}")
  w.line("}")
  w.line("}")
  add_function(ctx, w.text())
end

--------------------------------------------------------------------------------
-- linear
--------------------------------------------------------------------------------
M.LINEAR_CHUNK = 8  -- inputs per iteration of the kernel-level input loop

--- Outputs first..first+count-1 (first: loop variable or number). With
-- chunked = true the inputs run in a loop of LINEAR_CHUNK-wide straight-line
-- chunks (a 400-input body fully unrolled makes compilers hoist loads and
-- spill); otherwise every input is unrolled.
local function linear_block(ctx, w, step, first, count, chunked)
  local layer = step.layer
  local n_in = layer.in_shape[1]
  w.line("const float (*w)[%d] = %s + %s;", n_in, weight_name(ctx, layer), first)
  for j = 0, count - 1 do
    local init = layer.bias and string.format("%s[%s]", bias_name(ctx, layer), affine(first, 1, j)) or "0.0f"
    w.line("float a%d = %s; /* output [%s] */", j, init, affine(first, 1, j))
  end
  local function macs(i_var, from, to)
    for i = from, to do
      for j = 0, count - 1 do
        local idx = affine(i_var, 1, i)
        w.line("LG_MAC(a%d, w[%d][%s], x[%s]);", j, j, idx, idx)
      end
    end
  end
  local chunk = M.LINEAR_CHUNK
  local loops = chunked and (n_in // chunk) or 0
  if loops == 1 then
    macs(0, 0, chunk - 1)
  elseif loops > 1 then
    w.line("for (int i = 0; i < %d; i += %d) {", loops * chunk, chunk)
    macs("i", 0, chunk - 1)
    w.line("}")
  end
  macs(0, loops * chunk, n_in - 1)
  for j = 0, count - 1 do
    w.line("y[%s] = %s;", affine(first, 1, j), activation_expr(step.acts, "a" .. j))
  end
end

local function emit_linear_kernel(ctx, step, fname, in_flat, out_flat)
  local n_out = step.layer.out_features
  local block = M.MAC_BLOCK
  local full_blocks = n_out // block
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  if full_blocks == 1 then
    w.line("{")
    linear_block(ctx, w, step, 0, block, true)
    w.line("}")
  elseif full_blocks > 1 then
    w.line("for (int o = 0; o < %d; o += %d) {", full_blocks * block, block)
    linear_block(ctx, w, step, "o", block, true)
    w.line("}")
  end
  if n_out % block > 0 then
    w.line("{")
    linear_block(ctx, w, step, full_blocks * block, n_out % block, true)
    w.line("}")
  end
  w.line("}")
  add_function(ctx, w.text())
end

local function emit_linear_full(ctx, step, fname, in_flat, out_flat)
  local n_out = step.layer.out_features
  local calls = {}
  local block = math.max(1, math.min(M.MAC_BLOCK, M.FULL_FUNCTION_MACS // step.layer.in_shape[1]))
  for first = 0, n_out - 1, block do
    local sub = string.format("%s_out%d", fname, first)
    local w = render.writer()
    w.line("static void %s(const float *restrict %s, float *restrict %s)", sub, in_flat, out_flat)
    w.line("{")
    view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
    linear_block(ctx, w, step, first, math.min(block, n_out - first), false)
    w.line("}")
    add_function(ctx, w.text())
    calls[#calls + 1] = string.format("%s(%s, %s);", sub, in_flat, out_flat)
  end
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  for _, call in ipairs(calls) do w.line(call) end
  w.line("}")
  add_function(ctx, w.text())
end

local function emit_linear_none(ctx, step, fname, in_flat, out_flat)
  local layer = step.layer
  local w = render.writer()
  w.line("static void %s(const float *restrict %s, float *restrict %s)", fname, in_flat, out_flat)
  w.line("{")
  view_lines(w, step.in_shape, in_flat, step.out_shape, out_flat)
  w.line("for (int o = 0; o < %d; ++o) {", layer.out_features)
  w.line("float acc = %s;", layer.bias and (bias_name(ctx, layer) .. "[o]") or "0.0f")
  w.line("for (int i = 0; i < %d; ++i) {", layer.in_shape[1])
  w.line("LG_MAC(acc, %s[o][i], x[i]);", weight_name(ctx, layer))
  w.line("}")
  w.line("y[o] = %s;", activation_expr(step.acts, "acc"))
  w.line("}")
  w.line("}")
  add_function(ctx, w.text())
end

--------------------------------------------------------------------------------
-- elementwise copy (activations applied directly to the input)
--------------------------------------------------------------------------------
local function emit_copy(ctx, step, fname, in_flat, out_flat)
  local n = step.out_elements
  local w = render.writer()
  w.line("static void %s(const float *restrict x, float *restrict y)", fname)
  w.line("{")
  if step.unroll == "full" then
    for i = 0, n - 1 do w.line("y[%d] = %s;", i, activation_expr(step.acts, string.format("x[%d]", i))) end
  else
    w.line("for (int i = 0; i < %d; ++i) {", n)
    w.line("y[i] = %s;", activation_expr(step.acts, "x[i]"))
    w.line("}")
  end
  w.line("}")
  add_function(ctx, w.text())
  return in_flat, out_flat
end

local EMITTERS = {
  conv2d = { full = emit_conv_full, kernel = emit_conv_kernel, none = emit_conv_none },
  avgpool2d = { full = emit_pool_full, kernel = emit_pool_kernel, none = emit_pool_none },
  maxpool2d = { full = emit_pool_full, kernel = emit_pool_kernel, none = emit_pool_none },
  linear = { full = emit_linear_full, kernel = emit_linear_kernel, none = emit_linear_none },
}

--------------------------------------------------------------------------------
-- Comments, weights, helpers, file assembly
--------------------------------------------------------------------------------
local function layer_attributes(layer)
  local t = layer.type
  if t == "conv2d" then
    return string.format("out_channels %d, kernel %s, stride %s, padding %s, %s", layer.out_channels,
      pair(layer.kernel), pair(layer.stride), pair(layer.padding), layer.bias and "bias" or "no bias")
  elseif t == "linear" then
    return string.format("out_features %d, %s", layer.out_features, layer.bias and "bias" or "no bias")
  elseif t == "avgpool2d" or t == "maxpool2d" then
    return string.format("kernel %s, stride %s, padding %s%s", pair(layer.kernel), pair(layer.stride),
      pair(layer.padding), t == "avgpool2d" and ", padded zeros counted" or ", padding ignored")
  end
  return "elementwise"
end

local function buffer_text(ref, elements)
  if ref.kind == "arena" then
    return string.format("scratch[%d..%d]", ref.offset, ref.offset + elements - 1)
  end
  return ref.kind
end

local function step_comment(ctx, step)
  local lines = { "/*" }
  for _, layer in ipairs(step.layers) do
    -- no absolute path in generated code: an absolute description path shows as its file name
    local shown = ctx.model.path:sub(1, 1) == "/" and ctx.model.path:match("([^/]*)$") or ctx.model.path
    lines[#lines + 1] = string.format(" * layer %d (%s) %s:%s", layer.index, layer.type,
      render.comment_text(shown), layer.line or "?")
    local detail = string.format(" *   %s; %s -> %s", layer_attributes(layer), shape_text(layer.in_shape),
      shape_text(layer.out_shape))
    local macs = planner.layer_macs(layer)
    if macs > 0 then
      detail = detail .. string.format("; %d MACs, %d bytes of weights", macs, 4 * planner.layer_params(layer))
    end
    lines[#lines + 1] = detail
  end
  if step.pool then
    lines[#lines + 1] = string.format(" * fused: layer %d's %s output is pooled as it is computed and never stored",
      step.layer.index, shape_text(step.layer.out_shape))
  end
  local in_elements = planner.elements(step.in_shape)
  lines[#lines + 1] = string.format(" * unroll %s; reads %s (%d floats), writes %s (%d floats, %d bytes)",
    step.unroll, buffer_text(step.input, in_elements), in_elements, buffer_text(step.output, step.out_elements),
    step.out_elements, 4 * step.out_elements)
  lines[#lines + 1] = " */"
  return table.concat(lines, "\n")
end

local function tensor_sha(tensor)
  local digest = require("openssl.digest")
  local raw = digest.new("sha256"):final(tensor.raw)
  return (raw:gsub(".", function(ch) return string.format("%02x", ch:byte()) end))
end
M.sha256_hex = function(bytes)
  return tensor_sha({ raw = bytes })
end

--- A weight array, innermost rows wrapped at 8 values a line so a changed
-- weight changes one short line of the diff.
local function weight_array(cname, tensor, comment)
  local w = render.writer()
  w.line("/* %s */", comment)
  w.line("static const float %s%s = {", cname, dims(tensor.shape))
  local shape, data = tensor.shape, tensor.data
  if #shape == 1 then
    for i = 1, #data, 8 do
      local values = {}
      for j = i, math.min(i + 7, #data) do values[#values + 1] = render.float(data[j]) end
      w.line("    %s%s", table.concat(values, ", "), (i + 8 <= #data) and "," or "")
    end
    w.line("};")
    return w.text()
  end
  local inner = shape[#shape]
  local rows = #data // inner
  local outer_sizes = {}  -- product of trailing dims, to know when to open/close braces
  local prod = 1
  for i = #shape, 1, -1 do
    prod = prod * shape[i]
    outer_sizes[i] = prod
  end
  for r = 0, rows - 1 do
    local start = r * inner
    -- open a brace for every outer dimension whose block starts here
    local opened = 0
    for d = 2, #shape - 1 do
      if start % outer_sizes[d] == 0 then opened = opened + 1 end
    end
    local opens = string.rep("{", opened)
    local values = {}
    for i = 1, inner do values[i] = render.float(data[start + i]) end
    local chunks = {}
    for i = 1, #values, 8 do
      chunks[#chunks + 1] = table.concat(values, ", ", i, math.min(i + 7, #values))
    end
    local stop = start + inner
    local closes = 0
    for d = 2, #shape - 1 do
      if stop % outer_sizes[d] == 0 then closes = closes + 1 end
    end
    local tail = string.rep("}", closes) .. ((stop < #data) and "," or "")
    local indent = string.rep(" ", 4 + #shape - 1 - opened)
    if #chunks == 1 then
      w.line("%s%s{ %s }%s", indent, opens, chunks[1], tail)
    else
      w.line("%s%s{", indent, opens)
      for i, chunk in ipairs(chunks) do w.line("%s    %s%s", indent, chunk, i < #chunks and "," or "") end
      w.line("%s}%s", indent, tail)
    end
  end
  w.line("};")
  return w.text()
end

local ACT_DEFS = {
  -- Under -ffinite-math-only (-ffast-math, -Ofast) the compiler may assume e^-v is finite;
  -- gcc on x86 then divides vectors by a reciprocal estimate and a Newton step, which
  -- makes 1 / (1 + inf) NaN. So there v < -87.34 (sigmoid < 2^-126) returns 0 first.
  sigmoid = table.concat({
    "static float act_sigmoid(float v)",
    "{",
    "#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__",
    "    /* no infinity under -ffinite-math-only: e^-v must stay finite */",
    "    if (v < -0x1.5d589ep+6f) {",
    "        return 0.0f; /* sigmoid(v) < 2^-126 */",
    "    }",
    "#endif",
    "    return 1.0f / (1.0f + lenetgen_expf(-v));",
    "}",
  }, "\n"),
  tanh = "static float act_tanh(float v)\n{\n    return lenetgen_tanhf(v);\n}",
  relu = "static float act_relu(float v)\n{\n    return (v > 0.0f) ? v : 0.0f;\n}",
}

local function math_section(ctx)
  local need_exp = ctx.used_acts.sigmoid
  local need_tanh = ctx.used_acts.tanh
  local parts = {}
  -- with nothing transcendental (relu only, or no activation), no math helpers at all
  local need_math = need_exp or need_tanh
  if need_math and ctx.opts.math == "builtin" then
    parts[#parts + 1] = "/* --math=builtin: no libm; the error bounds are stated below. */"
    local select = {}
    if need_exp then select[#select + 1] = "#define LENETGEN_MATH_EXPF 1" end
    if need_tanh then select[#select + 1] = "#define LENETGEN_MATH_TANHF 1" end
    parts[#parts + 1] = table.concat(select, "\n") .. "\n" .. render.template("math_builtin.c")
  elseif need_math then
    parts[#parts + 1] = "/* --math=libm: the C library's expf and tanhf. */"
    if need_exp then
      parts[#parts + 1] = "static float lenetgen_expf(float v)\n{\n    return expf(v);\n}"
    end
    if need_tanh then
      parts[#parts + 1] = "static float lenetgen_tanhf(float v)\n{\n    return tanhf(v);\n}"
    end
  end
  for _, act in ipairs({ "relu", "sigmoid", "tanh" }) do
    if ctx.used_acts[act] then
      if ctx.any_full and act ~= "relu" then
        -- --unroll=full calls it from thousands of places; inlining every call
        -- costs compiler memory and code for little speed (LeNet-5 full, gcc 12
        -- -O2, x86-64: peak 2,099 MB -> 1,967 MB, code 8.5 MB -> 7.1 MB)
        parts[#parts + 1] = string.format("#if defined(__GNUC__)\nstatic float act_%s(float v) "
          .. "__attribute__((noinline));\n#endif", act)
      end
      parts[#parts + 1] = ACT_DEFS[act]
    end
  end
  if #parts == 0 then return nil end
  return table.concat(parts, "\n\n")
end

-- Stands for the generation id until both texts are complete; it cannot occur
-- in a C identifier, and the first occurrence after the banner is the template's.
local GENERATION_SLOT = "@generation@"

--- Fill in the generation id: the first 32 bits of the SHA-256 of both texts
-- after the banner (with the slot), so the same code gets the same id, and a
-- header and source of two different runs (kill -9 between the renames,
-- concurrent runs writing by another tool) differ in it and fail to compile
-- together. The banner is left out: files that differ only there (a comment of
-- the description, its path) are the same code and may be mixed.
local function with_generation(header, source, banner_bytes)
  local id = string.format("0x%sUL", M.sha256_hex(header:sub(banner_bytes + 1) .. "\0"
    .. source:sub(banner_bytes + 1)):sub(1, 8))
  local function fill(text)
    local at = assert(text:find(GENERATION_SLOT, banner_bytes + 1, true), "no generation slot")
    return text:sub(1, at - 1) .. id .. text:sub(at + #GENERATION_SLOT)
  end
  return { header = fill(header), source = fill(source) }
end

--- Generate the header and source text.
-- @param model model with weights; @param plan from lg.plan; @param opts
-- { math = "libm"|"builtin", manifest = banner text (already a C comment) }
-- @return { header = text, source = text }
function M.emit(model, plan, opts)
  local ctx = new_context(model, opts)
  local name, NAME = ctx.name, ctx.NAME

  -- weights
  local weight_parts = {}
  for _, layer in ipairs(model.layers) do
    if layer.weight then
      weight_parts[#weight_parts + 1] = weight_array(weight_name(ctx, layer), layer.weight,
        string.format("layer %d (%s) weight, tensor %q, sha256 %s", layer.index, layer.type,
          render.comment_text(layer.weight_name), tensor_sha(layer.weight)))
      if layer.bias_values then
        weight_parts[#weight_parts + 1] = weight_array(bias_name(ctx, layer), layer.bias_values,
          string.format("layer %d (%s) bias, tensor %q, sha256 %s", layer.index, layer.type,
            render.comment_text(layer.bias_name), tensor_sha(layer.bias_values)))
      end
    end
  end

  -- steps
  local step_parts = {}
  local calls = {}
  for _, step in ipairs(plan.steps) do
    note_acts(ctx, step.acts)
    note_acts(ctx, step.post_acts)
    if step.unroll == "full" then ctx.any_full = true end
    local first = step.layers[1] or step.layer
    local fname = string.format("%s_layer%d_%s", name, first and first.index or 0, step.kind)
    local before = #ctx.functions
    if step.kind == "copy" then
      emit_copy(ctx, step, fname, "x", "y")
    else
      EMITTERS[step.kind][step.unroll](ctx, step, fname, "input", "output")
    end
    local texts = {}
    for i = before + 1, #ctx.functions do texts[#texts + 1] = ctx.functions[i] end
    step_parts[#step_parts + 1] = step_comment(ctx, step) .. "\n" .. table.concat(texts, "\n\n")
    local function buf(ref)
      if ref.kind == "arena" then return string.format("scratch + %d", ref.offset) end
      return ref.kind
    end
    calls[#calls + 1] = string.format("%s(%s, %s);", fname, buf(step.input), buf(step.output))
    local trace_buf = (step.output.kind == "arena") and buf(step.output) or "output"
    calls[#calls + 1] = string.format("#if defined(%s_TRACE)\n%s_trace(%d, %s, %d);\n#endif",
      NAME, name, step.last_index, trace_buf, step.out_elements)
  end
  if plan.arena_floats == 0 then table.insert(calls, 1, "(void)scratch; /* no intermediate tensors */") end

  -- libm is the only header: --math=builtin code needs no library at all
  local includes = (opts.math == "builtin") and "" or "#include <math.h>\n\n"
  local sections = { render.render(render.template("source_head.c"), {
    banner = opts.manifest, name = name, NAME = NAME, arena_floats = tostring(plan.scratch_floats),
    includes = includes, generation = GENERATION_SLOT }) }
  local nonfinite = false
  for _, layer in ipairs(model.layers) do
    for _, t in ipairs({ layer.weight, layer.bias_values }) do
      for _, v in ipairs(t and t.data or {}) do
        if v ~= v or v == math.huge or v == -math.huge then nonfinite = true break end
      end
    end
  end
  if nonfinite then sections[#sections + 1] = render.NONFINITE_MACROS end
  sections[#sections + 1] = "/* Weights: static const, so they stay in flash on a microcontroller. */"
  for _, part in ipairs(weight_parts) do sections[#sections + 1] = part end
  local math_text = math_section(ctx)
  if math_text then sections[#sections + 1] = math_text end
  for _, part in ipairs(step_parts) do sections[#sections + 1] = part end
  sections[#sections + 1] = render.render(render.template("infer.c"), {
    name = name, NAME = NAME, calls = table.concat(calls, "\n") })
  local source = render.reindent(table.concat(sections, "\n\n"))

  -- header
  local macro_rows = {
    { "INPUT_CHANNELS", model.input.channels, "input channels" },
    { "INPUT_HEIGHT", model.input.height, "input rows" },
    { "INPUT_WIDTH", model.input.width, "input columns" },
    { "INPUT_SIZE", model.input.channels * model.input.height * model.input.width, "floats in one input" },
    { "OUTPUT_SIZE", planner.elements(model.output_shape), "floats in one output" },
    { "SCRATCH_FLOATS", plan.scratch_floats, "floats of scratch for _infer_scratch" },
    { "ACTIVATION_BYTES", 4 * plan.scratch_floats, "bytes of activation memory (input/output not counted)" },
    { "PARAMETERS", plan.params, "weights and biases" },
    { "WEIGHT_BYTES", 4 * plan.params, "bytes of static const weights" },
    { "MACS", plan.macs, "multiply-accumulates per inference (padding taps skipped)" },
  }
  local width = 0
  for _, row in ipairs(macro_rows) do width = math.max(width, #NAME + 1 + #row[1]) end
  local macro_lines = {}
  for _, row in ipairs(macro_rows) do
    local macro = NAME .. "_" .. row[1]
    macro_lines[#macro_lines + 1] = string.format("#define %s%s %-8s /* %s */", macro,
      string.rep(" ", width - #macro), tostring(row[2]), row[3])
  end
  local header = (render.render(render.template("header.h"), {
    banner = opts.manifest, guard = NAME .. "_H", name = name, NAME = NAME,
    macros = table.concat(macro_lines, "\n"), generation = GENERATION_SLOT }))
  return with_generation(header, source, #opts.manifest)
end

return M
