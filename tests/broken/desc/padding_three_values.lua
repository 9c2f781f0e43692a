-- A padding table of three values.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3, padding = { 1, 2, 3 } },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
