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

--- Output size of a convolution or pooling along one axis (PyTorch's formula).
local function output_size(in_size, kernel, stride, padding)
  return (in_size + 2 * padding - kernel) // stride + 1
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
-- padding and output size, checked up front.
local function window_geometry(layer, in_shape)
  check(in_shape.channels ~= nil, layer, "needs a C x H x W input, got a vector of %d",
    element_count(in_shape))
  local k, s, p = layer.kernel, layer.stride, layer.padding
  check(k and s and p, layer, "kernel, stride and padding must be given as {h=, w=}")
  check(k.h >= 1 and k.w >= 1 and s.h >= 1 and s.w >= 1 and p.h >= 0 and p.w >= 0, layer,
    "kernel %dx%d, stride %dx%d, padding %dx%d out of range", k.h, k.w, s.h, s.w, p.h, p.w)
  local out_height = output_size(in_shape.height, k.h, s.h, p.h)
  local out_width = output_size(in_shape.width, k.w, s.w, p.w)
  check(out_height >= 1 and out_width >= 1, layer, "output of a %s input would be %dx%d",
    shape_string(in_shape), out_height, out_width)
  return {
    kernel_height = k.h, kernel_width = k.w,
    stride_height = s.h, stride_width = s.w,
    pad_height = p.h, pad_width = p.w,
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
local function each_tap_inside(g, out_y, out_x, in_height, in_width, visit)
  local in_y_origin = out_y * g.stride_height - g.pad_height
  local in_x_origin = out_x * g.stride_width - g.pad_width
  for filter_y = 0, g.kernel_height - 1 do
    local in_y = in_y_origin + filter_y
    for filter_x = 0, g.kernel_width - 1 do
      local in_x = in_x_origin + filter_x
      if is_inside_image(in_y, in_x, in_height, in_width) then visit(in_y, in_x, filter_y, filter_x) end
    end
  end
end

--- out[oc][oy][ox] = bias[oc] + sum over ic, fy, fx of
--   weight[oc][ic][fy][fx] * in[ic][oy*sh - ph + fy][ox*sw - pw + fx]
-- where taps outside the image contribute zero.
function run_layer.conv2d(layer, input, in_shape)
  local g = window_geometry(layer, in_shape)
  local in_channels, in_height, in_width = in_shape.channels, in_shape.height, in_shape.width
  local out_channels = layer.out_channels
  check_tensor(layer, "weight", layer.weight, { out_channels, in_channels, g.kernel_height, g.kernel_width })
  check_bias(layer, out_channels)
  local weight = layer.weight.data
  return output_map(out_channels, g, function(out_channel, out_y, out_x)
    local total = 0.0
    for in_channel = 0, in_channels - 1 do
      each_tap_inside(g, out_y, out_x, in_height, in_width, function(in_y, in_x, filter_y, filter_x)
        local input_value = input[chw_index(in_channel, in_y, in_x, in_height, in_width)]
        local weight_value = weight[((out_channel * in_channels + in_channel)
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

--- Average of the window, padded zeros included (count_include_pad = true):
-- the sum of the taps inside the image divided by kernel_height * kernel_width.
function run_layer.avgpool2d(layer, input, in_shape)
  return pool(layer, input, in_shape, function(taps, g)
    local total = 0.0
    for _, value in ipairs(taps) do total = total + value end
    return total / (g.kernel_height * g.kernel_width)
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

--- Flatten: the flat C-H-W buffer is already in flatten order; only the shape changes.
function run_layer.flatten(_, input, in_shape)
  local output = {}
  for i = 1, #input do output[i] = input[i] end
  return output, { features = element_count(in_shape) }
end

------------------------------------------------------------------------------
-- Entry points
------------------------------------------------------------------------------

M.activation = { sigmoid = sigmoid, tanh = tanh, relu = relu }
M.output_size = output_size
--- The layer functions, run_layer[type](layer, input, in_shape) -> output,
-- out_shape (used by tests/harness/magnitude.lua on absolute values).
M.run_layer = run_layer
--- The window walk, for lg.reference_int8 (the integer mode visits the same
-- taps): window_geometry(layer, in_shape) -> g, output_map(channels, g,
-- value) -> output, shape, each_tap_inside(g, out_y, out_x, in_height,
-- in_width, visit(in_y, in_x, filter_y, filter_x)), chw_index(c, y, x, h, w).
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
