-- A 1-D layer is never answered with its 2-D look-alike.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "conv1d" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
