--- conv2d's multiply-accumulates of one body: the loops over input
-- channels and kernel rows, the float and LG_DSP statements
-- (mac_statements) and the portable int8 ones (portable_macs, in passes on
-- ARMv6-M). Split from lg.ops.conv2d, which assembles the bodies.
local ckernel = require("lg.ckernel")
local conv_rows = require("lg.ops.conv2d_rows")

local M = {}

--- The straight-line rows of a kernel-level body (b.loops): "ky" when every
-- accumulator sees the whole kernel height (a loop over kernel rows), else
-- the row numbers.
local function kernel_rows(b, acc, allow_loop)
  local g = b.g
  local row_loop = b.loops and allow_loop and g.k.h > 1
  for _, a in ipairs(acc) do
    row_loop = row_loop and a.y_first == 0 and a.y_last == g.k.h - 1
  end
  local rows = row_loop and { "ky" } or {}
  if not row_loop then
    for ky = 0, g.k.h - 1 do rows[#rows + 1] = ky end
  end
  return rows, row_loop
end

--- Every multiply-accumulate of the body. Each weight is loaded once and
-- used by every accumulator whose window holds it; at kernel level the input
-- channels are a loop around the straight-line window (one window's worth of
-- loads per iteration keeps the body small enough for the register allocator
-- and stops compilers hoisting every weight of the layer out of the position
-- loops). dsp_only (int8): only the LG_DSP statements, the portable ones are
-- portable_macs'.
local function window_loops(w, b, acc, portable, each_channel)
  local g = b.g
  local channel_loop = b.loops and g.c_in > 1
  -- a single input channel has no channel loop; where every accumulator sees
  -- the whole kernel height, loop over kernel rows instead, for the same
  -- reason (the portable int8 bodies: as well)
  local rows, row_loop = kernel_rows(b, acc, portable or not channel_loop)
  local base = (b.bias and b.loops) and conv_rows.base_tap(b, acc, rows, row_loop) or nil
  if base and base.iy == math.huge then
    base = nil  -- only padding taps: no MAC reads the input
    if portable then return end
  end
  local channels = channel_loop and { "c" } or {}
  if not channel_loop then
    for c = 0, g.c_in - 1 do channels[#channels + 1] = c end
  end
  if channel_loop then w.line("for (int c = 0; c < %d; ++c) {", g.c_in) end
  if row_loop then w.line("for (int ky = 0; ky < %d; ++ky) {", g.k.h) end
  for _, c in ipairs(channels) do
    if base then
      w.line("const %s *xc = &x[%s][%s][%s];", b.x_type, conv_rows.input_channel(g, b.oc, c),
        ckernel.affine(b.py, g.ps.h * g.s.h, base.iy, row_loop and ckernel.scaled("ky", g.d.h) or nil),
        ckernel.affine(b.px, g.ps.w * g.s.w, base.ix))
    end
    each_channel(c, rows, row_loop, base)
  end
  if row_loop then w.line("}") end
  if channel_loop then w.line("}") end
end

local function mac_statements(w, b, acc, dsp_only)
  local g = b.g
  if dsp_only and g.c_in == 1 then
    -- The DSP path unrolls the kernel rows of a single input channel: the
    -- input rows the pooled window's conv rows share (kernel row ky of conv
    -- row 0 and ky - 1 of conv row 1) are then read and split once.
    local _, row_loop = kernel_rows(b, acc, true)
    local all_rows = {}
    for ky = 0, g.k.h - 1 do all_rows[#all_rows + 1] = ky end
    local base = row_loop and conv_rows.base_tap(b, acc, all_rows, false) or nil
    if base and base.iy ~= math.huge then
      w.line("const %s *xc = &x[%s][%s][%s];", b.x_type, conv_rows.input_channel(g, b.oc, 0),
        ckernel.affine(b.py, g.ps.h * g.s.h, base.iy), ckernel.affine(b.px, g.ps.w * g.s.w, base.ix))
      conv_rows.channel_dsp(w, b, acc, 0, all_rows, false, base)
      return
    end
  end
  window_loops(w, b, acc, false, function(c, rows, row_loop, base)
    if dsp_only then
      conv_rows.channel_dsp(w, b, acc, c, rows, row_loop, base)
    else
      for _, ky in ipairs(rows) do conv_rows.kernel_row(w, b, acc, c, ky, row_loop, base) end
    end
  end)
end

--- int8 at kernel level, portable C (every core without LG_DSP: Cortex-M0+,
-- RV32, the host): loops over the input channels and, where every
-- accumulator sees the whole kernel height, the kernel rows, around one
-- kernel row of statements in weight order: each weight is loaded once and
-- multiplied by every accumulator's input, read at a small constant offset
-- from the row's base tap (on ARMv6-M an LDRB with an immediate offset, 0 to
-- 31: the uint8 storage of lg.int8emit makes the signed LDRSB, register
-- offset only, unnecessary), so a multiply-accumulate is LDRB, MULS, ADDS.
local function portable_macs(w, b, acc)
  window_loops(w, b, acc, true, function(c, rows, row_loop, base)
    for _, ky in ipairs(rows) do conv_rows.kernel_row(w, b, acc, c, ky, row_loop, base, true) end
  end)
end

--- portable_macs in passes of at most `count` accumulators.
local function portable_passes(w, b, acc, count)
  local passes = {}
  for i = 1, #acc, count do passes[#passes + 1] = { table.unpack(acc, i, math.min(i + count - 1, #acc)) } end
  for _, pass in ipairs(passes) do
    -- a block each: at the kernel rows' level (no loop) every pass declares its xc
    if #passes > 1 then w.line("{") end
    portable_macs(w, b, pass)
    if #passes > 1 then w.line("}") end
  end
end

--- The multiply-accumulates of a body: float and --unroll=full as
-- mac_statements; int8 kernel level portable_macs, beside the LG_DSP
-- statements where a kernel row is 4 taps wide or more, and in passes of
-- ARMV6M_ACCUMULATORS_INT8 under LG_ARMV6M (templates/source_head_int8.c).
function M.body_macs(w, b, acc, armv6m_accumulators)
  local g = b.g
  if not (b.bias and b.loops) then
    mac_statements(w, b, acc)
    return
  end
  -- the DSP pairs: groups 1 and dilation 1 only (the scalar statements otherwise)
  local dsp = b.pairs and g.groups == 1 and g.d.h == 1 and g.d.w == 1 and g.k.w >= 4
  if dsp then
    w.line("#ifdef LG_DSP")
    mac_statements(w, b, acc, true)
  end
  -- ARMv6-M: the weights as int32 (w32, int8emit.conv_weights32): LDR has an
  -- immediate offset, LDRSB only a register one (one instruction per weight
  -- instead of two)
  w.line(dsp and "#elif defined(LG_ARMV6M)" or "#ifdef LG_ARMV6M")
  w.line("(void)w;")
  local b32 = setmetatable({ weight_var = "w32" }, { __index = b })
  portable_passes(w, b32, acc, armv6m_accumulators)
  w.line("#else")
  portable_macs(w, b, acc)
  w.line("#endif")
end

return M
