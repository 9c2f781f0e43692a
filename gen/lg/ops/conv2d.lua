--- conv2d: 2-D convolution over a C-H-W map, optionally with the pooling
-- layer after it fused in (plan "fused": the convolution's output is pooled
-- as it is computed and never stored).
local ckernel = require("lg.ckernel")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")
local render = require("lg.render")
local conv_rows = require("lg.ops.conv2d_rows")
local conv_macs = require("lg.ops.conv2d_macs")
local shared = require("lg.ops.shared")

local M = {}

M.types = { "conv2d" }
M.role = "compute"
M.int8 = true  -- emits --quantize=int8 code (see lg.int8emit)
M.fields = { type = true, out_channels = true, kernel = true, stride = true, padding = true,
             bias = true, weight = true, unroll = true, groups = true, dilation = true }

-- conv outputs one body keeps in registers, with the row's weights and one
-- input at a time beside them in a 32-register FPU. LeNet-5 on Cortex-M4F, QEMU
-- instruction count per inference, statements in input-pixel order (conv_body):
-- 8 accumulators 0.979 M, 12 give 0.875 M, 16 give 0.904 M, 24 give 0.959 M.
-- (In weight-major order, before, 16 was best: 0.965 M against 1.04 M for 8.)
M.MAX_ACCUMULATORS = 12
-- int8: int32 accumulators live in the 13 or so free core registers beside
-- the pointers, the loaded codes and the loop counters. LeNet-5 int8, QEMU
-- instructions per inference (with the base-tap pointer of mac_statements):
-- 4 accumulators give Cortex-M4F -O2 1.083 M, Cortex-M0+ code -O2 2.947 M,
-- RV32IMAC -O2 1.790 M; 8 give 1.175 M, 2.923 M, 1.703 M. Cortex-M4F decides.
M.MAX_ACCUMULATORS_INT8 = 4
-- int8 portable C on ARMv6-M (LG_ARMV6M): accumulators one pass over the
-- inputs feeds. Cortex-M0+ has 8 low registers: with 2, one pass holds them,
-- the input and weight pointers, a weight and an input code, and gcc chains the
-- MULS of adjacent taps (each weight and each input loaded once a row).
-- LeNet-5 int8, QEMU instructions per inference, Cortex-M0+ code -O2 (conv2
-- alone) / RV32IMAC -O2: 4 give 2,475,600 (1,253,171) / 1,704,995, 2 give
-- 2,342,840 (1,123,766) / 1,840,420. So 2 on ARMv6-M only; the other cores
-- without DSP (RV32, 31 registers) keep all MAX_ACCUMULATORS_INT8 in one pass.
M.ARMV6M_ACCUMULATORS_INT8 = 2

function M.check(v, raw, layer, fpath)
  shared.check_tensors(v, raw, layer, fpath, "out_channels", "channels", v.limits.max_channels)
  shared.check_window(v, raw, layer, fpath, false)
  layer.groups = 1
  if raw.groups ~= nil then
    layer.groups = v.int(raw.groups, fpath .. ".groups", "groups", 1, v.limits.max_channels, layer)
  end
end

--- The divisors of n, for a message.
local function divisors(n)
  local list = {}
  for d = 1, n do
    if n % d == 0 then list[#list + 1] = tostring(d) end
    if #list == 8 then list[#list + 1] = "..."; break end
  end
  return table.concat(list, ", ")
end

function M.infer(v, layer, shape, prev)
  local out = shared.infer_window(v, layer, shape, prev, layer.out_channels)
  local g, where = layer.groups, "layers." .. (layer.index + 1) .. ".groups"
  if shape[1] % g ~= 0 then
    v.fail(where, string.format("groups %d does not divide the %d input channels (input %s); use one of %s",
      g, shape[1], geometry.shape_text(shape), divisors(shape[1])), layer)
  end
  if layer.out_channels % g ~= 0 then
    v.fail(where, string.format("groups %d does not divide out_channels %d; make out_channels a multiple of %d "
      .. "(such as %d)", g, layer.out_channels, g, g * ((layer.out_channels + g - 1) // g)), layer)
  end
  return out
end

--- Input channels each output channel reads: in_channels / groups.
local function group_channels(layer)
  return layer.in_shape[1] // layer.groups
end

--- Only taps that fall inside the image are real work; padding taps are
-- skipped. A tap is inside when its row and its column are, so the count
-- over all positions is the product of the two axes' counts.
function M.macs(layer)
  local _, oh, ow = table.unpack(layer.out_shape)
  local c, h, w = table.unpack(layer.in_shape)
  local rows = geometry.axis_taps(oh, h, layer.kernel.h, layer.stride.h, layer.padding.top, layer.dilation.h)
  local cols = geometry.axis_taps(ow, w, layer.kernel.w, layer.stride.w, layer.padding.left, layer.dilation.w)
  return rows * cols * (c // layer.groups) * layer.out_channels
end

function M.params(layer)
  local n = layer.out_channels * group_channels(layer) * layer.kernel.h * layer.kernel.w
  return n + (layer.bias and layer.out_channels or 0)
end

function M.tensors(layer)
  return { layer.out_channels, group_channels(layer), layer.kernel.h, layer.kernel.w }, { layer.out_channels }
end

function M.attributes(layer)
  local extra = shared.dilation_text(layer)
  if layer.groups ~= 1 then
    local n = group_channels(layer)
    extra = extra .. string.format(", groups %d (%d input channel%s each)", layer.groups, n, n == 1 and "" or "s")
  end
  return string.format("out_channels %d, kernel %s, stride %s, padding %s%s, %s", layer.out_channels,
    geometry.pair_text(layer.kernel), geometry.pair_text(layer.stride), shared.padding_text(layer), extra,
    shared.bias_text(layer))
end

--------------------------------------------------------------------------------
-- Emission
--------------------------------------------------------------------------------

--- Sizes of a conv step; pk/ps are the fused pool's window (1x1 without one).
local function conv_geometry(step)
  local conv, pool = step.layer, step.pool
  local g = {
    c_in = group_channels(conv), h = conv.in_shape[2], w = conv.in_shape[3],
    groups = conv.groups, per_group = conv.out_channels // conv.groups,
    k = conv.kernel, s = conv.stride, p = geometry.leading(conv.padding), d = conv.dilation,
    oh = conv.out_shape[2], ow = conv.out_shape[3],
    pk = pool and pool.kernel or { h = 1, w = 1 },
    ps = pool and pool.stride or { h = 1, w = 1 },
    poh = step.out_shape[2], pow = step.out_shape[3],
  }
  -- window signature of a pooled row/column: the tap range of every conv
  -- position it covers
  local function key(pos, axis, size)
    local parts = {}
    for d = 0, g.pk[axis] - 1 do
      local a, b = geometry.tap_range(pos * g.ps[axis] + d, g.s[axis], g.p[axis], g.k[axis], size, g.d[axis])
      parts[#parts + 1] = a .. ":" .. b
    end
    return table.concat(parts, ",")
  end
  g.row_runs = function() return ckernel.runs(g.poh, function(py) return key(py, "h", g.h) end) end
  g.col_runs = function() return ckernel.runs(g.pow, function(px) return key(px, "w", g.w) end) end
  return g
end

--- How many horizontally adjacent positions one conv body computes: each
-- weight it loads then feeds that many more FMAs (register blocking), within
-- about 8 accumulators so they stay in registers on a 32-register FPU.
local function block_width(e, g)
  local window = g.pk.h * g.pk.w
  return math.max(1, math.min(4, (e.q and M.MAX_ACCUMULATORS_INT8 or M.MAX_ACCUMULATORS) // window))
end

--- One accumulator per conv output the body computes: `width` positions,
-- each a whole pool window when a pool is fused; declared with the bias.
local function accumulators(w, b, pooled)
  local g = b.g
  local acc = {}
  for k = 0, b.width - 1 do
    for dy = 0, g.pk.h - 1 do
      for dx = 0, g.pk.w - 1 do
        local name
        if pooled then
          name = (b.width > 1) and string.format("a%d_%d%d", k, dy, dx) or string.format("a%d%d", dy, dx)
        else
          name = (b.width > 1) and string.format("acc%d", k) or "acc"
        end
        local y_first, y_last = geometry.tap_range(b.row * g.ps.h + dy, g.s.h, g.p.h, g.k.h, g.h, g.d.h)
        local x_first, x_last = geometry.tap_range((b.col + k) * g.ps.w + dx, g.s.w, g.p.w, g.k.w, g.w, g.d.w)
        acc[#acc + 1] = { k = k, dy = dy, dx = dx, name = name,
                          y_first = y_first, y_last = y_last, x_first = x_first, x_last = x_last }
        local init = b.bias and string.format("int32_t %s = b[%d];", name,
          b.bias.rect(y_first, y_last, x_first, x_last)) or string.format("float %s = b;", name)
        w.line("%s /* conv output [%s][%s][%s] */", init, b.oc, ckernel.affine(b.py, g.ps.h, dy),
          ckernel.affine(b.px, g.ps.w, g.ps.w * k + dx))
      end
    end
  end
  return acc
end

--- The value a fused pool stores for one group of accumulators.
local function pooled_value(e, w, step, b, group, m)
  for _, a in ipairs(group) do
    if e.q then
      -- int8: each conv output is requantized (and its activations applied) before pooling
      w.line("%s = %s;", a.name, int8emit.activation_expr(e, step.act_layers,
        int8emit.requantize_expr(e, step.layer, a.name, b.oc), step.layer))
    elseif #step.acts > 0 then
      w.line("%s = %s;", a.name, ckernel.activation_expr(step.acts, a.name))
    end
  end
  if step.pool.type == "avgpool2d" then
    local names = {}
    for i, a in ipairs(group) do names[i] = a.name end
    if e.q then
      e.uses_average = true
      return string.format("lg_average(%s, %d)", table.concat(names, " + "), #group)
    end
    return ckernel.divide_by_count("(" .. table.concat(names, " + ") .. ")", #group)
  end
  if e.q then
    w.line("int32_t %s = %s;", m, group[1].name)
    for i = 2, #group do w.line("%s = (%s > %s) ? %s : %s;", m, group[i].name, m, group[i].name, m) end
    return "(int8_t)" .. m
  end
  w.line("float %s = %s;", m, group[1].name)
  for i = 2, #group do w.line("%s = (%s > %s) ? %s : %s;", m, group[i].name, m, group[i].name, m) end
  return m
end

--- Straight-line body computing b.width adjacent outputs (pooled positions
-- when a pool is fused) of output channel b.oc, starting at (b.py, b.px).
-- oc, py and px are loop variable names or numbers (numbers at
-- --unroll=full, so every subscript there is an integer literal); b.row and
-- b.col give the same position as numbers (for a loop, the first position of
-- the region: all positions of a region share their windows); b.loops asks for
-- the channel or kernel-row loop of the kernel level.
local function conv_body(e, w, step, b)
  local pooled = step.pool ~= nil
  local acc = accumulators(w, b, pooled)
  conv_macs.body_macs(w, b, acc, M.ARMV6M_ACCUMULATORS_INT8)
  local per_output = #acc // b.width
  for k = 0, b.width - 1 do
    local out_ref = string.format("y[%s][%s][%s]", b.oc, ckernel.affine(b.py, 1, 0), ckernel.affine(b.px, 1, k))
    local group = { table.unpack(acc, k * per_output + 1, (k + 1) * per_output) }
    if not pooled and e.q then
      w.line("%s = %s;", out_ref, int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers,
        int8emit.requantize_expr(e, step.layer, group[1].name, b.oc), step.layer)))
    elseif not pooled then
      w.line("%s = %s;", out_ref, ckernel.activation_expr(step.acts, group[1].name))
    elseif e.q then
      local value = pooled_value(e, w, step, b, group, (b.width > 1) and ("m" .. k) or "m")
      w.line("%s = %s;", out_ref, int8emit.store_expr(e, int8emit.activation_expr(e, step.post_act_layers, value)))
    else
      local value = pooled_value(e, w, step, b, group, (b.width > 1) and ("m" .. k) or "m")
      w.line("%s = %s;", out_ref, ckernel.activation_expr(step.post_acts, value))
    end
  end
end

--- The output channel's weights (w) and bias (b; int8: its row of the
-- bias table, one value per window shape).
local function channel_prologue(e, w, step, oc, bias, weights32)
  local layer = step.layer
  if e.q then
    w.line("const int8_t (*w)[%d][%d] = %s[%s];", layer.kernel.h, layer.kernel.w, e.weight_name(layer), oc)
    if weights32 then
      w.line("#ifdef LG_ARMV6M")
      w.line("const int32_t (*w32)[%d][%d] = %s[%s];", layer.kernel.h, layer.kernel.w, weights32.name(), oc)
      w.line("#endif")
    end
    w.line("const int32_t *b = %s[%s];", bias.name(), oc)
    return
  end
  w.line("const float (*w)[%d][%d] = %s[%s];", layer.kernel.h, layer.kernel.w, e.weight_name(layer), oc)
  if layer.bias then
    w.line("const float b = %s[%s];", e.bias_name(layer), oc)
  else
    w.line("const float b = 0.0f; /* no bias */")
  end
end

--- int8: the bias table of the step's window shapes, added once its
-- functions have registered them.
local function bias_registry(e, step)
  return e.q and int8emit.conv_bias(e, step.layer) or nil
end

local function add_bias_table(e, bias)
  if bias then e.add_table(bias.table()) end
end

--- An integer operand: negative ones parenthesised.
local function emit_int(n)
  return (n < 0) and string.format("(%d)", n) or tostring(n)
end

local function emit_kernel(e, step, fname)
  local g = conv_geometry(step)
  local bias = bias_registry(e, step)
  local pairs = e.q and int8emit.conv_pairs(e, step.layer) or nil
  local weights32 = e.q and int8emit.conv_weights32(e, step.layer) or nil
  ckernel.channel_loop_function(e, step, fname, "oc", step.layer.out_channels, function(w)
    channel_prologue(e, w, step, "oc", bias, weights32)
    ckernel.regions(w, g.row_runs(), g.col_runs(), "py", "px", step.pool and "pooled" or "output",
      block_width(e, g), function(py, px, row, col, width)
        conv_body(e, w, step, { g = g, oc = "oc", py = py, px = px, row = row, col = col, width = width,
                                loops = true, bias = bias, pairs = pairs, x_type = e.q and e.storage_in.ctype,
                                low_pair = e.q and int8emit.pair_helper(e, false),
                                high_pair = e.q and int8emit.pair_helper(e, true) })
      end)
  end)
  add_bias_table(e, bias)
  if pairs and pairs.table() then e.add_table(pairs.table()) end
  if weights32 then e.add_table(weights32.table()) end
end

local function emit_full(e, step, fname)
  local g = conv_geometry(step)
  local macs_per_position = g.pk.h * g.pk.w * g.c_in * g.k.h * g.k.w
  local width = math.max(1, math.min(block_width(e, g), ckernel.FULL_FUNCTION_MACS // macs_per_position))
  local bias = bias_registry(e, step)
  ckernel.full_parts(e, step, fname, function(part)
    for oc = 0, step.layer.out_channels - 1 do
      for py = 0, g.poh - 1 do
        for px = 0, g.pow - 1, width do
          part(string.format("_oc%d_y%d_x%d", oc, py, px), function(w)
            channel_prologue(e, w, step, oc, bias)
            conv_body(e, w, step, { g = g, oc = oc, py = py, px = px, row = py, col = px,
                                    width = math.min(width, g.pow - px), loops = false, bias = bias })
          end)
        end
      end
    end
  end)
  add_bias_table(e, bias)
end

local function emit_none(e, step, fname)
  local g = conv_geometry(step)
  local vars = ckernel.none_vars(step, fname, g, e.value_type, ckernel.view_types(e))
  local bias = bias_registry(e, step)
  local p = render.writer()
  channel_prologue(e, p, step, "oc", bias)
  vars.prologue, vars.out_channels, vars.c_in = p.text(), tostring(step.layer.out_channels), tostring(g.c_in)
  local tap = string.format("x[%s][%s][%s]", conv_rows.input_channel(g, "oc", "c"), vars.iy, vars.ix)
  if e.q then
    -- plain loops: the raw bias, and the input zero point subtracted at every tap
    vars.acc_init = string.format("int32_t acc = b[%d];", bias.rect())
    vars.mac = string.format("acc += (int32_t)w[c][ky][kx] * ((int32_t)%s - %s);", tap,
      emit_int(int8emit.stored_zero_point(e, step.layer)))
    vars.value = int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers,
      int8emit.requantize_expr(e, step.layer, "acc", "oc"), step.layer))
  else
    vars.acc_init = "float acc = b;"
    vars.mac = string.format("LG_MAC(acc, w[c][ky][kx], %s);", tap)
    vars.value = ckernel.activation_expr(step.acts, "acc")
  end
  vars.iy, vars.ix = nil, nil  -- in vars.mac: the template has no holes for them
  ckernel.emit_none(e, "conv_none.c", vars)
  add_bias_table(e, bias)
end

M.emit = { full = emit_full, kernel = emit_kernel, none = emit_none }

return M
