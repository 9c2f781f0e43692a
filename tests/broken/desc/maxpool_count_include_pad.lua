-- count_include_pad on a max-pool.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    { type = "maxpool2d", kernel = 2, count_include_pad = false },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
