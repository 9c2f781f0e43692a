-- Layers given by name instead of as a list.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    conv = { type = "conv2d", out_channels = 2, kernel = 3 },
  },
}
