-- A shape that does not match the byte count.
-- The file is from tests/broken/weights (see make_weights_corpus.lua).
return {
  name = "broken",
  input = { channels = 2, height = 1, width = 1 },
  weights = "../weights/shape_bytes_mismatch.safetensors",
  layers = {
    { type = "flatten" },
    { type = "linear", out_features = 2, weight = "b", bias = "a" },
  },
}
