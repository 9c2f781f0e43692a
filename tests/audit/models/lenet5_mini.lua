-- LeNet-5's layer list, scaled down: the same layer types in the same order (conv
-- with padding -> sigmoid -> avgpool, conv -> sigmoid -> avgpool, flatten, three
-- linear layers with sigmoids between them), so the same fused code paths, on an
-- 8x8 input with few channels. Its fully unrolled C is ~100 KB, small enough for
-- cppcheck, gcc and the sanitizers in the audit tests (tools/lint, tests/audit);
-- models/lenet5.lua at --unroll=full is ~19 MB. Use --random-weights.
return {
  name = "lenet5_mini",
  input = { channels = 1, height = 8, width = 8 },
  layers = {
    { type = "conv2d", out_channels = 2, kernel = 5, padding = 2, stride = 1 },
    { type = "sigmoid" },
    { type = "avgpool2d", kernel = 2, stride = 2 },
    { type = "conv2d", out_channels = 3, kernel = 3 },
    { type = "sigmoid" },
    { type = "avgpool2d", kernel = 2, stride = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 8 },
    { type = "sigmoid" },
    { type = "linear", out_features = 6 },
    { type = "sigmoid" },
    { type = "linear", out_features = 4 },
  },
}
