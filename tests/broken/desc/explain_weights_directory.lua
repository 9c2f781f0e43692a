-- --explain reads a weights file that exists: broken, it is still an error (issue 16 item 2).
-- The weights path names a directory.
return {
  name = "broken",
  input = { channels = 1, height = 8, width = 8 },
  weights = ".",
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 3 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 3 },
  },
}
