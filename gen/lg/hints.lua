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
local OTHER_ACTIVATION = "this activation is not supported, and relu, sigmoid and tanh are different "
  .. "functions: train the model with one of them"
local GLOBAL_POOL = "adaptive and global pooling are not supported; where the output size divides the "
  .. "input, use %s with kernel and stride equal to input/output (global pooling: kernel = the "
  .. "input's height and width)"
local TYPE_HINTS = {
  conv = "did you mean \"conv2d\"?", convolution = "did you mean \"conv2d\"?",
  dense = "did you mean \"linear\"?", fc = "did you mean \"linear\"?",
  fullyconnected = "did you mean \"linear\"?", gemm = "did you mean \"linear\"?",
  avgpool = "did you mean \"avgpool2d\"?", averagepool = "did you mean \"avgpool2d\"?",
  maxpool = "did you mean \"maxpool2d\"?",
  softmax = "softmax is not supported: the network outputs the last layer's values (logits); "
    .. "take the argmax, or apply softmax in your own code",
  dropout = "dropout does nothing at inference: remove it (PyTorch still counted it in the tensor "
    .. "names, so name the tensors of later layers with weight = \"...\" and bias = \"...\")",
  identity = "identity does nothing: remove it (if PyTorch counted it in the tensor names, name the "
    .. "tensors of later layers with weight = \"...\" and bias = \"...\")",
  batchnorm2d = "batch normalisation is not supported: fold it into the conv2d before it (weight "
    .. "times gamma/sqrt(var + eps) per output channel, bias (b - mean) * gamma/sqrt(var + eps) + "
    .. "beta, with bias = true on that conv2d) and export again",
  relu6 = "relu6 (min(max(x, 0), 6)) is not supported, and relu is a different function (no upper "
    .. "clamp): train the model with relu, sigmoid or tanh",
  reshape = "only flattening is supported: use \"flatten\" before the first linear layer",
}
TYPE_HINTS.softmax2d, TYPE_HINTS.logsoftmax = TYPE_HINTS.softmax, TYPE_HINTS.softmax
TYPE_HINTS.view = TYPE_HINTS.reshape
for _, name in ipairs({ "dropout1d", "dropout2d", "dropout3d", "alphadropout", "featurealphadropout" }) do
  TYPE_HINTS[name] = TYPE_HINTS.dropout
end
for _, name in ipairs({ "batchnorm", "bn", "batchnorm1d", "batchnormalization" }) do
  TYPE_HINTS[name] = TYPE_HINTS.batchnorm2d
end
TYPE_HINTS.hardtanh, TYPE_HINTS.clip = TYPE_HINTS.relu6, TYPE_HINTS.relu6
for _, name in ipairs({ "leakyrelu", "prelu", "rrelu", "elu", "celu", "selu", "gelu", "silu", "swish",
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
for _, name in ipairs({ "adaptiveavgpool1d", "adaptiveavgpool2d", "globalaveragepool", "globalavgpool",
  "globalaveragepooling2d" }) do
  TYPE_HINTS[name] = GLOBAL_POOL:format("avgpool2d")
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
