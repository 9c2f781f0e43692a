#!/usr/bin/python3
"""torch_bench.py: PyTorch's time per inference, batch 1, one thread, for the benchmark.

    /usr/bin/python3 bench/torch_bench.py NAME.arch NAME.safetensors [--reps N] [--min-batch-us US]

NAME.arch and NAME.safetensors are written by bench/export_baseline.lua from the same
description and weights as the generated code. Builds the nn.Sequential (module i reads
"i.weight" and "i.bias"), runs it under torch.inference_mode() with
torch.set_num_threads(1), and prints, like bench/driver.c:
    output V0 V1 ...                      for the driver's fixed input
    time_ns MIN MEDIAN MAX BATCH REPS     per inference over REPS batches of BATCH calls,
                                          after a warm-up; CPU time of the process
"""
import json
import struct
import sys
import time

import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit("torch_bench: %s: dtype %s, F32 expected" % (name, info["dtype"]))
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + begin:base + end]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"])
    return tensors


def build(arch_path):
    layers, input_shape = [], None
    acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    with open(arch_path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            kind, a = w[0], [int(x) for x in w[1:] if x.lstrip("-").isdigit()]
            if kind == "input":
                input_shape = a
            elif kind == "conv2d":
                _, cin, cout, kh, kw, sh, sw, ph, pw = a
                layers.append(torch.nn.Conv2d(cin, cout, (kh, kw), (sh, sw), (ph, pw), bias=w[-1] == "bias"))
            elif kind == "linear":
                _, nin, nout = a
                layers.append(torch.nn.Linear(nin, nout, bias=w[-1] == "bias"))
            elif kind == "avgpool2d":
                kh, kw, sh, sw, ph, pw = a
                layers.append(torch.nn.AvgPool2d((kh, kw), (sh, sw), (ph, pw), count_include_pad=True))
            elif kind == "maxpool2d":
                kh, kw, sh, sw, ph, pw = a
                layers.append(torch.nn.MaxPool2d((kh, kw), (sh, sw), (ph, pw)))
            elif kind in acts:
                layers.append(acts[kind]())
            elif kind == "flatten":
                layers.append(torch.nn.Flatten())
            else:
                raise SystemExit("torch_bench: unknown layer " + kind)
    return torch.nn.Sequential(*layers), input_shape


def driver_input(shape):
    n = shape[0] * shape[1] * shape[2]
    v = [(((k * 2654435761) & 0xFFFFFFFF) >> 16 & 255) / 256 for k in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape([1] + shape)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    reps, min_batch_us = 21, 20000.0
    i = 3
    while i < len(argv):
        if argv[i] == "--reps":
            reps = int(argv[i + 1])
        elif argv[i] == "--min-batch-us":
            min_batch_us = float(argv[i + 1])
        else:
            raise SystemExit(__doc__)
        i += 2
    torch.set_num_threads(1)
    model, shape = build(argv[1])
    model.load_state_dict(read_safetensors(argv[2]))
    model.eval()
    x = driver_input(shape)
    with torch.inference_mode():
        out = model(x).reshape(-1)
        print("output " + " ".join("%.9g" % float(v) for v in out))

        def batch(n):
            t0 = time.process_time_ns()
            for _ in range(n):
                model(x)
            return time.process_time_ns() - t0

        n = 1
        while batch(n) < min_batch_us * 1e3 and n < (1 << 24):
            n *= 2
        batch(n)  # warm-up at the final size
        t = sorted(batch(n) / n for _ in range(reps))
    print("time_ns %.1f %.1f %.1f %d %d" % (t[0], t[len(t) // 2], t[-1], n, reps))


if __name__ == "__main__":
    main(sys.argv)
