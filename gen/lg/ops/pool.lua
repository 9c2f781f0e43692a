--- avgpool2d and maxpool2d on their own (a pooling the plan fuses into the
-- convolution before it is emitted by lg.ops.conv2d). Padded zeros count in
-- the average, as in PyTorch's default; max-pool ignores the padding.
local ckernel = require("lg.ckernel")
local geometry = require("lg.geometry")
local render = require("lg.render")
local int8emit = require("lg.int8emit")
local shared = require("lg.ops.shared")

local M = {}

M.types = { "avgpool2d", "maxpool2d" }
M.role = "compute"
M.int8 = true  -- emits --quantize=int8 code (see lg.int8emit)
M.fields = { type = true, kernel = true, stride = true, padding = true, unroll = true, dilation = true,
             ceil_mode = true, count_include_pad = true }

function M.check(v, raw, layer, fpath)
  local is_avg = layer.type == "avgpool2d"
  if is_avg and raw.dilation ~= nil then
    v.fail(fpath .. ".dilation", "avgpool2d has no dilation (PyTorch's AvgPool2d has none); remove it, or use "
      .. "maxpool2d", layer)
  end
  if not is_avg and raw.count_include_pad ~= nil then
    v.fail(fpath .. ".count_include_pad", "count_include_pad applies to avgpool2d only (max-pool never takes a "
      .. "padded value); remove it", layer)
  end
  shared.check_window(v, raw, layer, fpath, true)
  layer.ceil_mode = shared.check_flag(v, raw, layer, fpath, "ceil_mode", false)
  if is_avg then layer.count_include_pad = shared.check_flag(v, raw, layer, fpath, "count_include_pad", true) end
  -- PyTorch refuses pooling padding above half the kernel: a window could then
  -- lie entirely in the padding, where max-pool has no value to take.
  local p = layer.padding
  if p and (2 * math.max(p.top, p.bottom) > layer.kernel.h or 2 * math.max(p.left, p.right) > layer.kernel.w) then
    v.fail(fpath .. ".padding", string.format("padding %s is more than half of kernel %s "
      .. "(PyTorch refuses this too); use padding %dx%d or less", geometry.padding_text(p),
      geometry.pair_text(layer.kernel), layer.kernel.h // 2, layer.kernel.w // 2), layer)
  end
end

--- Does any output take no input value (its window wholly in the padding)?
-- Max-pool would have nothing to take, an average without padded zeros would
-- divide by zero. Returns the axis and position of the first such output.
local function empty_window(layer)
  for i, a in ipairs(shared.AXES) do
    local size = layer.in_shape[i + 1]
    for o = 0, layer.out_shape[i + 1] - 1 do
      local first, last = geometry.tap_range(o, layer.stride[a.axis], layer.padding[a.first], layer.kernel[a.axis],
        size, layer.dilation[a.axis])
      if last < first then return a, o end
    end
  end
end

function M.infer(v, layer, shape, prev)
  local out = shared.infer_window(v, layer, shape, prev, nil)
  if layer.type == "maxpool2d" or not layer.count_include_pad then
    local a, o = empty_window({ in_shape = shape, out_shape = out, stride = layer.stride, padding = layer.padding,
      kernel = layer.kernel, dilation = layer.dilation })
    if a then
      local window = string.format("the window of output %s %d lies wholly in the padding", (a.axis == "h") and "row"
        or "column", o)
      local why = layer.type == "maxpool2d" and "max-pool has no value to take there"
        or "count_include_pad = false would divide by zero"
      local where = "layers." .. (layer.index + 1) .. ".padding"
      if layer.padding_mode then
        v.fail(where, string.format("padding %s cannot be met here: %s, so %s; use a smaller padding or dilation",
          shared.padding_text(layer), window, why), layer)
      end
      v.fail(where, string.format("%s (padding %s%s), so %s; use less padding or dilation", window,
        shared.padding_text(layer), shared.dilation_text(layer), why), layer)
    end
  end
  return out
end

function M.attributes(layer)
  local tail = ", padding ignored"
  if layer.type == "avgpool2d" then
    tail = layer.count_include_pad and ", padded zeros counted" or ", padded zeros not counted (count_include_pad false)"
  end
  return string.format("kernel %s, stride %s, padding %s%s%s%s", geometry.pair_text(layer.kernel),
    geometry.pair_text(layer.stride), shared.padding_text(layer), shared.dilation_text(layer),
    layer.ceil_mode and ", ceil_mode" or "", tail)
end

--- Can this pooling layer be computed inside the preceding convolution?
-- Only non-overlapping, undilated, unpadded windows that all lie inside the
-- input (ceil_mode may add one that does not): each convolution output then
-- feeds exactly one pooled value and is computed exactly once.
function M.fusable(pool)
  local p = pool.padding
  local inside = true
  for i, a in ipairs(shared.AXES) do
    inside = inside and (pool.out_shape[i + 1] - 1) * pool.stride[a.axis] + pool.kernel[a.axis] <= pool.in_shape[i + 1]
  end
  return p.top == 0 and p.left == 0 and p.bottom == 0 and p.right == 0 and inside
    and pool.dilation.h == 1 and pool.dilation.w == 1
    and pool.stride.h >= pool.kernel.h and pool.stride.w >= pool.kernel.w
end

--------------------------------------------------------------------------------
-- Emission
--------------------------------------------------------------------------------
--- Values an average divides output position o of one axis by: the taps
-- inside the padded input (count_include_pad, PyTorch's default; a ceil_mode
-- window hanging past the padding has fewer) or inside the input itself.
local function axis_divisor(g, axis, o)
  if g.count_include_pad then
    return geometry.padded_taps(o, g.s[axis], g.p[axis], g.pe[axis], g.k[axis], g.size[axis])
  end
  local first, last = geometry.tap_range(o, g.s[axis], g.p[axis], g.k[axis], g.size[axis], g.d[axis])
  return last - first + 1
end

local function pool_geometry(step)
  local layer = step.layer
  local g = {
    c = layer.in_shape[1], h = layer.in_shape[2], w = layer.in_shape[3],
    k = layer.kernel, s = layer.stride, p = geometry.leading(layer.padding), d = layer.dilation,
    pe = { h = layer.padding.bottom, w = layer.padding.right },
    size = { h = layer.in_shape[2], w = layer.in_shape[3] },
    oh = layer.out_shape[2], ow = layer.out_shape[3],
    is_avg = layer.type == "avgpool2d", count_include_pad = layer.count_include_pad,
  }
  -- per-axis divisors of an average, and whether every window has the whole kernel's
  g.divisor = { h = {}, w = {} }
  g.uniform = true
  for _, a in ipairs({ { "h", g.oh }, { "w", g.ow } }) do
    for o = 0, a[2] - 1 do
      local n = g.is_avg and axis_divisor(g, a[1], o) or g.k[a[1]]
      g.divisor[a[1]][o] = n
      g.uniform = g.uniform and n == g.k[a[1]]
    end
  end
  return g
end

--- The value an average stores at output (row, col): the sum over its divisor.
local function average(g, row, col)
  return ckernel.divide_by_count("s", g.divisor.h[row] * g.divisor.w[col])
end

--- int8: the stored value of a window's sum s (average) or maximum m. An
-- average divides by `count`, the window's divisor (see axis_divisor), its
-- `padded` taps in the padding counting as the zero point, the code of 0.0
-- (both C expressions at --unroll=none). s sums the stored values of the
-- count - padded real taps: less that many times the storage offset it is
-- the sum of their codes, and the rounding is on that signed sum.
local function int8_pool_value(e, step, g, padded, count)
  local in_offset, out_offset = e.storage_in.offset, e.storage_out.offset
  if not g.is_avg and #step.act_layers == 0 and in_offset == out_offset then
    return string.format("(%s)m", e.storage_out.ctype)  -- the maximum of the stored values is stored
  end
  local value = (in_offset == 0) and "(int8_t)m" or string.format("(int8_t)(m - %d)", in_offset)
  if g.is_avg then
    e.uses_average = true
    -- codes = s - count * offset + padded * (zero point + offset)
    local zs = int8emit.stored_zero_point(e, step.layer)
    local sum, add = "s", 0
    local function term(factor, scale)
      if scale == 0 then return end
      if type(factor) == "number" then
        add = add + factor * scale
      else
        sum = string.format("%s + ((%s) * %s)", sum, factor, (scale < 0) and string.format("(%d)", scale) or tostring(scale))
      end
    end
    term(count, -in_offset)
    term(padded, zs)
    if add ~= 0 then sum = (add < 0) and string.format("%s - %d", sum, -add) or string.format("%s + %d", sum, add) end
    value = string.format("lg_average(%s, %s)", sum, count)
  end
  return int8emit.store_expr(e, int8emit.activation_expr(e, step.act_layers, value))
end

--- The stored value of a window's sum s (average) or maximum m at output
-- (row, col), of which `taps` lie inside the input.
local function pool_value(e, step, g, taps, row, col)
  if not e.q then
    return ckernel.activation_expr(step.acts, g.is_avg and average(g, row, col) or "m")
  end
  local count = g.divisor.h[row] * g.divisor.w[col]
  return int8_pool_value(e, step, g, count - taps, count)
end

--- One output: its window's valid taps, straight-line (validation made sure
-- that at least one tap of every window is valid).
local function pool_body(e, w, step, g, c, oy, ox, row, col)
  local y_first, y_last = geometry.tap_range(row, g.s.h, g.p.h, g.k.h, g.h, g.d.h)
  local x_first, x_last = geometry.tap_range(col, g.s.w, g.p.w, g.k.w, g.w, g.d.w)
  local is_avg = g.is_avg
  local var = is_avg and "s" or "m"
  local acc_type = e.q and "int32_t" or "float"
  for ky = y_first, y_last do
    for kx = x_first, x_last do
      local ref = string.format("x[%s][%s][%s]", c, ckernel.affine(oy, g.s.h, ky * g.d.h - g.p.h),
        ckernel.affine(ox, g.s.w, kx * g.d.w - g.p.w))
      if ky == y_first and kx == x_first then
        w.line("%s %s = %s;", acc_type, var, ref)
      elseif is_avg then
        w.line("s += %s;", ref)
      else
        w.line("m = (%s > m) ? %s : m;", ref, ref)
      end
    end
  end
  local taps = (y_last - y_first + 1) * (x_last - x_first + 1)
  w.line("y[%s][%s][%s] = %s;", c, ckernel.affine(oy, 1, 0), ckernel.affine(ox, 1, 0),
    pool_value(e, step, g, taps, row, col))
end

local function emit_kernel(e, step, fname)
  local g = pool_geometry(step)
  ckernel.channel_loop_function(e, step, fname, "c", g.c, function(w)
    ckernel.regions(w,
      ckernel.axis_runs(g.oh, g.s.h, g.p.h, g.k.h, g.h, g.d.h, function(o) return g.divisor.h[o] end),
      ckernel.axis_runs(g.ow, g.s.w, g.p.w, g.k.w, g.w, g.d.w, function(o) return g.divisor.w[o] end),
      "oy", "ox", "output", 1, function(oy, ox, row, col)
        pool_body(e, w, step, g, "c", oy, ox, row, col)
      end)
  end)
end

local function emit_full(e, step, fname)
  local g = pool_geometry(step)
  ckernel.full_parts(e, step, fname, function(part)
    for c = 0, g.c - 1 do
      part(string.format("_c%d", c), function(w)
        for oy = 0, g.oh - 1 do
          for ox = 0, g.ow - 1 do
            w.line("{")
            pool_body(e, w, step, g, c, oy, ox, oy, ox)
            w.line("}")
          end
        end
      end)
    end
  end)
end

--- A constant table of one axis's divisors (--unroll=none, when they vary).
-- float counts: the product of two (exact, small) counts is the divisor with
-- no cast of a composite expression (MISRA C:2012 Rule 10.8)
local function divisor_table(name, divisors, count)
  local values = {}
  for o = 0, count - 1 do values[#values + 1] = render.float(divisors[o]) end
  return string.format("static const float %s[%d] = { %s };", name, count, table.concat(values, ", "))
end

--- The same as int constants (int8: the divisor of an integer division).
local function int_divisor_table(name, divisors, count)
  local values = {}
  for o = 0, count - 1 do values[#values + 1] = tostring(divisors[o]) end
  return string.format("static const int %s[%d] = { %s };", name, count, table.concat(values, ", "))
end

local function emit_none(e, step, fname)
  local g = pool_geometry(step)
  local vars = ckernel.none_vars(step, fname, g, e.value_type, ckernel.view_types(e))
  local acc_type = e.q and "int32_t" or "float"
  vars.channels = tostring(g.c)
  if e.q then
    -- int8: the window's padded taps count as the zero point
    local taps = "(ky_end[oy] - ky_begin[oy]) * (kx_end[ox] - kx_begin[ox])"
    if not g.is_avg or g.uniform then
      vars.value = int8_pool_value(e, step, g, string.format("%d - (%s)", g.k.h * g.k.w, taps), g.k.h * g.k.w)
    elseif not g.count_include_pad then
      vars.value = int8_pool_value(e, step, g, 0, taps)
    else
      -- ceil_mode windows hanging past the padding: integer divisor tables
      vars.tables = table.concat({ vars.tables, int_divisor_table("ky_count", g.divisor.h, g.oh),
        int_divisor_table("kx_count", g.divisor.w, g.ow) }, "\n")
      vars.value = int8_pool_value(e, step, g, "ky_count[oy] * kx_count[ox] - " .. taps, "ky_count[oy] * kx_count[ox]")
    end
  else
    local value = "m"
    if g.is_avg and g.uniform then
      value = ckernel.divide_by_count("s", g.k.h * g.k.w)
    elseif g.is_avg then
      vars.tables = table.concat({ vars.tables, divisor_table("ky_count", g.divisor.h, g.oh),
        divisor_table("kx_count", g.divisor.w, g.ow) }, "\n")
      value = "s / (ky_count[oy] * kx_count[ox])"
    end
    vars.value = ckernel.activation_expr(step.acts, value)
  end
  local tap = string.format("x[c][%s][%s]", vars.iy, vars.ix)
  if g.is_avg then
    vars.init, vars.accumulate = e.q and "int32_t s = 0;" or "float s = 0.0f;", string.format("s += %s;", tap)
  else
    -- max-pool starts from the window's first tap: never empty (validation checked)
    vars.init = string.format(acc_type .. " m = x[c][%s][%s];",
      ckernel.affine("oy", g.s.h, -g.p.h, ckernel.scaled("ky_begin[oy]", g.d.h)),
      ckernel.affine("ox", g.s.w, -g.p.w, ckernel.scaled("kx_begin[ox]", g.d.w)))
    vars.accumulate = string.format("const %s v = %s;\nm = (v > m) ? v : m;", acc_type, tap)
  end
  vars.iy, vars.ix = nil, nil  -- used above: the template has no holes for them
  ckernel.emit_none(e, "pool_none.c", vars)
end

M.emit = { full = emit_full, kernel = emit_kernel, none = emit_none }

return M
