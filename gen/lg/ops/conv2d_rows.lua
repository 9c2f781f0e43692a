--- conv2d's multiply-accumulate statements of one kernel row: the taps in
-- input order (row_macs), written as scalar LG_MAC statements (float, and int8
-- through a base-tap pointer) or, on the int8 DSP path (LG_DSP), as __smlad on
-- int16 pairs. Split from lg.ops.conv2d, which assembles bodies from them.
local ckernel = require("lg.ckernel")

local M = {}

--- The input channel that channel c of output channel oc's group reads:
-- c itself without groups; else the group's first channel, (oc / (out_channels
-- / groups)) * (in_channels / groups), plus c. oc and c are numbers at
-- --unroll=full (the index is then a literal) or loop variable names.
function M.input_channel(g, oc, c)
  if g.groups == 1 then return c end
  if type(oc) == "number" and type(c) == "number" then return (oc // g.per_group) * g.c_in + c end
  local first = (g.per_group == 1) and oc or string.format("(%s / %d)", oc, g.per_group)
  if g.c_in > 1 then first = string.format("(%d * %s)", g.c_in, first) end
  if c == 0 then return first end
  return string.format("%s + %s", first, c)
end

--- The multiply-accumulates of one kernel row ky of input channel c, in the
-- order they are emitted, each with the constant parts of its input row and
-- column (iy, ix: the position's and, with row_loop, the ky loop's terms aside).
-- Within one kernel row of one input channel the statements go in input
-- pixel order (row, then column), each pixel feeding every accumulator that
-- reads it: a pixel is then live for a few statements only and the row's
-- kw weights stay in registers, so each pixel and each weight is loaded once
-- (weight-major order keeps every pixel live across the whole row and makes
-- the register allocator reload it). weight_order = true keeps them in weight
-- order instead, (kx, then accumulator), for the int8 portable bodies.
function M.row_macs(b, acc, ky, row_loop, weight_order)
  local g = b.g
  local macs = {}
  for kx = 0, g.k.w - 1 do
    for i, a in ipairs(acc) do
      local ky_ok = row_loop or (ky >= a.y_first and ky <= a.y_last)
      if ky_ok and kx >= a.x_first and kx <= a.x_last then
        local col_offset = (a.k * g.ps.w + a.dx) * g.s.w + kx * g.d.w
        macs[#macs + 1] = { a = a, kx = kx, row = a.dy * g.s.h, col = col_offset, order = i,
                            iy = a.dy * g.s.h - g.p.h + (row_loop and 0 or ky * g.d.h), ix = col_offset - g.p.w }
      end
    end
  end
  if weight_order then return macs end  -- (kx, then accumulator): each weight's uses together
  table.sort(macs, function(m, n)
    if m.row ~= n.row then return m.row < n.row end
    if m.col ~= n.col then return m.col < n.col end
    return m.order < n.order
  end)
  return macs
end

--- The statements of row_macs (weight_order: see there). With base (int8
-- loops), every input is read through the pointer xc to the base tap, at a
-- constant offset: compilers then address each tap as xc plus an immediate
-- instead of keeping (and spilling) one pointer per tap.
function M.kernel_row(w, b, acc, c, ky, row_loop, base, weight_order)
  local g = b.g
  for _, m in ipairs(M.row_macs(b, acc, ky, row_loop, weight_order)) do
    local a, kx = m.a, m.kx
    if base then
      w.line("LG_MAC(%s, %s[%s][%s][%d], xc[%d]);", a.name, b.weight_var or "w", c, ky, kx,
        (m.iy - base.iy) * g.w + m.ix - base.ix)
    else
      local iy
      if row_loop then
        iy = ckernel.affine(b.py, g.ps.h * g.s.h, m.iy, ckernel.scaled("ky", g.d.h))
      else
        iy = ckernel.affine(b.py, g.ps.h * g.s.h, m.iy)
      end
      local ix = ckernel.affine(b.px, g.ps.w * g.s.w, m.ix)
      w.line("LG_MAC(%s, w[%s][%s][%d], x[%s][%s][%s]);", a.name, c, ky, kx, M.input_channel(g, b.oc, c), iy, ix)
    end
  end
end

--- The DSP variant of kernel_row (int8 loops with a base tap, dilation 1 in
-- x). The body's inputs of a row are read as 32-bit words at even columns
-- from the base tap, each split by lg_low_pair and lg_high_pair into the int16
-- pairs (x[q], x[q + 2]) and (x[q + 1], x[q + 3]), so adjacent accumulators
-- share the words (and the compiler loads and splits each once). Four
-- consecutive taps of an accumulator from column c are the pairs (c, c + 2)
-- and (c + 1, c + 3), two __smlad on weights packed as int16 pairs; another
-- tap at column c is the high half of the pair (c - 2, c) against the weight
-- pair (0, w) where that pair can be read, else an LG_MAC. A word is read only where all its four codes are inside
-- the body's columns (col_max: the last one any real tap reads), so inside
-- the image. Appends { offset, text } to `out`.
function M.kernel_row_dsp(out, b, acc, c, ky, row_loop, base, col_max)
  local g = b.g
  local by_acc = {}
  for _, m in ipairs(M.row_macs(b, acc, ky, row_loop)) do
    local list = by_acc[m.a]
    if not list then list = {}; by_acc[m.a] = list end
    list[#list + 1] = m
  end
  local function pair(row, col)  -- the pair (col, col + 2) of the row, or nil
    local q = col - col % 2
    if q + 3 > col_max then return nil end
    return string.format("%s(xc + %d)", (col % 2 == 0) and b.low_pair or b.high_pair, row * g.w + q)
  end
  local function smlad(a, x, slot, offset)
    out[#out + 1] = { offset = offset, text = string.format("%s = __smlad(%s, wpair[%s][%d], %s);", a.name, x,
      ky, slot, a.name) }
  end
  for _, a in ipairs(acc) do
    local list = by_acc[a] or {}
    table.sort(list, function(m, n) return m.kx < n.kx end)
    local i = 1
    while i <= #list do
      local m = list[i]
      local row, col = m.iy - base.iy, m.ix - base.ix
      local offset = row * g.w + col
      local first, second = pair(row, col), pair(row, col + 1)
      if i + 3 <= #list and list[i + 3].kx == m.kx + 3 and first and second then
        smlad(a, first, b.pairs.slot(m.kx), offset)
        smlad(a, second, b.pairs.slot(m.kx + 1), offset + 1)
        i = i + 4
      elseif col >= 2 and pair(row, col - 2) then
        -- a tap left over: the high half of the pair (col - 2, col), which the
        -- accumulators beside it split anyway, against the weight pair (0, w)
        smlad(a, pair(row, col - 2), b.pairs.high_single(m.kx), offset)
        i = i + 1
      else
        out[#out + 1] = { offset = offset, text = string.format("LG_MAC(%s, wpair[%s][%d], xc[%d]);", a.name,
          ky, b.pairs.single(m.kx), offset) }
        i = i + 1
      end
    end
  end
end

--- The DSP statements of input channel c, in input order (a word's pairs
-- are used by every accumulator that reads them while they are in registers).
-- They read the channel's weight pairs through wpair, a pointer to its kernel
-- rows (the column count is the table's, known only once every body is
-- written: sizeof). Without a channel loop (c a number) the pairs are
-- invariant in the position loops: wpair is then made opaque by LG_OPAQUE
-- (templates/source_head_int8.c), so they are loaded where used, not hoisted
-- and spilled (LeNet-5 conv2, in a channel loop, gains nothing: 4,367 more).
function M.channel_dsp(w, b, acc, c, rows, row_loop, base)
  local name = b.pairs.name()
  w.line("const int32_t (*wpair)[sizeof %s[0][0][0] / sizeof %s[0][0][0][0]] = %s[%s][%s];", name, name, name,
    b.oc, c)
  if type(c) == "number" then w.line("LG_OPAQUE(wpair);") end
  local col_max = -1
  for _, ky in ipairs(rows) do
    for _, m in ipairs(M.row_macs(b, acc, ky, row_loop)) do col_max = math.max(col_max, m.ix - base.ix) end
  end
  local statements = {}
  for _, ky in ipairs(rows) do M.kernel_row_dsp(statements, b, acc, c, ky, row_loop, base, col_max) end
  for i, st in ipairs(statements) do st.index = i end
  table.sort(statements, function(m, n)
    if m.offset ~= n.offset then return m.offset < n.offset end
    return m.index < n.index
  end)
  for _, st in ipairs(statements) do w.line("%s", st.text) end
  w.line("(void)w; /* the DSP path reads its weights from the weight pairs */")
end

--- int8 loops: the smallest constant row and column any tap of the body
-- reads. Both are inside the image (each is some real tap's), so the tap
-- (row, column) is too and every offset from it is nonnegative. math.huge
-- when every tap of the body is padding.
function M.base_tap(b, acc, rows, row_loop)
  local base = { iy = math.huge, ix = math.huge }
  for _, ky in ipairs(rows) do
    for _, m in ipairs(M.row_macs(b, acc, ky, row_loop)) do
      base.iy, base.ix = math.min(base.iy, m.iy), math.min(base.ix, m.ix)
    end
  end
  return base
end

return M
