"""lenetgen-import: an ONNX model -> a lenetgen description (<name>.lua) and its
weights (<name>.safetensors), plus verification vectors (<name>_check.safetensors)
when the model's test data sets sit beside it or --vectors asks for them.

The pipeline: load (onnx.load, the ONNX project's own parser), fold the constant
side of the graph (initializers, Constant nodes and the shape arithmetic PyTorch
emits for x.view(x.size(0), -1)), walk the data chain node by node turning each
into a layer of lenetgen's description language, cross-check every computed shape
with ONNX's shape inference, then write the files. Everything is checked before
anything is written; a refusal is one line naming the node, its op and the
attribute or input at fault.
"""
import json
import math
import os
import re
import struct
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

USAGE = """usage: {prog} MODEL.onnx -o DIR [--name NAME] [--vectors]

Writes DIR/NAME.lua (a lenetgen description) and DIR/NAME.safetensors (its weights);
then `lenetgen DIR/NAME.lua -o OUT` generates the C.
  -o DIR       output directory (created if missing)
  --name NAME  network name, a C identifier (default: the model file's stem)
  --vectors    also write DIR/NAME_check.safetensors from the test_data_set_*/
               input_0.pb and output_0.pb beside the model (done anyway when they
               are there); the description then names it as check = "..."
"""

OPSET_MAX = 17
DEFAULT_EPS = 1e-5
DEFAULT_SLOPE = 0.01


class Refusal(Exception):
    """A model the importer cannot turn into a description: one line for the user."""


class UsageError(Exception):
    pass


def f32_text(x):
    """The shortest decimal text that reads back as the same float32."""
    v = np.float32(x)
    if v == np.round(v) and abs(v) < 2 ** 24:
        return "%d" % int(v) if v != 0 or not math.copysign(1, v) < 0 else "0"
    return np.format_float_positional(v, unique=True, trim="-") if 1e-4 <= abs(v) < 1e16 \
        else np.format_float_scientific(v, unique=True, trim="-")


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "{ " + ", ".join(lua_value(x) for x in v) + " }"
    if isinstance(v, float):
        return f32_text(v)
    return str(v)


class Node:
    """An ONNX node with what messages need: its name (or index) and op."""

    def __init__(self, proto, index):
        self.proto = proto
        self.op = proto.op_type
        self.inputs = list(proto.input)
        self.outputs = [o for o in proto.output]
        self.label = 'node "%s" (%s)' % (proto.name, proto.op_type) if proto.name \
            else "node %d (%s)" % (index, proto.op_type)
        self.comment = "%s (%s)" % (proto.name or "node %d" % index, proto.op_type)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        for k, v in list(self.attrs.items()):
            if isinstance(v, bytes):
                self.attrs[k] = v.decode("utf-8", "replace")

    def refuse(self, message):
        raise Refusal("%s: %s" % (self.label, message))

    def check_attrs(self, allowed):
        """Every attribute must be one this op knows; allowed maps name -> None or
        a predicate on the value that says whether it is supported."""
        for name in sorted(self.attrs):
            if name not in allowed:
                self.refuse("attribute %s is not supported" % name)
            ok = allowed[name]
            if ok is not None and not ok(self.attrs[name]):
                self.refuse("attribute %s=%s is not supported" % (name, attr_text(self.attrs[name])))

    def attr(self, name, default):
        return self.attrs.get(name, default)


def attr_text(v):
    if isinstance(v, list):
        return "[" + ", ".join(attr_text(x) for x in v) + "]"
    if isinstance(v, float):
        return f32_text(v)
    return str(v)


def shape_text(dims):
    return "[" + ", ".join(str(d) for d in dims) + "]"


class Layer:
    def __init__(self, kind, comment, fields=None, tensors=None):
        self.kind = kind
        self.comment = comment
        self.fields = fields or []          # ordered (name, value) pairs, defaults left out
        self.tensors = tensors or []        # ordered (suffix, float32 array)


class Importer:
    """Walks one graph; self.shape is the per-sample shape of the current tensor
    (batch dimension dropped): (C, H, W), (C, L) or (F,)."""

    def __init__(self, model, path):
        self.model = model
        self.path = path
        self.graph = model.graph
        self.opset = self.default_opset(model)
        self.consts = {}
        self.layers = []
        self.removed = []
        self.data_shapes = {}
        self.lg_flat = False      # is lenetgen's current shape a flat vector?
        self.pending_pads = None  # ([t, l, b, r], comment) of a Pad the next layer takes over
        self.inferred = self.inferred_shapes()
        self.batch_text = None    # the name of a dynamic batch dimension

    # ---------- model-level checks ----------

    @staticmethod
    def default_opset(model):
        opset = None
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                opset = imp.version
        if opset is None:
            raise Refusal("the model imports no version of the standard ONNX operator set")
        if opset > OPSET_MAX:
            raise Refusal("opset %d is newer than this importer knows (up to %d); export with "
                          "opset_version=%d or lower" % (opset, OPSET_MAX, OPSET_MAX))
        return opset

    def inferred_shapes(self):
        try:
            inferred = shape_inference.infer_shapes(self.model)
        except Exception:  # inference is a cross-check only; a graph it rejects is checked below
            return {}
        shapes = {}
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                shapes[vi.name] = [d.dim_value for d in dims]
        return shapes

    def read_input(self):
        for init in self.graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        data = [i for i in self.graph.input if i.name not in self.consts]
        if len(data) != 1:
            raise Refusal("the graph has %d inputs (%s); lenetgen networks have one input, and "
                          "weights must be initializers" % (len(data), ", ".join('"%s"' % i.name for i in data)))
        inp = data[0]
        tt = inp.type.tensor_type
        if not inp.type.HasField("tensor_type") or tt.elem_type != onnx.TensorProto.FLOAT:
            raise Refusal('input "%s" has element type %s; lenetgen networks take float32' % (
                inp.name, onnx.TensorProto.DataType.Name(tt.elem_type) if inp.type.HasField("tensor_type")
                else "(not a tensor)"))
        if not tt.HasField("shape"):
            raise Refusal('input "%s" has no shape; export with a fixed input size' % inp.name)
        dims = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif k == 0:
                dims.append(1)  # a dynamic batch: the C runs one sample at a time
                self.batch_text = d.dim_param or "N"
            else:
                raise Refusal('input "%s" has dynamic dimension %d (%s); export with a fixed input size '
                              '(no dynamic_axes except the batch)' % (
                                  inp.name, k, '"%s"' % d.dim_param if d.dim_param else "unknown"))
        if len(dims) not in (2, 3, 4):
            raise Refusal('input "%s" has shape %s; lenetgen takes [N, F], [N, C, L] or [N, C, H, W] '
                          "(batch first)" % (inp.name, shape_text(dims)))
        self.input_name = inp.name
        self.batch = dims[0]
        self.input_dims = dims
        self.shape = tuple(dims[1:])
        self.data_shapes[inp.name] = list(dims)
        return dims

    # ---------- constants ----------

    def const_input(self, node, k, what, required=True):
        name = node.inputs[k] if k < len(node.inputs) else ""
        if name == "":
            if required:
                node.refuse("%s (input %d) is missing" % (what, k))
            return None
        if name not in self.consts:
            node.refuse('%s (input %d, "%s") is computed in the graph; lenetgen needs it as a constant '
                        "(an initializer)" % (what, k, name))
        return self.consts[name]

    def try_fold(self, node):
        """Evaluate a node whose inputs are all known constants (or shapes of data
        tensors); returns True when it was folded."""
        op = node.op
        if op == "Constant":
            value = None
            for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
                if key in node.attrs:
                    v = node.attrs[key]
                    value = numpy_helper.to_array(v) if key == "value" else np.array(v)
            if value is None:
                node.refuse("attribute %s is not supported" % ", ".join(sorted(node.attrs)))
            self.consts[node.outputs[0]] = value
            return True
        if op == "Shape" and node.inputs[0] in self.data_shapes:
            dims = self.data_shapes[node.inputs[0]]
            start, end = node.attr("start", 0), node.attr("end", len(dims))
            self.consts[node.outputs[0]] = np.array(dims, dtype=np.int64)[start:end]
            return True
        ins = [i for i in node.inputs if i != ""]
        if not ins or not all(i in self.consts for i in ins):
            return False
        vals = [self.consts[i] for i in ins]
        if op == "Gather":
            out = np.take(vals[0], vals[1], axis=node.attr("axis", 0))
        elif op == "Unsqueeze":
            axes = node.attr("axes", None) if self.opset < 13 else [int(a) for a in vals[1]]
            out = vals[0]
            for a in sorted(int(a) % (out.ndim + len(axes)) for a in axes):
                out = np.expand_dims(out, a)
        elif op == "Squeeze" and self.opset < 13:
            out = np.squeeze(vals[0], axis=tuple(node.attr("axes", [])) or None)
        elif op == "Concat":
            out = np.concatenate(vals, axis=node.attr("axis", 0))
        elif op == "Transpose":
            out = np.transpose(vals[0], node.attr("perm", None))
        elif op == "Cast":
            out = vals[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[node.attr("to", 1)])
        elif op in ("Identity", "Dropout"):
            out = vals[0]
        else:
            return False
        self.consts[node.outputs[0]] = np.asarray(out)
        return True

    # ---------- the chain ----------

    def run(self):
        self.read_input()
        nodes = [Node(p, k) for k, p in enumerate(self.graph.node)]
        for node in nodes:
            if node.proto.domain not in ("", "ai.onnx"):
                node.refuse('operator domain "%s" is not supported (only the standard ONNX operators)'
                            % node.proto.domain)
        self.current = self.input_name
        pending = [n for n in nodes if not self.try_fold(n)]
        k = 0
        while k < len(pending):
            node = pending[k]
            if self.try_fold(node):  # e.g. a Shape of a tensor produced earlier in the chain
                k += 1
                continue
            if not node.inputs or node.inputs[0] != self.current:
                reads = ", ".join('"%s"' % i for i in node.inputs if i)
                node.refuse("reads %s, not the output of the previous layer (\"%s\"); lenetgen imports a "
                            "chain of layers, without branches or skip connections" % (reads or "nothing",
                                                                                       self.current))
            handler = getattr(self, "op_" + node.op, None)
            if handler is None:
                node.refuse("operator %s is not supported; supported: %s" % (node.op, ", ".join(SUPPORTED)))
            extra = [o for o in node.outputs[1:] if o]
            consumed = handler(node, pending[k + 1:]) or 0
            if extra and node.op != "Dropout":   # after the handler: its attribute checks say more
                node.refuse("output %d (\"%s\") is not supported: lenetgen layers have one output"
                            % (node.outputs.index(extra[0]), extra[0]))
            if node.op == "Dropout" and extra and self.is_read(extra[0], pending[k + 1:]):
                node.refuse('its mask output "%s" is used; lenetgen removes Dropout at inference' % extra[0])
            self.current = node.outputs[0] if not consumed else pending[k + consumed].outputs[0]
            self.data_shapes[self.current] = [self.batch] + list(self.shape)
            self.cross_check(node if not consumed else pending[k + consumed])
            k += 1 + consumed
        outputs = [o.name for o in self.graph.output]
        if outputs != [self.current]:
            raise Refusal("the graph's outputs (%s) are not the end of the chain (\"%s\"); lenetgen networks "
                          "have one output" % (", ".join('"%s"' % o for o in outputs), self.current))
        if not self.layers:
            raise Refusal("the graph has no layers lenetgen can generate (only %s)" % (
                ", ".join(self.removed) or "constants"))

    def is_read(self, name, nodes):
        return any(name in n.inputs for n in nodes) or name in [o.name for o in self.graph.output]

    def cross_check(self, node):
        """Our shape arithmetic against ONNX's shape inference (where it has an answer)."""
        want = self.inferred.get(node.outputs[0])
        if self.pending_pads:   # a Pad's output: the next layer applies its padding
            return
        got = [self.batch] + list(self.shape)
        if want is not None and want[1:] != got[1:]:
            node.refuse("output shape %s by lenetgen's rules but %s by ONNX's; this combination of "
                        "attributes is not supported" % (shape_text(got), shape_text(want)))

    def add(self, kind, node, fields=None, tensors=None):
        comment = node.comment
        if self.pending_pads:
            comment = "%s + %s" % (self.pending_pads[1], comment)
            self.pending_pads = None
        self.layers.append(Layer(kind, comment, fields, tensors))

    def need_spatial(self, node):
        if len(self.shape) < 2:
            node.refuse("input is %s per sample; %s needs [N, C, H, W] or [N, C, L]"
                        % (shape_text(self.shape), node.op))

    def need_flat(self, node):
        """Linear layers read a flat vector: the [N, F] input becomes F x 1 x 1 in the
        description, so one flatten makes it a vector again."""
        if len(self.shape) != 1:
            node.refuse("input is %s per sample; %s needs [N, F]: add a Flatten before it"
                        % (shape_text(self.shape), node.op))
        if not self.lg_flat:
            self.layers.append(Layer("flatten", "the [N, F] input read as F x 1 x 1, made a vector for %s"
                                     % node.comment))
            self.lg_flat = True

    # ---------- spatial attributes ----------

    def spatial(self, node, name, default, kernel_rank):
        v = node.attr(name, None)
        if v is None:
            return [default] * kernel_rank
        if len(v) != kernel_rank:
            node.refuse("attribute %s=%s has %d entries for a %d-D input" % (name, attr_text(v), len(v), kernel_rank))
        return list(v)

    def window(self, node, kernel, pool):
        """kernel (list, 1 or 2 entries) -> (stride, dilation, pads [t, l, b, r] as
        resolved numbers, padding field value or None, output spatial dims)."""
        rank = len(kernel)
        stride = self.spatial(node, "strides", 1, rank)
        dil = self.spatial(node, "dilations", 1, rank)
        pads = node.attr("pads", None)
        auto = node.attr("auto_pad", "NOTSET")
        if pads is not None and auto != "NOTSET":
            node.refuse("attribute auto_pad=%s together with pads is not supported" % auto)
        if pads is None:
            pads = [0] * (2 * rank)
        if len(pads) != 2 * rank:
            node.refuse("attribute pads=%s has %d entries for a %d-D input" % (attr_text(pads), len(pads), rank))
        if any(p < 0 for p in pads):
            node.refuse("attribute pads=%s is not supported (negative padding)" % attr_text(pads))
        ceil = node.attr("ceil_mode", 0) == 1
        ins = list(self.shape[1:])
        if rank == 1:   # [N, C, L] is C x 1 x L: the height axis does nothing
            kernel, stride, dil, ins = [1] + kernel, [1] + stride, [1] + dil, [1] + ins
            pads = [0, pads[0], 0, pads[1]]
        begin, end = [pads[0], pads[1]], [pads[2], pads[3]]
        if self.pending_pads:
            padded = self.pending_pads[0]
            begin, end = padded[:2], padded[2:]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            for a in range(2):
                out = -(-ins[a] // stride[a])
                total = max((out - 1) * stride[a] + (kernel[a] - 1) * dil[a] + 1 - ins[a], 0)
                small = total // 2
                begin[a], end[a] = (small, total - small) if auto == "SAME_UPPER" else (total - small, small)
            field = "same" if auto == "SAME_UPPER" else "same_lower"
        elif auto in ("NOTSET", "VALID"):
            if auto == "VALID":
                begin, end = [0, 0], [0, 0]
            t, l, b, r = begin[0], begin[1], end[0], end[1]
            if t == b and l == r:
                field = None if t == l == 0 else (t if t == l else [t, l])
            else:
                field = [t, l, b, r]
        else:
            node.refuse("attribute auto_pad=%s is not supported" % auto)
        out = []
        for a in range(2):
            span = (kernel[a] - 1) * dil[a] + 1
            room = ins[a] + begin[a] + end[a] - span
            if room < 0:
                node.refuse("the %dx%d window does not fit the %dx%d input" % (kernel[0], kernel[1], ins[0], ins[1]))
            n = (-(-room // stride[a]) if ceil else room // stride[a]) + 1
            if ceil and (n - 1) * stride[a] >= ins[a] + begin[a]:
                n -= 1  # PyTorch's rule: the last window starts inside the input or its leading padding
            out.append(n)
        return stride, dil, begin + end, field, out

    @staticmethod
    def pair(v):
        return v[0] if v[0] == v[1] else list(v)

    # ---------- operators ----------

    def op_Conv(self, node, _rest):
        node.check_attrs({"auto_pad": None, "dilations": None, "group": None, "kernel_shape": None,
                          "pads": None, "strides": None})
        self.need_spatial(node)
        w = self.const_input(node, 1, "weight W")
        b = self.const_input(node, 2, "bias B", required=False)
        group = node.attr("group", 1)
        rank = len(self.shape) - 1
        if w.ndim != rank + 2:
            node.refuse("weight W has shape %s; a %d-D convolution needs %d dimensions"
                        % (shape_text(w.shape), rank, rank + 2))
        kernel = list(w.shape[2:])
        if node.attr("kernel_shape", kernel) != kernel:
            node.refuse("attribute kernel_shape=%s does not match the weight's %s"
                        % (attr_text(node.attrs["kernel_shape"]), shape_text(kernel)))
        c_in, m = self.shape[0], w.shape[0]
        if group < 1 or c_in % group or m % group or w.shape[1] * group != c_in:
            node.refuse("attribute group=%d does not fit %d input channels and weight %s"
                        % (group, c_in, shape_text(w.shape)))
        if b is not None and b.shape != (m,):
            node.refuse("bias B has shape %s; expected [%d]" % (shape_text(b.shape), m))
        stride, dil, _, padding, out = self.window(node, kernel, pool=False)
        k2 = ([1] + kernel) if rank == 1 else kernel
        fields = [("out_channels", m), ("kernel", self.pair(k2))]
        if stride != [1] * 2:
            fields.append(("stride", self.pair(stride)))
        if padding is not None:
            fields.append(("padding", padding))
        if dil != [1, 1]:
            fields.append(("dilation", self.pair(dil)))
        if group != 1:
            fields.append(("groups", group))
        tensors = [("weight", w.reshape([m, w.shape[1]] + k2))]
        if b is None:
            fields.append(("bias", False))
        else:
            tensors.append(("bias", b))
        self.add("conv2d", node, fields, tensors)
        self.shape = (m,) + (tuple(out) if rank == 2 else (out[1],))

    def pool(self, node, kind):
        self.need_spatial(node)
        kernel = node.attr("kernel_shape", None)
        if kernel is None:
            node.refuse("attribute kernel_shape is missing")
        rank = len(self.shape) - 1
        if len(kernel) != rank:
            node.refuse("attribute kernel_shape=%s has %d entries for a %d-D input"
                        % (attr_text(kernel), len(kernel), rank))
        stride, dil, pads, padding, out = self.window(node, list(kernel), pool=True)
        k2 = ([1] + list(kernel)) if rank == 1 else list(kernel)
        if any(pads[a] > k2[a % 2] // 2 for a in range(4)):
            node.refuse("padding %s is more than half the %dx%d kernel; lenetgen's pooling follows PyTorch, "
                        "which refuses this" % (shape_text(pads), k2[0], k2[1]))
        fields = [("kernel", self.pair(k2))]
        if stride != k2:   # lenetgen's pooling stride defaults to the kernel, ONNX's to 1
            fields.append(("stride", self.pair(stride)))
        if padding is not None:
            fields.append(("padding", padding))
        if node.attr("ceil_mode", 0):
            fields.append(("ceil_mode", True))
        if kind == "maxpool2d" and dil != [1, 1]:
            fields.append(("dilation", self.pair(dil)))
        if kind == "avgpool2d" and any(pads) and not node.attr("count_include_pad", 0) and not self.pending_pads:
            fields.append(("count_include_pad", False))   # ONNX's default; lenetgen's is PyTorch's (true)
        self.add(kind, node, fields)
        self.shape = (self.shape[0],) + (tuple(out) if rank == 2 else (out[1],))

    def op_AveragePool(self, node, _rest):
        node.check_attrs({"auto_pad": None, "ceil_mode": None, "count_include_pad": None,
                          "kernel_shape": None, "pads": None, "strides": None})
        self.pool(node, "avgpool2d")

    def op_MaxPool(self, node, _rest):
        node.check_attrs({"auto_pad": None, "ceil_mode": None, "dilations": None, "kernel_shape": None,
                          "pads": None, "strides": None, "storage_order": lambda v: v == 0})
        self.pool(node, "maxpool2d")

    def op_GlobalAveragePool(self, node, _rest):
        node.check_attrs({})
        self.need_spatial(node)
        self.add("global_avgpool", node)
        self.shape = (self.shape[0],) + (1,) * (len(self.shape) - 1)

    def elementwise(self, kind, node, fields=None, tensors=None):
        self.add(kind, node, fields, tensors)

    def op_Relu(self, node, _rest):
        node.check_attrs({"consumed_inputs": None})
        self.elementwise("relu", node)

    def op_Sigmoid(self, node, _rest):
        node.check_attrs({"consumed_inputs": None})
        self.elementwise("sigmoid", node)

    def op_Tanh(self, node, _rest):
        node.check_attrs({"consumed_inputs": None})
        self.elementwise("tanh", node)

    def op_LeakyRelu(self, node, _rest):
        node.check_attrs({"alpha": None, "consumed_inputs": None})
        alpha = node.attr("alpha", DEFAULT_SLOPE)
        fields = [] if np.float32(alpha) == np.float32(DEFAULT_SLOPE) else [("negative_slope", float(alpha))]
        self.elementwise("leaky_relu", node, fields)

    def op_PRelu(self, node, _rest):
        node.check_attrs({"consumed_inputs": None})
        slope = self.const_input(node, 1, "slope").astype(np.float32)
        channels = self.shape[0]
        if slope.size == 1:
            weight = slope.reshape([1])
        elif self.opset < 7 and slope.ndim == 1 and slope.shape[0] == channels:
            weight = slope   # PRelu-6: a 1-D slope is one value per channel
        else:
            try:
                full = np.broadcast_to(slope, (1,) + tuple(self.shape))[0].reshape(channels, -1)
                per_channel = slope.ndim <= len(self.shape) and (full == full[:, :1]).all()
            except ValueError:
                per_channel = False
            if not per_channel:
                node.refuse("slope of shape %s is not one value per channel of the input %s; lenetgen's prelu "
                            "has one slope per channel ([C] or [1], as PyTorch's nn.PReLU)"
                            % (shape_text(slope.shape), shape_text([self.batch] + list(self.shape))))
            weight = full[:, 0].copy()
        self.elementwise("prelu", node, None, [("weight", weight)])

    def op_Clip(self, node, _rest):
        if self.opset < 11:
            node.check_attrs({"min": None, "max": None, "consumed_inputs": None})
            lo, hi = node.attr("min", -math.inf), node.attr("max", math.inf)
        else:
            node.check_attrs({})
            lo_t = self.const_input(node, 1, "min", required=False)
            hi_t = self.const_input(node, 2, "max", required=False)
            lo = -math.inf if lo_t is None else float(lo_t)
            hi = math.inf if hi_t is None else float(hi_t)
        if lo == 0 and hi == 6:
            self.elementwise("relu6", node)
        elif lo == 0 and hi == math.inf:
            self.elementwise("relu", node)
        else:
            fields = [(k, v) for k, v in (("min", lo), ("max", hi)) if not math.isinf(v)]
            if not fields:
                node.refuse("has neither min nor max: it does nothing; remove it")
            self.elementwise("clip", node, fields)

    def op_BatchNormalization(self, node, _rest):
        node.check_attrs({"epsilon": None, "momentum": None, "training_mode": lambda v: v == 0,
                          "spatial": lambda v: v == 1, "is_test": lambda v: v == 1, "consumed_inputs": None})
        names = ["scale", "B", "input_mean", "input_var"]
        arrays = [self.const_input(node, k + 1, names[k]).astype(np.float32) for k in range(4)]
        channels = self.shape[0]
        for name, a in zip(names, arrays):
            if a.shape != (channels,):
                node.refuse("%s has shape %s; expected [%d] (one per channel)" % (name, shape_text(a.shape), channels))
        eps = node.attr("epsilon", DEFAULT_EPS)
        fields = [] if np.float32(eps) == np.float32(DEFAULT_EPS) else [("eps", float(eps))]
        self.add("batchnorm2d", node, fields, list(zip(("weight", "bias", "running_mean", "running_var"), arrays)))

    def flatten_to_vector(self, node):
        self.add("flatten", node)
        self.shape = (int(np.prod(self.shape)),)
        self.lg_flat = True

    def op_Flatten(self, node, _rest):
        node.check_attrs({"axis": None})
        rank = len(self.shape) + 1
        axis = node.attr("axis", 1)
        if axis < 0:
            axis += rank
        if axis != 1:
            node.refuse("attribute axis=%s is not supported (only 1: keep the batch, flatten the rest)"
                        % node.attrs["axis"])
        self.flatten_to_vector(node)

    def op_Reshape(self, node, _rest):
        node.check_attrs({"allowzero": lambda v: v == 0})
        target = [int(v) for v in self.const_input(node, 1, "shape").reshape(-1)]
        dims = [self.batch] + list(self.shape)
        out = [dims[k] if v == 0 and k < len(dims) else v for k, v in enumerate(target)]
        if out.count(-1) == 1:
            known = int(np.prod([v for v in out if v != -1]))
            total = int(np.prod(dims))
            if known == 0 or total % known:
                node.refuse("shape %s does not fit the input %s" % (shape_text(target), shape_text(dims)))
            out[out.index(-1)] = total // known
        if out == dims:
            self.removed.append(node.comment)
            return
        if out != [self.batch, int(np.prod(self.shape))]:
            node.refuse("reshapes %s to %s; lenetgen supports only the reshape that flattens each sample "
                        "([N, -1])" % (shape_text(dims), shape_text(out)))
        self.flatten_to_vector(node)

    def linear(self, node, weight, bias, extra_comment=""):
        self.need_flat(node)
        fields = [("out_features", weight.shape[0])]
        tensors = [("weight", weight.astype(np.float32))]
        if bias is None:
            fields.append(("bias", False))
        else:
            tensors.append(("bias", bias.astype(np.float32)))
        self.layers.append(Layer("linear", node.comment + extra_comment, fields, tensors))
        self.shape = (weight.shape[0],)

    def vector_bias(self, node, c, n_out, what):
        """A bias that broadcasts to [N, n_out] without depending on the sample."""
        if c.size == 1:
            return np.full([n_out], c.reshape(-1)[0], dtype=np.float32)
        if c.shape in ((n_out,), (1, n_out)):
            return c.reshape(n_out)
        node.refuse("%s of shape %s is not one value per output (expected [%d] or [1, %d])"
                    % (what, shape_text(c.shape), n_out, n_out))

    def op_Gemm(self, node, _rest):
        node.check_attrs({"alpha": None, "beta": None, "transA": lambda v: v == 0, "transB": None,
                          "broadcast": None})
        b = self.const_input(node, 1, "B").astype(np.float64)
        c = self.const_input(node, 2, "C", required=False)
        if b.ndim != 2:
            node.refuse("B has shape %s; expected a matrix" % shape_text(b.shape))
        weight = b if node.attr("transB", 0) else b.T
        if weight.shape[1] != self.shape[0]:
            node.refuse("B has shape %s, which does not fit %d input features" % (shape_text(b.shape), self.shape[0]))
        alpha, beta = node.attr("alpha", 1.0), node.attr("beta", 1.0)
        bias = None
        if c is not None and beta != 0:
            bias = self.vector_bias(node, c.astype(np.float64), weight.shape[0], "C") * beta
        notes = ", alpha=%s folded into the weight" % f32_text(alpha) if alpha != 1 else ""
        notes += ", beta=%s folded into the bias" % f32_text(beta) if beta != 1 and bias is not None else ""
        self.linear(node, weight * alpha, bias, notes)

    def op_MatMul(self, node, rest):
        node.check_attrs({})
        w = self.const_input(node, 1, "B")
        if w.ndim != 2 or w.shape[0] != (self.shape[0] if len(self.shape) == 1 else -1):
            if len(self.shape) == 1:
                node.refuse("B has shape %s, which does not fit %d input features" % (shape_text(w.shape), self.shape[0]))
        following = rest[0] if rest else None
        if following is not None and following.op == "Add" and following.inputs[:1] == node.outputs[:1] \
                and len(following.inputs) == 2 and following.inputs[1] in self.consts:
            following.check_attrs({"broadcast": None, "axis": None, "consumed_inputs": None})
            bias = self.vector_bias(following, self.consts[following.inputs[1]], w.shape[1], "the added bias")
            self.linear(node, w.T, bias, " + " + following.comment)
            return 1
        self.linear(node, w.T, None)
        return 0

    def op_Pad(self, node, rest):
        """A zero Pad of the spatial axes: PyTorch 1.13 puts one (often empty) before
        AveragePool. It joins the next Conv or AveragePool as its padding (padded zeros
        counted, as PyTorch's count_include_pad)."""
        if self.opset < 11:
            node.check_attrs({"mode": lambda v: v == "constant", "pads": None, "value": lambda v: v == 0})
            pads, value = node.attr("pads", []), 0
        else:
            node.check_attrs({"mode": lambda v: v == "constant"})
            pads = [int(v) for v in self.const_input(node, 1, "pads")]
            value_t = self.const_input(node, 2, "constant_value", required=False)
            value = 0 if value_t is None else float(value_t)
        rank = len(self.shape) + 1
        if value != 0:
            node.refuse("constant_value %s is not supported (only zero padding)" % f32_text(value))
        begin, end = pads[:rank], pads[rank:]
        if len(pads) != 2 * rank or any(begin[:2]) or any(end[:2]) or any(p < 0 for p in pads):
            node.refuse("pads %s is not supported (only non-negative padding of the spatial axes)" % shape_text(pads))
        if not any(pads):
            self.removed.append(node.comment)
            return 0
        following = rest[0] if rest else None
        if following is None or following.op not in ("Conv", "AveragePool") or following.inputs[0] != node.outputs[0] \
                or any(following.attr("pads", [0])) or following.attr("auto_pad", "NOTSET") != "NOTSET":
            node.refuse("padding %s is supported only right before a Conv or AveragePool without padding of "
                        "its own" % shape_text(pads))
        if following.op == "AveragePool" and following.attr("ceil_mode", 0):
            node.refuse("padding %s before an AveragePool with ceil_mode=1 is not supported" % shape_text(pads))
        spatial = [0] * (4 - rank) + begin[2:] + [0] * (4 - rank) + end[2:]
        self.pending_pads = (spatial, node.comment)
        return 0

    def op_Dropout(self, node, _rest):
        node.check_attrs({"ratio": None, "is_test": None, "seed": None, "consumed_inputs": None})
        mode = self.const_input(node, 2, "training_mode", required=False)
        if mode is not None and bool(mode):
            node.refuse("training_mode is true; export the model in eval mode")
        self.removed.append(node.comment)

    def op_Identity(self, node, _rest):
        node.check_attrs({})
        self.removed.append(node.comment)

    def op_Softmax(self, node, rest):
        node.check_attrs({"axis": None})
        if rest:
            node.refuse("is followed by %s; lenetgen's softmax must be the last layer" % rest[0].label)
        dims = [self.batch] + list(self.shape)
        rank = len(dims)
        default = 1 if self.opset < 13 else -1
        axis = node.attr("axis", default)
        if axis < 0:
            axis += rank
        # Before opset 13 the axis splits the tensor in two (all later dimensions
        # are normalised together); from 13 on only that one dimension is.
        covered = dims[axis:] if self.opset < 13 else dims[axis:axis + 1]
        if axis == 0 or int(np.prod(covered)) != int(np.prod(self.shape)):
            node.refuse("attribute axis=%s%s normalises over %s of the input %s; lenetgen's softmax covers "
                        "each sample's whole output vector" % (
                            node.attr("axis", default),
                            "" if "axis" in node.attrs else " (the default)", shape_text(covered), shape_text(dims)))
        self.add("softmax", node)


SUPPORTED = sorted(name[3:] + (" (+ Add)" if name == "op_MatMul" else "")
                   for name in dir(Importer) if name.startswith("op_"))


# ---------- vectors ----------

def test_vectors(model_path, importer, force):
    """input [N, ...] and output [N, K] from test_data_set_*/ beside the model."""
    base = os.path.dirname(model_path) or "."
    sets = sorted(d for d in os.listdir(base) if re.match(r"^test_data_set_\d+$", d)
                  and os.path.isfile(os.path.join(base, d, "input_0.pb")))
    if not sets:
        if force:
            raise Refusal("--vectors: no test_data_set_*/input_0.pb and output_0.pb beside the model; "
                          "tools/torch-export writes them for a PyTorch model")
        return None
    ins, outs = [], []
    for d in sets:
        arrays = []
        for name in ("input_0.pb", "output_0.pb"):
            p = os.path.join(base, d, name)
            try:
                arrays.append(numpy_helper.to_array(onnx.load_tensor(p)).astype(np.float32))
            except Exception as e:
                raise Refusal("%s: not a readable ONNX tensor (%s)" % (p, type(e).__name__))
        x, y = arrays
        if list(x.shape[1:]) != importer.input_dims[1:] or y.shape[0] != x.shape[0]:
            raise Refusal("%s/input_0.pb has shape %s, which does not fit the model's input %s"
                          % (d, shape_text(x.shape), shape_text(importer.input_dims)))
        ins.append(x)
        outs.append(y.reshape(y.shape[0], -1))
    x, y = np.concatenate(ins), np.concatenate(outs)
    if y.shape[1] != int(np.prod(importer.shape)):
        raise Refusal("output_0.pb holds %d values per sample; the model gives %d"
                      % (y.shape[1], int(np.prod(importer.shape))))
    return [("input", x), ("output", y)]


# ---------- writing ----------

def safetensors_bytes(tensors):
    header, blobs, offset = {}, [], 0
    for name, array in tensors:
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": [int(d) for d in array.shape],
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def describe(importer, name, model_path, vectors):
    dims = importer.input_dims
    if len(dims) == 4:
        c, h, w = dims[1:]
    elif len(dims) == 3:
        c, h, w = dims[1], 1, dims[2]
    else:
        c, h, w = dims[1], 1, 1
    producer = importer.model.producer_name or "unknown"
    if importer.model.producer_version:
        producer += " " + importer.model.producer_version
    out = ["-- Imported by lenetgen-import from %s (opset %d, exported by %s)."
           % (os.path.basename(model_path), importer.opset, producer),
           '-- Layer i reads "<i>.weight", "<i>.bias", ...; each layer names the ONNX node it came from.',
           "return {",
           '  name = "%s",' % name,
           "  input = { channels = %d, height = %d, width = %d },  -- ONNX input \"%s\": %s"
           % (c, h, w, importer.input_name, shape_text([importer.batch_text or dims[0]] + dims[1:])),
           ]
    out.append('  weights = "%s.safetensors",' % name)
    if vectors:
        out.append('  check = "%s_check.safetensors",  -- input and output of the ONNX test data' % name)
    if importer.removed:
        out.append("  -- removed (no effect at inference): %s" % ", ".join(importer.removed))
    out.append("  layers = {")
    for k, layer in enumerate(importer.layers):
        fields = ['type = "%s"' % layer.kind] + ["%s = %s" % (f, lua_value(v)) for f, v in layer.fields]
        out.append("    { %s },  -- %d: %s" % (", ".join(fields), k, layer.comment))
    out += ["  },", "}", ""]
    return "\n".join(out)


def write_outputs(out_dir, files):
    """All files appear together or none does: written to a temporary directory
    beside DIR, then renamed into DIR one by one (each rename is atomic)."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise Refusal("-o %s exists and is not a directory" % out_dir)
    tmp = tempfile.mkdtemp(prefix=".lenetgen-import-", dir=parent)
    try:
        for fname, data in files:
            with open(os.path.join(tmp, fname), "wb") as f:
                f.write(data)
        os.makedirs(out_dir, exist_ok=True)
        for fname, _ in files:
            os.replace(os.path.join(tmp, fname), os.path.join(out_dir, fname))
    finally:
        for fname in os.listdir(tmp):
            os.unlink(os.path.join(tmp, fname))
        os.rmdir(tmp)


def c_identifier(stem):
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem)
    name = re.sub(r"_+", "_", name).strip("_") or "model"
    return ("m" + name) if name[0].isdigit() else name


def parse_args(argv):
    opts = {"model": None, "out": None, "name": None, "vectors": False}
    k = 0
    while k < len(argv):
        a = argv[k]
        if a in ("-h", "--help"):
            opts["help"] = True
        elif a == "--vectors":
            opts["vectors"] = True
        elif a in ("-o", "--name"):
            if k + 1 >= len(argv):
                raise UsageError("%s needs a value" % a)
            opts["out" if a == "-o" else "name"] = argv[k + 1]
            k += 1
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown option %s" % a)
        elif opts["model"] is None:
            opts["model"] = a
        else:
            raise UsageError("one model at a time (got %s and %s)" % (opts["model"], a))
        k += 1
    if opts.get("help"):
        return opts
    if opts["model"] is None:
        raise UsageError("no model given")
    if opts["out"] is None:
        raise UsageError("no output directory given (-o DIR)")
    if opts["name"] is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", opts["name"]):
        raise UsageError("--name %s is not a C identifier (letters, digits and _)" % opts["name"])
    return opts


def load_model(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Refusal("cannot read: %s" % (e.strerror or e))
    if not data:
        raise Refusal("the file is empty, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except Exception:
        raise Refusal("not an ONNX model (it does not parse as an ONNX protobuf; truncated or another format)")
    if model.ir_version <= 0 or not model.HasField("graph") or len(model.graph.node) == 0:
        raise Refusal("not an ONNX model (no IR version or no graph nodes; truncated or another format)")
    Importer.default_opset(model)   # before the checker, which knows no newer opset
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Refusal("the ONNX checker rejects the model: %s" % first)
    return model


def main(argv, prog="lenetgen-import"):
    prog = os.path.basename(prog)
    try:
        opts = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("%s: error: %s (see %s --help)\n" % (prog, e, prog))
        return 2
    if opts.get("help"):
        sys.stdout.write(USAGE.format(prog=prog))
        return 0
    path = opts["model"]
    try:
        model = load_model(path)
        importer = Importer(model, path)
        importer.run()
        name = opts["name"] or c_identifier(os.path.splitext(os.path.basename(path))[0])
        vectors = test_vectors(path, importer, opts["vectors"])
        tensors = [("%d.%s" % (k, suffix), array) for k, layer in enumerate(importer.layers)
                   for suffix, array in layer.tensors]
        files = [(name + ".lua", describe(importer, name, path, vectors).encode())]
        files.append((name + ".safetensors", safetensors_bytes(tensors)))   # empty for weightless nets
        if vectors:
            files.append((name + "_check.safetensors", safetensors_bytes(vectors)))
        write_outputs(opts["out"], files)
    except Refusal as e:
        sys.stderr.write("%s: error: %s\n" % (path, e))
        return 1
    except OSError as e:
        sys.stderr.write("%s: error: cannot write %s: %s\n" % (path, opts["out"], e.strerror or e))
        return 1
    except Exception as e:  # never a traceback: say what failed in one line
        sys.stderr.write("%s: error: internal error in lenetgen-import (%s: %s); please report it\n"
                         % (path, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        return 1
    return 0
