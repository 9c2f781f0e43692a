-- a batch norm variance below zero names the tensor and the channel.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny_bn_negvar.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "batchnorm2d" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
