-- A label in UTF-8: only printable ASCII goes into C literals.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  labels = { "cat", "caf\u{E9}", "bird" },
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
