-- padding = "same" on a dilated max-pool: the size cannot be met (a window lies wholly in the padding).
return {
  name = "broken",
  input = { channels = 1, height = 2, width = 2 },
  weights = "tiny.safetensors",
  layers = {
    { type = "maxpool2d", kernel = 2, dilation = 3, stride = 1, padding = "same" },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
