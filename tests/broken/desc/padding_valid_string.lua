-- padding = "valid" (write 0).
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3, padding = "valid" },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
