-- A layer output over the activation limit.
return {
  name = "broken",
  input = { channels = 1, height = 1024, width = 1024 },
  weights = "tiny.safetensors",
  layers = {
    { type = "conv2d", out_channels = 64, kernel = 3, padding = 1 },
    { type = "relu" },
  },
}
