-- Two layers name the same tensor.
return {
  name = "broken",
  input = { channels = 4, height = 1, width = 1 },
  weights = "square.safetensors",
  layers = {
    { type = "flatten" },
    { type = "linear", out_features = 4, weight = "w", bias = "b" },
    { type = "relu" },
    { type = "linear", out_features = 4, weight = "w", bias = "b" },
  },
}
