--- Field checks and shape inference shared by several operators: the
-- window fields of convolution and pooling (kernel, stride, padding) and the
-- tensor fields of layers with weights (output count, bias, tensor names).
local errors = require("lg.errors")
local geometry = require("lg.geometry")
local linemap = require("lg.linemap")

local M = {}

--- kernel, stride and padding as {h, w} pairs; stride defaults as in PyTorch
-- (1 for a convolution, the kernel for pooling), padding to 0.
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
  if raw.padding == nil then
    layer.padding = { h = 0, w = 0 }
  else
    layer.padding = v.pair(raw.padding, fpath .. ".padding", "padding", 0, v.limits.max_padding, layer)
  end
end

--- Output shape of a window layer with `channels` output channels.
function M.infer_window(v, layer, shape, prev, channels)
  local fpath = "layers." .. (layer.index + 1)
  if #shape ~= 3 then
    local after = prev and string.format(" after layer %d (%s)", prev.index, prev.type) or ""
    v.fail(fpath, string.format("input is flat (%d values)%s, but %s needs a channels x height x "
      .. "width input; move the flatten after the last convolution or pooling layer", shape[1], after,
      layer.type), layer)
  end
  local out = {}
  for i, axis in ipairs({ "h", "w" }) do
    local n, k, s, p = shape[i + 1], layer.kernel[axis], layer.stride[axis], layer.padding[axis]
    if k > n + 2 * p then
      v.fail(fpath .. ".kernel", string.format("output vanishes: kernel %s is larger than the padded "
        .. "input %dx%d (input %dx%d, padding %s); use a smaller kernel or more padding, or remove a "
        .. "pooling layer before it", geometry.pair_text(layer.kernel), shape[2] + 2 * layer.padding.h,
        shape[3] + 2 * layer.padding.w, shape[2], shape[3], geometry.pair_text(layer.padding)), layer)
    end
    out[i] = geometry.out_size(n, k, s, p)
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

--- "bias" or "no bias", for the generated comment.
function M.bias_text(layer)
  return layer.bias and "bias" or "no bias"
end

return M
