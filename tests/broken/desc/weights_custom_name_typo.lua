-- A custom tensor name with a typo.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny_named.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3, weight = "features.conv.weight", bias = "features.conv.bias" },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3, weight = "classifier.weigth", bias = "classifier.bias" },
  },
}
