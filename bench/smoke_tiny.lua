-- A tiny network for `make bench-smoke`, which proves the benchmark scripts work in a few
-- seconds: every layer kind the baseline implements (padding, stride, both pools, the three
-- activations), random weights (--random-weights 7). Not a benchmark of anything.
return {
  name = "bench_tiny",
  input = { channels = 2, height = 9, width = 9 },
  layers = {
    { type = "conv2d", out_channels = 3, kernel = 3, padding = 1 },
    { type = "tanh" },
    { type = "maxpool2d", kernel = 3, stride = 2, padding = 1 },
    { type = "conv2d", out_channels = 4, kernel = { 3, 2 }, stride = { 1, 2 } },
    { type = "relu" },
    { type = "avgpool2d", kernel = 2, stride = 1, padding = 1 },
    { type = "flatten" },
    { type = "linear", out_features = 6 },
    { type = "sigmoid" },
    { type = "linear", out_features = 3, bias = false },
  },
}
