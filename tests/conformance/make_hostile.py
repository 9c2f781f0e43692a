"""Writes the unsupported and broken ONNX files of tests/conformance/test_import.lua.

usage: /usr/bin/python3 tests/conformance/make_hostile.py OUTDIR
Each file is small and built with onnx.helper; the test holds the expected messages.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, output, inits=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, [output], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="hostile")


def tensor(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def main(out):
    os.makedirs(out, exist_ok=True)
    x = tensor("x", [1, 2, 4, 4])
    y = tensor("y", [1, 2, 4, 4])
    w = numpy_helper.from_array(np.ones([2, 2, 3, 3], dtype=np.float32), "w")
    cases = {
        "unsupported_op": model([helper.make_node("Relu", ["x"], ["a"], name="Relu_0"),
                                 helper.make_node("Exp", ["a"], ["y"], name="Exp_1")], [x], y),
        "bad_attribute": model([helper.make_node("MaxPool", ["x"], ["y"], name="MaxPool_3", kernel_shape=[2, 2],
                                                 storage_order=1)], [x], y),
        "bad_auto_pad": model([helper.make_node("Conv", ["x", "w"], ["y"], name="Conv_3", kernel_shape=[3, 3],
                                                auto_pad="SAME_MIDDLE")], [x], y, [w]),
        "branching": model([helper.make_node("Relu", ["x"], ["a"], name="Relu_0"),
                            helper.make_node("Sigmoid", ["x"], ["b"], name="Sigmoid_1"),
                            helper.make_node("Add", ["a", "b"], ["y"], name="Add_2")], [x], y),
        "two_inputs": model([helper.make_node("Add", ["x", "z"], ["y"], name="Add_0")],
                            [x, tensor("z", [1, 2, 4, 4])], y),
        "dynamic_shape": model([helper.make_node("Relu", ["x"], ["y"], name="Relu_0")],
                               [tensor("x", [1, 2, "height", 4])], y),
        "opset18": model([helper.make_node("Relu", ["x"], ["y"], name="Relu_0")], [x], y, opset=18),
        "softmax_not_last": model([helper.make_node("Flatten", ["x"], ["a"], name="Flatten_0"),
                                   helper.make_node("Softmax", ["a"], ["b"], name="Softmax_1"),
                                   helper.make_node("Relu", ["b"], ["y"], name="Relu_2")], [x], tensor("y", [1, 32])),
    }
    for name, m in cases.items():
        onnx.save(m, os.path.join(out, name + ".onnx"))
    data = cases["unsupported_op"].SerializeToString()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(out, "not_onnx.onnx"), "wb") as f:
        f.write(b"return { name = 'lenet5' }\n")
    open(os.path.join(out, "empty.onnx"), "wb").close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
