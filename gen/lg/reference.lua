--- Reference interpreter: evaluates a loaded model with plain nested loops.
--
-- This is the independent side of every correctness check. It reads only the
-- model table of lg.model (layer fields and weight
-- tensors); it shares no code with the planner or the emitter, and it computes
-- every shape itself. Each layer is a direct transcription of the PyTorch
-- definition (cross-correlation, zero padding, avg-pool counting padded zeros,
-- max-pool ignoring padding, flatten in C-H-W order), written in the style of
-- the TFLM reference kernels: named loop variables and an explicit
-- is_inside_image predicate. All arithmetic is done in double precision (Lua
-- floats); weights and inputs are the float32 values they were given as.
--
-- Data layout: a feature map is a flat Lua array in C-H-W order (1-based), so
-- element (c, y, x) of a map of size C x H x W lives at c*H*W + y*W + x + 1
-- with c, y, x counted from 0. After flatten or linear the shape is a plain
-- vector of `features` values.
local M = {}

--- Output size of a convolution or pooling along one axis (PyTorch's formula):
-- a window spanning (kernel - 1) * dilation + 1 input values moved by stride
-- over the input padded by pad_before and pad_after. With ceil_mode a last
-- partial window counts too, unless it would start past the input and its
-- leading padding. dilation, pad_after and ceil_mode are optional.
local function output_size(in_size, kernel, stride, pad_before, pad_after, dilation, ceil_mode)
  pad_after = pad_after or pad_before
  dilation = dilation or 1
  local span = (kernel - 1) * dilation + 1
  local room = in_size + pad_before + pad_after - span
  if not ceil_mode then
    return room // stride + 1
  end
  local size = math.ceil(room / stride) + 1
  local last_start = (size - 1) * stride   -- in padded coordinates
  if last_start >= in_size + pad_before then
    size = size - 1
  end
  return size
end

--- Is the input point (y, x), counted from 0, inside an image of height x width?
-- Points outside are padding.
local function is_inside_image(y, x, height, width)
  return y >= 0 and y < height and x >= 0 and x < width
end

--- Flat 1-based index of element (c, y, x) in a C-H-W map of height x width.
local function chw_index(c, y, x, height, width)
  return (c * height + y) * width + x + 1
end

--- A shape is {channels=, height=, width=} for a feature map or
-- {features=} for a vector. Its element count:
local function element_count(shape)
  if shape.features then return shape.features end
  return shape.channels * shape.height * shape.width
end

local function shape_string(shape)
  if shape.features then return string.format("%d", shape.features) end
  return string.format("%dx%dx%d", shape.channels, shape.height, shape.width)
end

local function layer_name(layer)
  return string.format("layer %d (%s)", layer.index, tostring(layer.type))
end

--- Assert with a message naming the layer.
local function check(cond, layer, fmt, ...)
  if not cond then
    error(layer_name(layer) .. ": " .. string.format(fmt, ...), 3)
  end
end

--- Check a tensor's shape against the expected dimensions.
local function check_tensor(layer, what, tensor, expected)
  check(type(tensor) == "table" and type(tensor.data) == "table", layer, "%s tensor missing", what)
  local n = 1
  for i, dim in ipairs(expected) do
    check(tensor.shape[i] == dim, layer, "%s shape [%s], expected [%s]", what,
      table.concat(tensor.shape, ","), table.concat(expected, ","))
    n = n * dim
  end
  check(#tensor.shape == #expected, layer, "%s has %d dimensions, expected %d", what,
    #tensor.shape, #expected)
  check(#tensor.data == n, layer, "%s has %d values, expected %d", what, #tensor.data, n)
end

--- A layer with bias = true has a bias tensor of `count` values; without, none.
local function check_bias(layer, count)
  if layer.bias then
    check_tensor(layer, "bias", layer.bias_values, { count })
  else
    check(layer.bias_values == nil, layer, "bias = false but a bias tensor is present")
  end
end

--- Window geometry of a conv/pool layer applied to a map: kernel, stride,
-- dilation (1 when absent), padding of each side and output size, checked up front.
local function window_geometry(layer, in_shape)
  check(in_shape.channels ~= nil, layer, "needs a C x H x W input, got a vector of %d",
    element_count(in_shape))
  local k, s, p = layer.kernel, layer.stride, layer.padding
  local d = layer.dilation or { h = 1, w = 1 }
  check(k and s and p, layer, "kernel and stride must be given as {h=, w=}, padding as {top=, left=, bottom=, right=}")
  check(k.h >= 1 and k.w >= 1 and s.h >= 1 and s.w >= 1 and d.h >= 1 and d.w >= 1, layer,
    "kernel %dx%d, stride %dx%d, dilation %dx%d out of range", k.h, k.w, s.h, s.w, d.h, d.w)
  check(p.top >= 0 and p.left >= 0 and p.bottom >= 0 and p.right >= 0, layer, "negative padding")
  local out_height = output_size(in_shape.height, k.h, s.h, p.top, p.bottom, d.h, layer.ceil_mode)
  local out_width = output_size(in_shape.width, k.w, s.w, p.left, p.right, d.w, layer.ceil_mode)
  check(out_height >= 1 and out_width >= 1, layer, "output of a %s input would be %dx%d",
    shape_string(in_shape), out_height, out_width)
  return {
    kernel_height = k.h, kernel_width = k.w,
    stride_height = s.h, stride_width = s.w,
    dilation_height = d.h, dilation_width = d.w,
    pad_top = p.top, pad_left = p.left, pad_bottom = p.bottom, pad_right = p.right,
    out_height = out_height, out_width = out_width,
  }
end

------------------------------------------------------------------------------
-- Layers. Each takes (layer, input values, input shape) and returns
-- (output values, output shape).
------------------------------------------------------------------------------

local run_layer = {}

--- The output of a windowed layer: value(channel, out_y, out_x) at every
-- output position, in (C, H, W) order; returns it and its shape.
local function output_map(channels, g, value)
  local output = {}
  for channel = 0, channels - 1 do
    for out_y = 0, g.out_height - 1 do
      for out_x = 0, g.out_width - 1 do
        output[chw_index(channel, out_y, out_x, g.out_height, g.out_width)] = value(channel, out_y, out_x)
      end
    end
  end
  return output, { channels = channels, height = g.out_height, width = g.out_width }
end

--- Calls visit(in_y, in_x, filter_y, filter_x) for every tap of the window of
-- output position (out_y, out_x) that lies inside the image, row by row.
-- Taps are dilation apart.
local function each_tap_inside(g, out_y, out_x, in_height, in_width, visit)
  local in_y_origin = out_y * g.stride_height - g.pad_top
  local in_x_origin = out_x * g.stride_width - g.pad_left
  for filter_y = 0, g.kernel_height - 1 do
    local in_y = in_y_origin + filter_y * g.dilation_height
    for filter_x = 0, g.kernel_width - 1 do
      local in_x = in_x_origin + filter_x * g.dilation_width
      if is_inside_image(in_y, in_x, in_height, in_width) then visit(in_y, in_x, filter_y, filter_x) end
    end
  end
end

--- out[oc][oy][ox] = bias[oc] + sum over j, fy, fx of
--   weight[oc][j][fy][fx] * in[ic][oy*sh - top + fy*dh][ox*sw - left + fx*dw]
-- where taps outside the image contribute zero. With groups, the channels
-- are split into `groups` consecutive blocks: output channel oc belongs to
-- block oc // (out_channels / groups) and reads only the group_size input
-- channels of the same block, ic = block * group_size + j.
function run_layer.conv2d(layer, input, in_shape)
  local g = window_geometry(layer, in_shape)
  local in_channels, in_height, in_width = in_shape.channels, in_shape.height, in_shape.width
  local out_channels = layer.out_channels
  local groups = layer.groups or 1
  check(in_channels % groups == 0 and out_channels % groups == 0, layer,
    "groups %d does not divide %d input and %d output channels", groups, in_channels, out_channels)
  local group_size = in_channels // groups            -- input channels per group
  local outputs_per_group = out_channels // groups
  check_tensor(layer, "weight", layer.weight, { out_channels, group_size, g.kernel_height, g.kernel_width })
  check_bias(layer, out_channels)
  local weight = layer.weight.data
  return output_map(out_channels, g, function(out_channel, out_y, out_x)
    local total = 0.0
    local block = out_channel // outputs_per_group
    for j = 0, group_size - 1 do
      local in_channel = block * group_size + j
      each_tap_inside(g, out_y, out_x, in_height, in_width, function(in_y, in_x, filter_y, filter_x)
        local input_value = input[chw_index(in_channel, in_y, in_x, in_height, in_width)]
        local weight_value = weight[((out_channel * group_size + j)
          * g.kernel_height + filter_y) * g.kernel_width + filter_x + 1]
        total = total + input_value * weight_value
      end)
    end
    if layer.bias then
      total = total + layer.bias_values.data[out_channel + 1]
    end
    return total
  end)
end

--- out[o] = bias[o] + sum over i of weight[o][i] * in[i]
function run_layer.linear(layer, input, in_shape)
  check(in_shape.features ~= nil, layer, "input is a %s map; flatten it first",
    shape_string(in_shape))
  local in_features, out_features = in_shape.features, layer.out_features
  check_tensor(layer, "weight", layer.weight, { out_features, in_features })
  check_bias(layer, out_features)
  local weight = layer.weight.data
  local output = {}
  for out_index = 0, out_features - 1 do
    local total = 0.0
    for in_index = 0, in_features - 1 do
      total = total + weight[out_index * in_features + in_index + 1] * input[in_index + 1]
    end
    if layer.bias then
      total = total + layer.bias_values.data[out_index + 1]
    end
    output[out_index + 1] = total
  end
  return output, { features = out_features }
end

--- Shared loop of both poolings: collects the values of the window taps that
-- are inside the image and stores reduce_window(taps, geometry, out_y, out_x).
local function pool(layer, input, in_shape, reduce_window)
  local g = window_geometry(layer, in_shape)
  local channels, in_height, in_width = in_shape.channels, in_shape.height, in_shape.width
  return output_map(channels, g, function(channel, out_y, out_x)
    local taps = {}  -- values of the window taps that are inside the image
    each_tap_inside(g, out_y, out_x, in_height, in_width, function(in_y, in_x)
      taps[#taps + 1] = input[chw_index(channel, in_y, in_x, in_height, in_width)]
    end)
    return reduce_window(taps, g, out_y, out_x)
  end)
end

--- Number of window positions along one axis that lie inside the padded
-- input [-pad_before, size + pad_after): PyTorch's avg-pool divisor on that
-- axis with count_include_pad. The window starts at origin and never before
-- the padding; only a ceil_mode window can hang past its end.
local function positions_in_padded_input(origin, kernel, size, pad_after)
  local window_end = math.min(origin + kernel, size + pad_after)
  return window_end - origin
end

--- Average of the window. count_include_pad = true (the default): the sum of
-- the taps inside the image divided by the window's size clipped to the padded
-- input (kernel_height * kernel_width unless a ceil_mode window hangs past the
-- padding); false: divided by the number of taps inside the image.
function run_layer.avgpool2d(layer, input, in_shape)
  local include_pad = layer.count_include_pad
  if include_pad == nil then include_pad = true end
  return pool(layer, input, in_shape, function(taps, g, out_y, out_x)
    local total = 0.0
    for _, value in ipairs(taps) do total = total + value end
    local divisor = #taps
    if include_pad then
      divisor = positions_in_padded_input(out_y * g.stride_height - g.pad_top, g.kernel_height, in_shape.height,
        g.pad_bottom) * positions_in_padded_input(out_x * g.stride_width - g.pad_left, g.kernel_width,
        in_shape.width, g.pad_right)
    end
    check(divisor > 0, layer, "window at output (%d, %d) lies entirely in the padding", out_y, out_x)
    return total / divisor
  end)
end

--- Maximum over the taps inside the image (padding is -infinity, never chosen).
function run_layer.maxpool2d(layer, input, in_shape)
  return pool(layer, input, in_shape, function(taps, _, out_y, out_x)
    check(#taps > 0, layer, "window at output (%d, %d) lies entirely in the padding", out_y, out_x)
    local largest = -math.huge
    for _, value in ipairs(taps) do
      if value > largest then largest = value end
    end
    return largest
  end)
end

--- Elementwise activations keep the shape.
local function elementwise(fn)
  return function(_, input, in_shape)
    local output = {}
    for i = 1, #input do output[i] = fn(input[i]) end
    return output, in_shape
  end
end

--- 1 / (1 + e^-x); for very negative x, e^-x overflows to inf and the result is 0.
local function sigmoid(x)
  return 1.0 / (1.0 + math.exp(-x))
end

--- tanh(x) = (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x: e^-2|x| lies in
-- (0, 1], so nothing overflows and large |x| gives exactly +-1.
local function tanh(x)
  local t = math.exp(-2.0 * math.abs(x))
  local magnitude = (1.0 - t) / (1.0 + t)
  if x < 0 then return -magnitude end
  return magnitude
end

local function relu(x)
  if x > 0 then return x end
  return 0.0
end

run_layer.sigmoid = elementwise(sigmoid)
run_layer.tanh = elementwise(tanh)
run_layer.relu = elementwise(relu)

local function relu6(x)
  return math.min(math.max(x, 0.0), 6.0)
end

run_layer.relu6 = elementwise(relu6)

--- clamp(x, min, max); a missing bound does not clamp.
function run_layer.clip(layer, input, in_shape)
  return elementwise(function(x)
    if layer.min and x < layer.min then return layer.min end
    if layer.max and x > layer.max then return layer.max end
    return x
  end)(layer, input, in_shape)
end

--- x for x > 0, else negative_slope * x.
function run_layer.leaky_relu(layer, input, in_shape)
  return elementwise(function(x)
    if x > 0 then return x end
    return layer.negative_slope * x
  end)(layer, input, in_shape)
end

--- Channels and values per channel: a C x H x W map has C channels of H*W
-- values; a vector of n features has n channels of one value (PyTorch's
-- channel dimension is dimension 1 of (N, C, H, W) and of (N, n)).
local function channel_layout(shape)
  if shape.features then return shape.features, 1 end
  return shape.channels, shape.height * shape.width
end

--- output[i] = value(channel, input[i]) for every value of every channel.
local function per_channel(input, shape, value)
  local channels, count = channel_layout(shape)
  local output = {}
  for i = 1, channels * count do output[i] = value((i - 1) // count, input[i]) end
  return output, shape
end

--- PReLU: x for x > 0, else weight[c] * x, with one weight per channel or
-- one shared weight.
function run_layer.prelu(layer, input, in_shape)
  local channels = channel_layout(in_shape)
  check(layer.tensors and layer.tensors.weight, layer, "weight tensor missing")
  local slopes = layer.tensors.weight.data
  check(#slopes == channels or #slopes == 1, layer, "%d slopes for %d channels", #slopes, channels)
  return per_channel(input, in_shape, function(channel, x)
    local slope = slopes[#slopes == 1 and 1 or channel + 1]
    return x > 0 and x or slope * x
  end)
end

--- Batch normalisation with the running statistics, unfolded:
-- (x - running_mean[c]) / sqrt(running_var[c] + eps) * weight[c] + bias[c]
-- (weight 1 and bias 0 when affine = false).
function run_layer.batchnorm2d(layer, input, in_shape)
  check(in_shape.channels ~= nil, layer, "needs a C x H x W input")
  local channels = channel_layout(in_shape)
  local t = layer.tensors
  check(t and t.running_mean and t.running_var, layer, "running statistics missing")
  for _, key in ipairs({ "running_mean", "running_var" }) do check_tensor(layer, key, t[key], { channels }) end
  check(layer.affine == (t.weight ~= nil) and layer.affine == (t.bias ~= nil), layer, "affine disagrees with the tensors")
  return per_channel(input, in_shape, function(channel, x)
    local mean, variance = t.running_mean.data[channel + 1], t.running_var.data[channel + 1]
    local gamma = layer.affine and t.weight.data[channel + 1] or 1.0
    local beta = layer.affine and t.bias.data[channel + 1] or 0.0
    return (x - mean) / math.sqrt(variance + layer.eps) * gamma + beta
  end)
end

--- Mean of each channel: C x H x W -> C x 1 x 1.
function run_layer.global_avgpool(layer, input, in_shape)
  check(in_shape.channels ~= nil, layer, "needs a C x H x W input")
  local channels, count = channel_layout(in_shape)
  local output = {}
  for channel = 0, channels - 1 do
    local total = 0.0
    for k = 1, count do total = total + input[channel * count + k] end
    output[channel + 1] = total / count
  end
  return output, { channels = channels, height = 1, width = 1 }
end

--- e^(x_i - max) / sum_j e^(x_j - max) over every value.
function run_layer.softmax(_, input, in_shape)
  local largest = -math.huge
  for _, x in ipairs(input) do largest = math.max(largest, x) end
  local output, total = {}, 0.0
  for i, x in ipairs(input) do
    output[i] = math.exp(x - largest)
    total = total + output[i]
  end
  for i = 1, #output do output[i] = output[i] / total end
  return output, in_shape
end

--- Flatten: the flat C-H-W buffer is already in flatten order; only the shape changes.
function run_layer.flatten(_, input, in_shape)
  local output = {}
  for i = 1, #input do output[i] = input[i] end
  return output, { features = element_count(in_shape) }
end

------------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------------

M.activation = { sigmoid = sigmoid, tanh = tanh, relu = relu, relu6 = relu6 }
M.output_size = output_size
--- The layer functions, run_layer[type](layer, input, in_shape) -> output,
-- out_shape (used by tests/harness/magnitude.lua on absolute values).
M.run_layer = run_layer
--- The window walk, for lg.reference_int8 (it visits the same taps): window_geometry(layer,
-- in_shape) -> g, output_map(channels, g, value) -> output, shape, each_tap_inside(g, out_y,
-- out_x, in_height, in_width, visit(in_y, in_x, filter_y, filter_x)), chw_index(c, y, x, h, w).
M.window_geometry, M.output_map = window_geometry, output_map
M.each_tap_inside, M.chw_index = each_tap_inside, chw_index

--- Evaluate a loaded model on one input.
-- @param model the model table of lg.model: input{channels,height,width}, layers
-- @param input flat Lua array of input values in C-H-W order
-- @return output (flat array of the last layer's values), trace (trace[k] = flat
--         output of layers[k], i.e. of the layer with 0-based index k - 1),
--         shapes (shapes[k] = {channels=,height=,width=} or {features=})
function M.run(model, input)
  assert(type(model) == "table" and type(model.layers) == "table", "model table expected")
  local shape = {
    channels = model.input.channels, height = model.input.height, width = model.input.width,
  }
  assert(#input == element_count(shape), string.format("input has %d values, model %s expects %s = %d",
    #input, tostring(model.name), shape_string(shape), element_count(shape)))
  local values = input
  local trace, shapes = {}, {}
  for k, layer in ipairs(model.layers) do
    assert(layer.index == k - 1, string.format("layers[%d] has index %s", k, tostring(layer.index)))
    local run = run_layer[layer.type]
    assert(run, layer_name(layer) .. ": unknown layer type")
    values, shape = run(layer, values, shape)
    assert(#values == element_count(shape))
    trace[k], shapes[k] = values, shape
  end
  return values, trace, shapes
end

return M
