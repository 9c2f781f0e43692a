-- LeNet-5 as in d2l's "LeNet" section (sigmoid activations, average pooling),
-- trained on Fashion-MNIST by tools/train_lenet5.py (see tools/TRAINING.md).
-- Tensor names follow PyTorch's nn.Sequential: layer i reads "<i>.weight" and "<i>.bias".
return {
  name = "lenet5",
  input = {
    channels = 1, height = 28, width = 28,
    -- as tools/train_lenet5.py fed PyTorch: ToTensor(), no Normalize
    normalize = { range = 255 },
    description = "Fashion-MNIST: 28x28 8-bit greyscale, garment white on black, centred",
  },
  -- Fashion-MNIST's classes in the order of its labels (output i is class i)
  labels = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" },
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
