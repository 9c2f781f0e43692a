-- --explain reads a weights file that exists: broken, it is still an error (issue 16 item 2).
-- The file lacks the bias of layer 4.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny_missing_bias.safetensors",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
