#!/usr/bin/python3
"""Train models/lenet5.lua's LeNet-5 on Fashion-MNIST and export what the repository ships.

Run from anywhere (paths are relative to the repository root, the parent of tools/):

    /usr/bin/python3 tools/train_lenet5.py              # train, then export everything
    /usr/bin/python3 tools/train_lenet5.py --epochs 1 --root /tmp/smoke   # quick smoke run
    /usr/bin/python3 tools/train_lenet5.py --export-only # re-export samples and golden vectors
                                                         # from the shipped weights, no training

Needs PyTorch 1.13 (Debian python3-torch) and Debian dataset-fashion-mnist; no torchvision and
no safetensors package (the file is written by hand, see write_safetensors).

Recipe (d2l, "LeNet" section): inputs = pixel / 255 (float32), Xavier-uniform init of every
Conv2d and Linear weight (biases keep PyTorch's default init), SGD lr 0.9, batch 256, 10 epochs,
mean cross-entropy. Determinism: torch.manual_seed(SEED) before the model is built, a separate
torch.Generator seeded with SEED draws each epoch's permutation of the 60,000 training images,
torch.set_num_threads(2) and torch.use_deterministic_algorithms(True). The same seed, thread
count and PyTorch build give a byte-identical safetensors file (no time is stored in it).
The default seed is 1 (SEED below).

Files written, relative to --root (default: the repository):

  models/lenet5.safetensors
      safetensors: 8-byte little-endian u64 N, N bytes of JSON header (keys sorted, compact,
      padded with spaces to a multiple of 8), then the raw little-endian float32 data of the
      tensors in sorted-name order, contiguous. Tensors: 0.weight [6,1,5,5], 0.bias [6],
      3.weight [16,6,5,5], 3.bias [16], 7.weight [120,400], 7.bias [120], 9.weight [84,120],
      9.bias [84], 11.weight [10,84], 11.bias [10]  (nn.Sequential state_dict names).
      __metadata__ (all string values): command, seed, epochs, recipe, dataset,
      test_accuracy (10,000 test images), torch_version.

  models/samples/t10k-first1000-images-idx3-ubyte   the first 1,000 Fashion-MNIST test images,
      uncompressed IDX3: big-endian u32 magic 0x00000803, count 1000, rows 28, cols 28, then
      1000*28*28 uint8 pixels, row-major (784,016 bytes).
  models/samples/t10k-first1000-labels-idx1-ubyte   their labels, IDX1: big-endian u32 magic
      0x00000801, count 1000, then 1000 uint8 labels 0..9 (1,008 bytes).
  models/samples/ankle-boot.pgm, trouser.pgm, sneaker.pgm   test images 0, 2 and 9 as 28x28 P5 PGMs.

  tests/golden/lenet5-logits-first300.txt   PyTorch's float32 logits (outputs of the last
      Linear, no softmax) for sample images 0..299 with input[i] = (float)pixel[i] / 255.0f,
      C-H-W (1x28x28). Lines starting with '#' are comments; every other line is
      "INDEX LABEL ARGMAX L0 L1 ... L9" with each logit printed as %.9g (round-trips float32).
  tests/golden/lenet5-predictions-first1000.txt   PyTorch's argmax for all 1,000 sample images:
      '#' comments, then "INDEX LABEL ARGMAX MARGIN" (MARGIN = top-1 minus top-2 logit, %.9g).
  tests/golden/lenet5-summary.txt   '#' comments, then "key value" lines: samples, correct
      (PyTorch's correct predictions on the 1,000 samples), accuracy, golden_logits (300),
      min_margin (smallest top-1 minus top-2 logit over the 1,000 samples).
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

SEED = 1
EPOCHS = 10
BATCH = 256
LR = 0.9
THREADS = 2
SAMPLES = 1000
GOLDEN = 300
DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Shipped single-image examples: (file name, test-set index); index 0 is an ankle boot,
# 2 a trouser, 9 a sneaker.
PGM_SAMPLES = [("ankle-boot.pgm", 0), ("trouser.pgm", 2), ("sneaker.pgm", 9)]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path, magic):
    """Read a (possibly gzip-compressed) IDX file; return a uint8 numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    (got,) = struct.unpack(">I", data[:4])
    if got != magic:
        raise SystemExit("%s: bad IDX magic 0x%08x (expected 0x%08x)" % (path, got, magic))
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise SystemExit("%s: %d data bytes, header says %s" % (path, body.size, dims))
    return body.reshape(dims)


def write_idx(path, array):
    """Write a uint8 array as an uncompressed IDX file (IDX1 or IDX3)."""
    header = struct.pack(">I", 0x00000800 | array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    write_bytes(path, header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def to_input(pixels):
    """uint8 [N,28,28] -> float32 tensor [N,1,28,28] holding exactly (float)p / 255.0f.

    numpy divides float32 by float32 with IEEE rounding, which is what the C demo does;
    dividing a torch tensor by a Python scalar may multiply by a rounded reciprocal instead.
    """
    x = pixels.astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(x).unsqueeze(1)


def build_net():
    # Must match models/lenet5.lua layer for layer: the indices give the tensor names.
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),       # 0, 1
        nn.AvgPool2d(kernel_size=2, stride=2),                         # 2
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),                 # 3, 4
        nn.AvgPool2d(kernel_size=2, stride=2),                         # 5
        nn.Flatten(),                                                  # 6
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),                      # 7, 8
        nn.Linear(120, 84), nn.Sigmoid(),                              # 9, 10
        nn.Linear(84, 10))                                             # 11


def init_weights(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)


def accuracy(net, x, y, batch=1000):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((net(x[i:i + batch]).argmax(dim=1) == y[i:i + batch]).sum())
    return correct / len(x)


def write_safetensors(path, state, metadata):
    names = sorted(state)
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in names:
        t = state[name].detach().to(torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    write_bytes(path, struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    state = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise SystemExit("%s: tensor %s is %s, expected F32" % (path, name, info["dtype"]))
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(info["shape"])
        state[name] = torch.from_numpy(arr.astype(np.float32))
    return state, metadata


def train(args, x_train, y_train, x_test, y_test):
    torch.manual_seed(args.seed)
    net = build_net()
    net.apply(init_weights)
    shuffle = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    n = len(x_train)
    start = time.monotonic()
    test_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        net.train()
        perm = torch.randperm(n, generator=shuffle)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = x_train[idx], y_train[idx]
            out = net(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(dim=1) == yb).sum())
        test_acc = accuracy(net, x_test, y_test)
        # train acc is accumulated during the epoch while the weights change, as the book does.
        print("epoch %2d  loss %.4f  train acc %.4f  test acc %.4f  (%.1f s)"
              % (epoch, loss_sum / n, correct / n, test_acc, time.monotonic() - start),
              flush=True)
    print("training time %.1f s" % (time.monotonic() - start), flush=True)
    return net, test_acc


def export_samples(root, test_images, test_labels):
    sdir = os.path.join(root, "models", "samples")
    write_idx(os.path.join(sdir, "t10k-first1000-images-idx3-ubyte"), test_images[:SAMPLES])
    write_idx(os.path.join(sdir, "t10k-first1000-labels-idx1-ubyte"), test_labels[:SAMPLES])
    for fname, index in PGM_SAMPLES:
        write_bytes(os.path.join(sdir, fname),
                    b"P5\n28 28\n255\n" + test_images[index].tobytes())


def export_golden(root, net, test_images, test_labels, weights_sha):
    net.eval()
    with torch.no_grad():
        logits = net(to_input(test_images[:SAMPLES])).numpy().astype(np.float32)
    labels = test_labels[:SAMPLES].astype(int)
    pred = logits.argmax(axis=1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    correct = int((pred == labels).sum())
    gdir = os.path.join(root, "tests", "golden")
    common = ("# weights: models/lenet5.safetensors sha256 %s\n"
              "# input: models/samples/t10k-first1000-images-idx3-ubyte, "
              "input[i] = (float)pixel[i] / 255.0f, 1x28x28\n"
              "# written by tools/train_lenet5.py (PyTorch %s, float32)\n"
              % (weights_sha, torch.__version__))
    lines = [common, "# INDEX LABEL ARGMAX L0..L9 (logits of layer 11, no softmax)\n"]
    for i in range(GOLDEN):
        lines.append("%d %d %d %s\n" % (i, labels[i], pred[i],
                                        " ".join("%.9g" % v for v in logits[i])))
    write_bytes(os.path.join(gdir, "lenet5-logits-first300.txt"), "".join(lines).encode())
    lines = [common, "# INDEX LABEL ARGMAX MARGIN (top-1 minus top-2 logit)\n"]
    for i in range(SAMPLES):
        lines.append("%d %d %d %.9g\n" % (i, labels[i], pred[i], margin[i]))
    write_bytes(os.path.join(gdir, "lenet5-predictions-first1000.txt"), "".join(lines).encode())
    summary = (common +
               "samples %d\ncorrect %d\naccuracy %.4f\ngolden_logits %d\nmin_margin %.9g\n"
               % (SAMPLES, correct, correct / SAMPLES, GOLDEN, float(margin.min())))
    write_bytes(os.path.join(gdir, "lenet5-summary.txt"), summary.encode())
    print("PyTorch on the %d samples: %d correct (%.4f); smallest top-1/top-2 margin %.3g"
          % (SAMPLES, correct, correct / SAMPLES, float(margin.min())))


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED, help="seed (default %d)" % SEED)
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs (default %d)" % EPOCHS)
    ap.add_argument("--data", default=DATA_DIR, help="Fashion-MNIST directory (default %s)"
                    % DATA_DIR)
    ap.add_argument("--root", default=REPO,
                    help="where models/ and tests/golden/ are written (default: the repository)")
    ap.add_argument("--export-only", action="store_true",
                    help="skip training: load ROOT/models/lenet5.safetensors and rewrite the "
                         "samples and golden vectors")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    def load(name, magic):
        return read_idx(os.path.join(args.data, name), magic)

    test_images = load("t10k-images-idx3-ubyte.gz", 0x803)
    test_labels = load("t10k-labels-idx1-ubyte.gz", 0x801)
    weights = os.path.join(args.root, "models", "lenet5.safetensors")
    if args.export_only:
        net = build_net()
        state, metadata = read_safetensors(weights)
        net.load_state_dict(state)
        print("loaded %s (%s)" % (weights, json.dumps(metadata, sort_keys=True)))
    else:
        x_train = to_input(load("train-images-idx3-ubyte.gz", 0x803))
        y_train = torch.from_numpy(load("train-labels-idx1-ubyte.gz", 0x801).astype(np.int64))
        x_test = to_input(test_images)
        y_test = torch.from_numpy(test_labels.astype(np.int64))
        print("PyTorch %s, %d threads, seed %d, %d epochs, batch %d, lr %g"
              % (torch.__version__, torch.get_num_threads(), args.seed, args.epochs, BATCH, LR),
              flush=True)
        net, test_acc = train(args, x_train, y_train, x_test, y_test)
        command = "/usr/bin/python3 tools/train_lenet5.py"
        if args.seed != SEED:
            command += " --seed %d" % args.seed
        if args.epochs != EPOCHS:
            command += " --epochs %d" % args.epochs
        metadata = {
            "command": command,
            "seed": str(args.seed),
            "epochs": str(args.epochs),
            "recipe": "d2l LeNet: Xavier-uniform weights, SGD lr %g, batch %d, cross-entropy, "
                      "inputs pixel/255" % (LR, BATCH),
            "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)",
            "test_accuracy": "%.4f" % test_acc,
            "torch_version": torch.__version__,
        }
        write_safetensors(weights, net.state_dict(), metadata)
        print("final test accuracy (10000 images) %.4f" % test_acc)
    digest = sha256(weights)
    print("%s sha256 %s" % (os.path.relpath(weights, args.root), digest))
    export_samples(args.root, test_images, test_labels)
    export_golden(args.root, net, test_images, test_labels, digest)


if __name__ == "__main__":
    sys.exit(main())
