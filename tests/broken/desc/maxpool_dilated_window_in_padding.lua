-- A dilated max-pool whose only window has no tap inside the input.
return {
  name = "broken",
  input = { channels = 1, height = 2, width = 2 },
  weights = "tiny.safetensors",
  layers = {
    { type = "maxpool2d", kernel = 2, dilation = 3, stride = 1, padding = 1 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
