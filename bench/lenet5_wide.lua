-- The benchmark's wider LeNet-5 (make bench): the same layers as models/lenet5.lua with
-- 16 and 32 convolution channels instead of 6 and 16, so 800 features reach the first
-- linear layer. About 4x LeNet-5's multiply-accumulates (1.67 M) and 2x its parameters.
-- No weights file: the benchmark uses the generator's seeded random weights
-- (--random-weights 1), which cost exactly as much to compute as trained ones.
return {
  name = "lenet5_wide",
  input = { channels = 1, height = 28, width = 28 },
  layers = {
    { type = "conv2d", out_channels = 16, kernel = 5, padding = 2, stride = 1 },
    { type = "sigmoid" },
    { type = "avgpool2d", kernel = 2, stride = 2 },
    { type = "conv2d", out_channels = 32, kernel = 5 },
    { type = "sigmoid" },
    { type = "avgpool2d", kernel = 2, stride = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 120 },
    { type = "sigmoid" },
    { type = "linear", out_features = 84 },
    { type = "sigmoid" },
    { type = "linear", out_features = 10 },
  },
}
