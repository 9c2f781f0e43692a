-- A hole in the layer list.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layers = {
    [1] = { type = "relu" },
    [3] = { type = "relu" },
  },
}
