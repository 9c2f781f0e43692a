-- ceil_mode written as a number.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "avgpool2d", kernel = 2, ceil_mode = 1 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
