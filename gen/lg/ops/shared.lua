--- Field checks and shape inference shared by several operators: the
-- window fields of convolution and pooling (kernel, stride, padding) and the
-- tensor fields of layers with weights (output count, bias, tensor names).
local errors = require("lg.errors")
local geometry = require("lg.geometry")
local linemap = require("lg.linemap")

local M = {}

local PADDING_FORMS = 'a number, {height, width}, {top, left, bottom, right}, "same" or "same_lower"'
local SIDES = { "top", "left", "bottom", "right" }

--- The padding field resolved to {top =, left =, bottom =, right =}, or, for
-- "same" and "same_lower" (which need the input size), layer.padding_mode
-- (resolved by infer_window).
local function check_padding(v, raw, layer, fpath)
  local value, where = raw.padding, fpath .. ".padding"
  local entries = 0
  if type(value) == "table" then for _ in pairs(value) do entries = entries + 1 end end
  if value == nil then
    layer.padding = { top = 0, left = 0, bottom = 0, right = 0 }
  elseif value == "same" or value == "same_lower" then
    layer.padding_mode = value
  elseif entries == 4 and value[1] ~= nil and value[2] ~= nil and value[3] ~= nil and value[4] ~= nil then
    layer.padding = {}
    for i, side in ipairs(SIDES) do
      layer.padding[side] = v.int(value[i], where, "padding " .. side, 0, v.limits.max_padding, layer)
    end
  elseif type(value) == "number" or entries == 2 then
    local p = v.pair(value, where, "padding", 0, v.limits.max_padding, layer)
    layer.padding = { top = p.h, left = p.w, bottom = p.h, right = p.w }
  else
    local got = type(value) == "table"
      and string.format("a table with %d entr%s", entries, entries == 1 and "y" or "ies") or errors.describe(value)
    if value == "valid" then got = got .. " (that is no padding: write padding = 0 or leave it out)" end
    v.fail(where, string.format("padding must be %s, got %s", PADDING_FORMS, got), layer)
  end
end

--- kernel, stride, dilation and padding: kernel, stride and dilation as
-- {h, w} pairs (stride defaults as in PyTorch: 1 for a convolution, the
-- kernel for pooling; dilation to 1), padding as check_padding gives it.
function M.check_window(v, raw, layer, fpath, stride_default_is_kernel)
  if raw.kernel == nil then
    v.fail(fpath, "kernel is required: a size such as kernel = 3, or { height, width }", layer)
  end
  layer.kernel = v.pair(raw.kernel, fpath .. ".kernel", "kernel", 1, v.limits.max_kernel, layer)
  if raw.stride == nil then
    layer.stride = stride_default_is_kernel and { h = layer.kernel.h, w = layer.kernel.w } or { h = 1, w = 1 }
  else
    layer.stride = v.pair(raw.stride, fpath .. ".stride", "stride", 1, v.limits.max_stride, layer)
  end
  layer.dilation = { h = 1, w = 1 }
  if raw.dilation ~= nil then
    layer.dilation = v.pair(raw.dilation, fpath .. ".dilation", "dilation", 1, v.limits.max_dilation, layer)
  end
  check_padding(v, raw, layer, fpath)
end

--- A boolean field (ceil_mode, count_include_pad) with its default.
function M.check_flag(v, raw, layer, fpath, name, default)
  local value = raw[name]
  if value == nil then return default end
  if type(value) ~= "boolean" then
    v.fail(fpath .. "." .. name, string.format("%s must be true or false, got %s", name, errors.describe(value)),
      layer)
  end
  return value
end

local AXES = { { axis = "h", first = "top", last = "bottom" }, { axis = "w", first = "left", last = "right" } }
M.AXES = AXES

--- "kernel 3x3" or "kernel 3x3 with dilation 2x2 (spanning 5x5)".
local function kernel_text(layer)
  local k, d = layer.kernel, layer.dilation
  if d.h == 1 and d.w == 1 then return "kernel " .. geometry.pair_text(k) end
  return string.format("kernel %s with dilation %s (spanning %dx%d)", geometry.pair_text(k), geometry.pair_text(d),
    geometry.span(k.h, d.h), geometry.span(k.w, d.w))
end

--- Output shape of a window layer with `channels` output channels; resolves
-- "same" padding against the input size first.
function M.infer_window(v, layer, shape, prev, channels)
  local fpath = "layers." .. (layer.index + 1)
  if #shape ~= 3 then
    local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
    v.fail(fpath, string.format("input is flat (%d values)%s, but %s needs a channels x height x "
      .. "width input; move the flatten after the last convolution or pooling layer", shape[1], after,
      layer.type), layer)
  end
  if layer.padding_mode then
    layer.padding = {}
    for i, a in ipairs(AXES) do
      layer.padding[a.first], layer.padding[a.last] = geometry.same_padding(shape[i + 1], layer.kernel[a.axis],
        layer.stride[a.axis], layer.dilation[a.axis], layer.padding_mode == "same_lower")
    end
  end
  local p = layer.padding
  local out = {}
  for i, a in ipairs(AXES) do
    local n, k, s, d = shape[i + 1], layer.kernel[a.axis], layer.stride[a.axis], layer.dilation[a.axis]
    if geometry.span(k, d) > n + p[a.first] + p[a.last] then
      v.fail(fpath .. ".kernel", string.format("output vanishes: %s is larger than the padded "
        .. "input %dx%d (input %dx%d, padding %s); use a smaller kernel%s or more padding, or remove a "
        .. "pooling layer before it", kernel_text(layer), shape[2] + p.top + p.bottom, shape[3] + p.left + p.right,
        shape[2], shape[3], geometry.padding_text(p), (d > 1) and " or dilation" or ""), layer)
    end
    -- with "same" this is ceil(n / s), ceil_mode or not: PyTorch's rule keeps
    -- the last window from starting past the input, so ceil_mode cannot add one
    out[i] = geometry.out_size(n, k, s, p[a.first], p[a.last], d, layer.ceil_mode)
  end
  return { channels or shape[1], out[1], out[2] }
end

--- The output count field (out_channels or out_features), bias and the
-- tensor names with their lines.
function M.check_tensors(v, raw, layer, fpath, count_field, what, max)
  if raw[count_field] == nil then
    v.fail(fpath, string.format("%s is required (the number of output %s), e.g. %s = 16",
      count_field, what, count_field), layer)
  end
  layer[count_field] = v.int(raw[count_field], fpath .. "." .. count_field, count_field, 1, max, layer)
  local bias = raw.bias
  if bias == nil then bias = true end
  if type(bias) ~= "boolean" and type(bias) ~= "string" then
    v.fail(fpath .. ".bias", "bias must be true, false or a tensor name (a string), got "
      .. errors.describe(bias), layer)
  end
  if raw.weight ~= nil and type(raw.weight) ~= "string" then
    v.fail(fpath .. ".weight", "weight must be a tensor name (a string such as \"conv1.weight\"), got "
      .. errors.describe(raw.weight), layer)
  end
  if raw.weight == "" or bias == "" then
    v.fail(fpath .. (raw.weight == "" and ".weight" or ".bias"), "a tensor name cannot be empty; "
      .. "remove the field to use the default name", layer)
  end
  local k = layer.index
  layer.bias = bias ~= false
  layer.weight_name = raw.weight or string.format("%d.weight", k)
  layer.bias_name = layer.bias and (type(bias) == "string" and bias or string.format("%d.bias", k)) or nil
  layer.weight_line = linemap.lookup(v.lines, fpath .. ".weight")
  layer.bias_line = linemap.lookup(v.lines, fpath .. ".bias")
end

--- The resolved padding for the generated comment: "1x1" when each axis pads
-- both sides alike, else every side by name; "same" and "same_lower" say so.
function M.padding_text(layer)
  local p = layer.padding
  local text = geometry.padding_text(p)
  if text:sub(1, 1) == "{" then
    text = string.format("top %d, left %d, bottom %d, right %d", p.top, p.left, p.bottom, p.right)
  end
  if layer.padding_mode then return string.format("%q: %s", layer.padding_mode, text) end
  return text
end

--- ", dilation 2x1" for a dilated window, else nothing.
function M.dilation_text(layer)
  local d = layer.dilation
  if d.h == 1 and d.w == 1 then return "" end
  return ", dilation " .. geometry.pair_text(d)
end

--- "bias" or "no bias", for the generated comment.
function M.bias_text(layer)
  return layer.bias and "bias" or "no bias"
end

return M
