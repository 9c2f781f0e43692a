-- LeNet-5 for 3x32x32 colour images (CIFAR-10's shape), with ReLU and max
-- pooling: the model `make test-firmware-model` runs on QEMU through
-- FW_MODEL, with the generator's seeded random weights (no weights file):
--   make firmware-test FW_MODEL=tests/firmware/lenet5_rgb.lua FW_GEN_ARGS="--random-weights 5"
return {
  name = "lenet5_rgb",
  input = { channels = 3, height = 32, width = 32 },
  layers = {
    { type = "conv2d", out_channels = 6, kernel = 5 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2, stride = 2 },
    { type = "conv2d", out_channels = 16, kernel = 5 },
    { type = "relu" },
    { type = "maxpool2d", kernel = 2, stride = 2 },
    { type = "flatten" },
    { type = "linear", out_features = 120 },
    { type = "relu" },
    { type = "linear", out_features = 84 },
    { type = "tanh" },
    { type = "linear", out_features = 10 },
  },
}
