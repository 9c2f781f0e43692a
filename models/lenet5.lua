-- LeNet-5 as in d2l's "LeNet" section (sigmoid activations, average pooling),
-- trained on Fashion-MNIST by tools/train_lenet5.py (see tools/TRAINING.md).
-- Tensor names follow PyTorch's nn.Sequential: layer i reads "<i>.weight" and "<i>.bias".
return {
  name = "lenet5",
  input = { channels = 1, height = 28, width = 28 },
  weights = "lenet5.safetensors",
  layers = {
    { type = "conv2d", out_channels = 6, kernel = 5, padding = 2, stride = 1 },
    { type = "sigmoid" },
    { type = "avgpool2d", kernel = 2, stride = 2 },
    { type = "conv2d", out_channels = 16, kernel = 5 },
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
