-- --explain reads a weights file that exists: broken, it is still an error (issue 16 item 2).
-- A header that is not valid JSON.
-- The file is from tests/broken/weights (see make_weights_corpus.lua).
return {
  name = "broken",
  input = { channels = 2, height = 1, width = 1 },
  weights = "../weights/json_truncated.safetensors",
  layers = {
    { type = "flatten" },
    { type = "linear", out_features = 2, weight = "b", bias = "a" },
  },
}
