-- An input whose every dimension is allowed but whose size is not.
return {
  name = "broken",
  input = { channels = 4096, height = 4096, width = 4096 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
