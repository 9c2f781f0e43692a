-- A dilated kernel spanning more than the padded input.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3, dilation = 4 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
