-- A typo in a top-level field: "layer" for "layers".
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = "tiny.safetensors",
  layer = {
      { type = "relu" },
    },
}
