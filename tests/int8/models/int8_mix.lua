-- int8 paths the shipped and random models may miss: activations straight on
-- the input (a copy step), relu after a pool (not folded into a clamp), relu
-- folded after a linear layer, tanh after sigmoid, a padded average pool
-- (padded taps count as the zero point), an overlapping max pool. Used with
-- --random-weights by tests/int8/test_int8_harness.lua.
return {
  name = "int8_mix",
  input = { channels = 2, height = 9, width = 9 },
  layers = {
    { type = "tanh" },
    { type = "conv2d", out_channels = 3, kernel = 3, padding = 1 },
    { type = "maxpool2d", kernel = 3, stride = 2, padding = 1 },
    { type = "relu" },
    { type = "avgpool2d", kernel = 2, stride = 1, padding = 1 },
    { type = "sigmoid" },
    { type = "tanh" },
    { type = "flatten" },
    { type = "linear", out_features = 7 },
    { type = "relu" },
    { type = "linear", out_features = 4, bias = false },
  },
}
