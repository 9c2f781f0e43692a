--- The float forward that int8 calibration runs over every calibration
-- input (lg.quantize.ranges): lg.reference.run's values, faster. Split from
-- lg.quantize.
local reference = require("lg.reference")

local M = {}

--------------------------------------------------------------------------------
-- Float forward for the calibration ranges (the common windows: symmetric
-- padding, no groups or dilation; has_fast_loop): the float reference's arithmetic
-- (double precision, the same taps) as flat loops without closures, about 3x
-- faster than lg.reference.run; tests/int8/test_quantize.lua checks that both
-- give the same values.
--------------------------------------------------------------------------------
local fast = {}

local function window_bounds(o, stride, pad, kernel, size)
  local origin = o * stride - pad
  return origin, math.max(0, -origin), math.min(kernel, size - origin) - 1
end

function fast.conv2d(layer, x, c_in, h, w)
  local oc_n, kh, kw = layer.out_channels, layer.kernel.h, layer.kernel.w
  local sh, sw, ph, pw = layer.stride.h, layer.stride.w, layer.padding.top, layer.padding.left
  local oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
  local wt, bias = layer.weight.data, layer.bias and layer.bias_values.data
  local y, n = {}, 0
  for oc = 0, oc_n - 1 do
    for oy = 0, oh - 1 do
      local iy0, fy0, fy1 = window_bounds(oy, sh, ph, kh, h)
      for ox = 0, ow - 1 do
        local ix0, fx0, fx1 = window_bounds(ox, sw, pw, kw, w)
        local total = 0.0
        for ic = 0, c_in - 1 do
          local wbase = (oc * c_in + ic) * kh
          for fy = fy0, fy1 do
            local xrow = (ic * h + iy0 + fy) * w + ix0 + 1
            local wrow = (wbase + fy) * kw + 1
            for fx = fx0, fx1 do total = total + x[xrow + fx] * wt[wrow + fx] end
          end
        end
        if bias then total = total + bias[oc + 1] end
        n = n + 1
        y[n] = total
      end
    end
  end
  return y, oc_n, oh, ow
end

function fast.linear(layer, x, n_in)
  local wt, bias = layer.weight.data, layer.bias and layer.bias_values.data
  local y = {}
  for o = 0, layer.out_features - 1 do
    local total, base = 0.0, o * n_in
    for i = 1, n_in do total = total + wt[base + i] * x[i] end
    if bias then total = total + bias[o + 1] end
    y[o + 1] = total
  end
  return y, layer.out_features
end

local function pool(layer, x, c, h, w, is_avg)
  local kh, kw, sh, sw, ph, pw = layer.kernel.h, layer.kernel.w, layer.stride.h, layer.stride.w,
    layer.padding.top, layer.padding.left
  local oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
  local y, n = {}, 0
  for ch = 0, c - 1 do
    for oy = 0, oh - 1 do
      local iy0, fy0, fy1 = window_bounds(oy, sh, ph, kh, h)
      for ox = 0, ow - 1 do
        local ix0, fx0, fx1 = window_bounds(ox, sw, pw, kw, w)
        local acc = is_avg and 0.0 or -math.huge
        for fy = fy0, fy1 do
          local row = (ch * h + iy0 + fy) * w + ix0 + 1
          for fx = fx0, fx1 do
            local v = x[row + fx]
            if is_avg then acc = acc + v elseif v > acc then acc = v end
          end
        end
        n = n + 1
        y[n] = is_avg and acc / (kh * kw) or acc
      end
    end
  end
  return y, c, oh, ow
end
function fast.avgpool2d(layer, x, c, h, w) return pool(layer, x, c, h, w, true) end
function fast.maxpool2d(layer, x, c, h, w) return pool(layer, x, c, h, w, false) end

--- Does the loop of `fast` compute this layer? Only windows with symmetric
-- padding, no groups, dilation or ceil_mode, and averages counting the padding.
local function has_fast_loop(layer)
  if not fast[layer.type] then return false end
  if layer.type == "linear" then return true end
  local p, d = layer.padding, layer.dilation
  return (layer.groups or 1) == 1 and (not d or (d.h == 1 and d.w == 1))
    and p.top == p.bottom and p.left == p.right and not layer.ceil_mode and layer.count_include_pad ~= false
end

--- lg.reference.run's trace (every layer's output), computed by the loops above where they apply
-- and by lg.reference's own layer functions elsewhere.
function M.trace(model, input)
  local x, c, h, w = input, model.input.channels, model.input.height, model.input.width
  local trace = {}
  for k, layer in ipairs(model.layers) do
    local t = layer.type
    if has_fast_loop(layer) then
      x, c, h, w = fast[t](layer, x, c, h, w)
    elseif t == "flatten" then
      c, h, w = c * (h or 1) * (w or 1), nil, nil
    else
      local shape = h and { channels = c, height = h, width = w } or { features = c }
      x, shape = reference.run_layer[t](layer, x, shape)
      c, h, w = shape.features or shape.channels, shape.height, shape.width
    end
    trace[k] = x
  end
  return trace
end

return M
