"""Prepares ONNX test cases for lenetgen-import, as a trained model would come.

usage: /usr/bin/python3 tests/conformance/prepare.py OUTDIR CASEDIR...

For each CASEDIR (a libonnx-testdata case: model.onnx, test_data_set_N/) writes
OUTDIR/<case>/model.onnx and OUTDIR/<case>/test_data_set_N/{input_0,output_0}.pb.
Node tests pass their weights as graph inputs (W is input_1.pb): those inputs
become initializers holding the values of test_data_set_0, so that only the
first input is data. Nothing else in the model changes.
"""
import os
import shutil
import sys

import onnx
from onnx import numpy_helper


def prepare(case_dir, out_dir):
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    graph = model.graph
    known = {init.name for init in graph.initializer}
    data_inputs = [i for i in graph.input if i.name not in known]
    sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    for k, inp in enumerate(data_inputs[1:], start=1):
        tensor = onnx.load_tensor(os.path.join(case_dir, sets[0], "input_%d.pb" % k))
        graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(tensor), inp.name))
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(model, os.path.join(out_dir, "model.onnx"))
    for s in sets:
        os.makedirs(os.path.join(out_dir, s), exist_ok=True)
        for name in ("input_0.pb", "output_0.pb"):
            shutil.copyfile(os.path.join(case_dir, s, name), os.path.join(out_dir, s, name))


def main(argv):
    out_root = argv[0]
    for case_dir in argv[1:]:
        prepare(case_dir, os.path.join(out_root, os.path.basename(case_dir.rstrip("/"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
