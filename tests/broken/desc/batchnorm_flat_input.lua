-- batchnorm2d after flatten.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 }, { type = "flatten" }, { type = "batchnorm2d" },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
