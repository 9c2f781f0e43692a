-- a prelu weight of 5 slopes for 2 channels.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny_prelu5.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "prelu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
