-- An asymmetric pooling padding above half the kernel at the bottom.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "maxpool2d", kernel = 2, padding = { 0, 1, 2, 1 } },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
