--- avgpool2d and maxpool2d on their own (a pooling the plan fuses into the
-- convolution before it is emitted by lg.ops.conv2d). Padded zeros count in
-- the average, as in PyTorch's default; max-pool ignores the padding.
local ckernel = require("lg.ckernel")
local geometry = require("lg.geometry")
local int8emit = require("lg.int8emit")
local shared = require("lg.ops.shared")

local M = {}

M.types = { "avgpool2d", "maxpool2d" }
M.role = "compute"
M.int8 = true  -- emits --quantize=int8 code (see lg.int8emit)
M.fields = { type = true, kernel = true, stride = true, padding = true, unroll = true }

function M.check(v, raw, layer, fpath)
  shared.check_window(v, raw, layer, fpath, true)
  -- PyTorch refuses pooling padding above half the kernel: a window could then
  -- lie entirely in the padding, where max-pool has no value to take.
  for _, axis in ipairs({ "h", "w" }) do
    if 2 * layer.padding[axis] > layer.kernel[axis] then
      v.fail(fpath .. ".padding", string.format("padding %s is more than half of kernel %s "
        .. "(PyTorch refuses this too); use padding %dx%d or less", geometry.pair_text(layer.padding),
        geometry.pair_text(layer.kernel), layer.kernel.h // 2, layer.kernel.w // 2), layer)
    end
  end
end

function M.infer(v, layer, shape, prev)
  return shared.infer_window(v, layer, shape, prev, nil)
end

function M.attributes(layer)
  return string.format("kernel %s, stride %s, padding %s%s", geometry.pair_text(layer.kernel),
    geometry.pair_text(layer.stride), geometry.pair_text(layer.padding),
    layer.type == "avgpool2d" and ", padded zeros counted" or ", padding ignored")
end

--- Can this pooling layer be computed inside the preceding convolution?
-- Only non-overlapping, unpadded windows: each convolution output then feeds
-- exactly one pooled value and is computed exactly once.
function M.fusable(pool)
  return pool.padding.h == 0 and pool.padding.w == 0
    and pool.stride.h >= pool.kernel.h and pool.stride.w >= pool.kernel.w
end

--------------------------------------------------------------------------------
-- Emission
--------------------------------------------------------------------------------
local function pool_geometry(step)
  local layer = step.layer
  return {
    c = layer.in_shape[1], h = layer.in_shape[2], w = layer.in_shape[3],
    k = layer.kernel, s = layer.stride, p = layer.padding,
    oh = layer.out_shape[2], ow = layer.out_shape[3],
  }
end

--- One output: its window's valid taps, straight-line (the padding keeps at
-- most half a window out, so at least one tap is always valid).
--- The stored value of a window's sum s (average) or maximum m; `padded`
-- is the number of the window's taps in the padding (a C expression at
-- --unroll=none).
local function pool_value(e, step, g, padded)
  local is_avg = step.layer.type == "avgpool2d"
  if not e.q then
    return ckernel.activation_expr(step.acts, is_avg and ckernel.divide_by_count("s", g.k.h * g.k.w) or "m")
  end
  local value = "(int8_t)m"
  if is_avg then
    -- padded taps count as the zero point, the code of 0.0
    e.uses_average = true
    local zx = int8emit.entry(e, step.layer).input.zero_point
    local sum = "s"
    if padded ~= 0 and zx ~= 0 then
      if type(padded) == "number" then
        local add = padded * zx
        sum = (add < 0) and string.format("s - %d", -add) or string.format("s + %d", add)
      else
        sum = string.format("s + ((%s) * %s)", padded, (zx < 0) and string.format("(%d)", zx) or tostring(zx))
      end
    end
    value = string.format("lg_average(%s, %d)", sum, g.k.h * g.k.w)
  end
  return int8emit.activation_expr(e, step.act_layers, value)
end

local function pool_body(e, w, step, g, c, oy, ox, row, col)
  local y_first, y_last = geometry.tap_range(row, g.s.h, g.p.h, g.k.h, g.h)
  local x_first, x_last = geometry.tap_range(col, g.s.w, g.p.w, g.k.w, g.w)
  local is_avg = step.layer.type == "avgpool2d"
  local var = is_avg and "s" or "m"
  local acc_type = e.q and "int32_t" or "float"
  for ky = y_first, y_last do
    for kx = x_first, x_last do
      local ref = string.format("x[%s][%s][%s]", c, ckernel.affine(oy, g.s.h, ky - g.p.h),
        ckernel.affine(ox, g.s.w, kx - g.p.w))
      if ky == y_first and kx == x_first then
        w.line("%s %s = %s;", acc_type, var, ref)
      elseif is_avg then
        w.line("s += %s;", ref)
      else
        w.line("m = (%s > m) ? %s : m;", ref, ref)
      end
    end
  end
  local padded = g.k.h * g.k.w - (y_last - y_first + 1) * (x_last - x_first + 1)
  w.line("y[%s][%s][%s] = %s;", c, ckernel.affine(oy, 1, 0), ckernel.affine(ox, 1, 0), pool_value(e, step, g, padded))
end

local function emit_kernel(e, step, fname)
  local g = pool_geometry(step)
  ckernel.channel_loop_function(e, step, fname, "c", g.c, function(w)
    ckernel.regions(w, ckernel.axis_runs(g.oh, g.s.h, g.p.h, g.k.h, g.h),
      ckernel.axis_runs(g.ow, g.s.w, g.p.w, g.k.w, g.w), "oy", "ox", "output", 1, function(oy, ox, row, col)
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

local function emit_none(e, step, fname)
  local g = pool_geometry(step)
  local is_avg = step.layer.type == "avgpool2d"
  local vars = ckernel.none_vars(step, fname, g, e.value_type)
  vars.channels = tostring(g.c)
  vars.value = pool_value(e, step, g, string.format("%d - ((ky_end[oy] - ky_begin[oy]) * (kx_end[ox] - kx_begin[ox]))",
    g.k.h * g.k.w))
  local tap = string.format("x[c][%s][%s]", vars.iy, vars.ix)
  local acc_type = e.q and "int32_t" or "float"
  if is_avg then
    vars.init, vars.accumulate = e.q and "int32_t s = 0;" or "float s = 0.0f;", string.format("s += %s;", tap)
  else
    -- max-pool starts from the window's first tap: never empty, as padding <= kernel / 2
    vars.init = string.format(acc_type .. " m = x[c][%s][%s];", ckernel.affine("oy", g.s.h, -g.p.h, "ky_begin[oy]"),
      ckernel.affine("ox", g.s.w, -g.p.w, "kx_begin[ox]"))
    vars.accumulate = string.format("const %s v = %s;\nm = (v > m) ? v : m;", acc_type, tap)
  end
  vars.iy, vars.ix = nil, nil  -- used above: the template has no holes for them
  ckernel.emit_none(e, "pool_none.c", vars)
end

M.emit = { full = emit_full, kernel = emit_kernel, none = emit_none }

return M
