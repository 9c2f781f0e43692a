--- What to write instead: hints for layer types and fields of other
-- frameworks (PyTorch, ONNX, Keras) and for typos, used in lg.validate's
-- "unknown layer type" and "unknown field" messages.
local errors = require("lg.errors")
local ops = require("lg.ops")

local M = {}

local describe = errors.describe

local function keys_of(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- Layer types of other frameworks (PyTorch, ONNX, Keras), keyed in lower case without
-- underscores, with what to write instead. A hint names a lenetgen layer only where it
-- computes the same thing; a different function gets advice, never a look-alike name.
local NOT_2D = "lenetgen works on 2-D images (channels x height x width) only; %s is a different layer"
local OTHER_ACTIVATION = "this activation is not supported, and relu, relu6, clip, leaky_relu, prelu, sigmoid "
  .. "and tanh are different functions: train the model with one of them"
local GLOBAL_POOL = "adaptive and global pooling are not supported; where the output size divides the "
  .. "input, use %s with kernel and stride equal to input/output (global pooling: kernel = the "
  .. "input's height and width)"
local GLOBAL_AVG = "for an output of 1x1 (AdaptiveAvgPool2d(1), ONNX GlobalAveragePool) use \"global_avgpool\"; "
  .. "for other output sizes that divide the input, avgpool2d with kernel and stride equal to input/output"
local TYPE_HINTS = {
  conv = "did you mean \"conv2d\"?", convolution = "did you mean \"conv2d\"?",
  dense = "did you mean \"linear\"?", fc = "did you mean \"linear\"?",
  fullyconnected = "did you mean \"linear\"?", gemm = "did you mean \"linear\"?",
  avgpool = "did you mean \"avgpool2d\"?", averagepool = "did you mean \"avgpool2d\"?",
  maxpool = "did you mean \"maxpool2d\"?",
  softmax = "did you mean \"softmax\"?",
  logsoftmax = "log-softmax is not supported, and softmax is a different function (no logarithm): use "
    .. "\"softmax\" and take the log in your own code, or output the logits",
  softmax2d = "softmax2d (over the channels at each position) is not supported; lenetgen's softmax is over the "
    .. "whole output vector, which is the same only for a Cx1x1 or flat output: add global_avgpool or flatten "
    .. "first, or apply it in your own code",
  dropout = "dropout does nothing at inference: remove it (PyTorch still counted it in the tensor "
    .. "names, so name the tensors of later layers with weight = \"...\" and bias = \"...\")",
  identity = "identity does nothing: remove it (if PyTorch counted it in the tensor names, name the "
    .. "tensors of later layers with weight = \"...\" and bias = \"...\")",
  batchnorm2d = "did you mean \"batchnorm2d\"?",
  batchnorm1d = "batchnorm1d (on a flat vector) is not supported: batchnorm2d needs a channels x height x "
    .. "width input; move the normalisation before the flatten",
  relu6 = "did you mean \"relu6\"?",
  hardtanh = "hardtanh(min_val, max_val) is { type = \"clip\", min = min_val, max = max_val } (PyTorch's "
    .. "defaults: min = -1, max = 1)",
  clip = "did you mean \"clip\"?", clamp = "did you mean \"clip\"? (min and max as fields)",
  leakyrelu = "did you mean \"leaky_relu\"?", prelu = "did you mean \"prelu\"?",
  rrelu = "at inference RReLU is leaky_relu with negative_slope = (lower + upper) / 2 (PyTorch's defaults: "
    .. "0.22916666666666666): use { type = \"leaky_relu\", negative_slope = ... }",
  globalavgpool = "did you mean \"global_avgpool\"?",
  reshape = "only flattening is supported: use \"flatten\" before the first linear layer",
}
TYPE_HINTS.view = TYPE_HINTS.reshape
for _, name in ipairs({ "dropout1d", "dropout2d", "dropout3d", "alphadropout", "featurealphadropout" }) do
  TYPE_HINTS[name] = TYPE_HINTS.dropout
end
for _, name in ipairs({ "batchnorm", "bn", "batchnormalization", "batchnorm2d" }) do
  TYPE_HINTS[name] = TYPE_HINTS.batchnorm2d
end
for _, name in ipairs({ "elu", "celu", "selu", "gelu", "silu", "swish",
  "hardswish", "hardsigmoid", "mish", "softplus", "softsign", "tanhshrink", "hardshrink",
  "softshrink", "logsigmoid", "threshold" }) do
  TYPE_HINTS[name] = OTHER_ACTIVATION
end
for _, pair in ipairs({ { "conv1d", "conv2d" }, { "conv3d", "conv2d" }, { "convtranspose1d", "conv2d" },
  { "convtranspose2d", "conv2d" }, { "convtranspose3d", "conv2d" }, { "convtranspose", "conv2d" },
  { "maxpool1d", "maxpool2d" }, { "maxpool3d", "maxpool2d" }, { "avgpool1d", "avgpool2d" },
  { "avgpool3d", "avgpool2d" }, { "batchnorm3d", "batchnorm2d" } }) do
  TYPE_HINTS[pair[1]] = NOT_2D:format(pair[2])
end
TYPE_HINTS.adaptiveavgpool1d = GLOBAL_POOL:format("avgpool2d")
for _, name in ipairs({ "adaptiveavgpool2d", "globalaveragepool", "globalaveragepooling2d", "gap" }) do
  TYPE_HINTS[name] = GLOBAL_AVG
end
for _, name in ipairs({ "adaptivemaxpool1d", "adaptivemaxpool2d", "globalmaxpool", "globalmaxpooling2d" }) do
  TYPE_HINTS[name] = GLOBAL_POOL:format("maxpool2d")
end

--- The hint for a foreign layer type, if it is one: case, underscores and blanks ignored
-- (LeakyReLU, leaky_relu and leakyrelu are one name).
local function foreign_type_hint(t)
  return TYPE_HINTS[(t:lower():gsub("[_%s%-]", ""))]
end

--- Whether a typo-suggestion for a layer type is safe: a different digit is a
-- different layer (conv1d is not conv2d, relu6 is not relu).
local function same_digits(a, b)
  return a:gsub("%D", "") == b:gsub("%D", "")
end

local FIELD_HINTS = {
  in_channels = "the input channel count is inferred from the layer before; remove it",
  in_features = "the input size is inferred from the layer before; remove it",
  kernel_size = "did you mean kernel?", pool_size = "did you mean kernel?",
  strides = "did you mean stride?", filters = "did you mean out_channels?",
  units = "did you mean out_features?", use_bias = "did you mean bias?",
  activation = "an activation is a layer of its own: add { type = \"relu\" } after this one",
  dilation = "dilation is not supported", groups = "grouped convolution is not supported",
  classes = "did you mean labels? (one string per output value)", class_names = "did you mean labels?",
  mean = "mean and std go in input.normalize = { range = 255, mean = ..., std = ... }",
  std = "mean and std go in input.normalize = { range = 255, mean = ..., std = ... }",
  scale = "scale = 1 / 255 is range = 255 (input = (pixel / range - mean) / std)",
  alpha = "did you mean negative_slope?", min_val = "did you mean min?", max_val = "did you mean max?",
  momentum = "momentum only matters in training: remove it",
  num_features = "the channel count is inferred from the layer before; remove it",
  num_parameters = "the slope count comes from the weight tensor's shape ([C] or [1]); remove it",
  dim = "softmax is over the whole output vector: remove dim",
}

--- "unknown layer type ..." with a hint when one applies.
function M.unknown_type(t)
  local known = ops.type_names()
  local hint = type(t) == "string" and foreign_type_hint(t)
  if not hint then
    local guess = errors.suggest(t, known)
    if guess and same_digits(t, guess) then hint = string.format("did you mean %s?", describe(guess)) end
  end
  return string.format("unknown layer type %s%s (known types: %s)", describe(t),
    hint and ("; " .. hint) or "", table.concat(known, ", "))
end

--- "unknown field ..." with a hint when one applies.
function M.unknown_field(key, owner, allowed)
  local names = keys_of(allowed)
  local hint = type(key) == "string" and FIELD_HINTS[key]
  if not hint then
    local guess = errors.suggest(key, names)
    hint = guess and string.format("did you mean %s?", guess)
  end
  if math.type(key) == "integer" then
    return string.format("a value without a name (entry %d); write every field as name = value "
      .. "(%s takes: %s)", key, owner, table.concat(names, ", "))
  end
  return string.format("unknown field %s%s (%s takes: %s)", describe(key),
    hint and ("; " .. hint) or "", owner, table.concat(names, ", "))
end

return M
