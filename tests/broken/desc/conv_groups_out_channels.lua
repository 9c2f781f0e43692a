-- groups that do not divide out_channels.
return {
  name = "broken",
  input = { channels = 4, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 6, kernel = 3, groups = 4 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
