-- dilation on an average pool (PyTorch has none).
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "avgpool2d", kernel = 2, dilation = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
