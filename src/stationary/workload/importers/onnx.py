"""Import an ONNX model as a Network: onnx.load, shape inference, then one Layer per operator that computes.

Constants (initializers, Constant nodes and what is computed only from them) and shape arithmetic
(Shape -> Gather -> Concat -> Reshape) make no layer; neither do structural operators (Reshape, Flatten,
Transpose, Concat, Slice, ...). A MatMul by a constant matrix is a linear (FC) layer and the Add of its bias
that exporters emit after it is folded into that layer, as PyTorch's nn.Linear computes it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError
from stationary.workload.importers.common import (
    ELTWISE_OPS,
    ImportedNetwork,
    Namer,
    Warnings,
    conv_layer,
    eltwise_layer,
    fc_layer,
    matmul_layer,
    pool_layer,
    producers,
)
from stationary.workload.layer import Layer

STRUCTURAL = frozenset(
    [
        "Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Identity",
        "Dropout", "Shape", "Size", "Gather", "GatherElements", "Constant", "ConstantOfShape", "Cast",
        "CastLike", "Expand", "Tile", "Pad", "Range", "DepthToSpace", "SpaceToDepth", "Optional",
        "OptionalGetElement"
    ]
)
REDUCTIONS = frozenset({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2"})
# ONNX operator -> canonical element-wise name (the key into ELTWISE_OPS).
ELTWISE: dict[str, str] = {
    "Relu": "relu", "Gelu": "gelu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish",
    "HardSigmoid": "hardsigmoid", "LeakyRelu": "leaky_relu", "Elu": "elu", "Selu": "selu", "Celu": "celu",
    "Mish": "mish", "Softplus": "softplus", "PRelu": "prelu", "Add": "add", "Sub": "sub", "Mul": "mul",
    "Div": "div", "Neg": "neg", "Pow": "pow", "Sqrt": "sqrt", "Exp": "exp", "Log": "log", "Abs": "abs",
    "Clip": "clamp", "Erf": "erf", "Reciprocal": "reciprocal", "Where": "where", "Max": "maximum",
    "Min": "minimum", "Floor": "floor", "Ceil": "ceil", "Round": "round", "Sign": "sign", "Not": "not",
    "And": "and", "Or": "or", "Equal": "equal", "Less": "less", "Greater": "greater", "Mod": "mod",
    "BatchNormalization": "batch_norm", "LayerNormalization": "layer_norm", "GroupNormalization": "group_norm",
    "InstanceNormalization": "instance_norm", "RMSNormalization": "rms_norm", "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
}
POOLS = frozenset({"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool"})


def import_onnx(path: str | Path, batch: int | None = None,
                input_shape: tuple[int, ...] | None = None) -> ImportedNetwork:
    """Read `path`; `input_shape` fixes the first input's shape, `batch` its first (batch) dimension."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - optional dependency
        raise StationaryError("importing ONNX needs the onnx package: pip install 'stationary[onnx]'") from None
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise StationaryError("no such file", file=file)
    if batch is not None and batch < 1:
        raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf decode errors have many types
        raise StationaryError(f"not a readable ONNX model ({type(exc).__name__}: {_first_line(exc)})",
                              file=file) from None
    graph = model.graph
    if not graph.node:
        raise StationaryError("not an ONNX model with a graph (no nodes)", file=file)
    changed = _fix_input_shape(graph, batch, input_shape, file)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=changed, data_prop=True)
    except Exception as exc:  # noqa: BLE001
        hint = " (its Reshape nodes may fix the batch it was exported with; re-export with a dynamic batch axis)"
        raise StationaryError(f"shape inference failed{hint if changed else ''}: {_first_line(exc)}",
                              file=file) from None
    return _OnnxImporter(inferred.graph, path.stem, file).run()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _fix_input_shape(graph: Any, batch: int | None, input_shape: tuple[int, ...] | None, file: str) -> bool:
    """Give every graph input concrete dims (symbolic batch -> `batch`); True if a fixed dim was changed."""
    inits = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if not inputs:
        raise StationaryError("the model has no input", file=file)
    changed = False
    for k, value in enumerate(inputs):
        dims = value.type.tensor_type.shape.dim
        if k == 0 and input_shape is not None:
            if len(input_shape) != len(dims):
                raise StationaryError(
                    f"input {value.name!r} has rank {len(dims)}, --input-shape gives {len(input_shape)} dims",
                    file=file, field="--input-shape")
            for d, v in zip(dims, input_shape):
                changed |= d.HasField("dim_value") and d.dim_value != v
                d.dim_value = v
        for pos, d in enumerate(dims):
            fixed = d.HasField("dim_value") and d.dim_value > 0
            if pos == 0 and batch is not None:
                changed |= fixed and d.dim_value != batch
                d.dim_value = batch
            elif not fixed:
                if pos == 0:
                    d.dim_value = 1
                else:
                    label = d.dim_param or "?"
                    raise StationaryError(
                        f"input {value.name!r} has a symbolic dimension {label!r} at position {pos}; "
                        "give --input-shape", file=file, field="--input-shape")
    if changed:  # the declared shapes downstream were computed for the old input; let inference redo them
        del graph.value_info[:]
        for out in graph.output:
            out.type.tensor_type.ClearField("shape")
    return changed


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _OnnxImporter:
    """Walks the (topologically sorted) ONNX graph once, emitting layers."""

    def __init__(self, graph: Any, label: str, file: str) -> None:
        self.graph, self.label, self.file = graph, label, file
        self.shapes: dict[str, tuple[int, ...] | None] = {}
        for value in (*graph.input, *graph.value_info, *graph.output):
            dims = value.type.tensor_type.shape.dim
            if value.type.tensor_type.HasField("shape"):
                self.shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
        self.constant: set[str] = {t.name for t in graph.initializer}
        for t in graph.initializer:
            self.shapes[t.name] = tuple(t.dims)
        self.shape_data: set[str] = set()  # tensors that hold shapes/indices, not activations
        self.sources: dict[str, tuple[str, ...]] = {}
        self.layers: list[Layer] = []
        self.biasable: dict[str, int] = {}  # MatMul-FC output tensor -> index of its layer (bias not yet seen)
        self.namer = Namer()
        self.warn = Warnings()
        inits = self.constant
        first = next(i for i in graph.input if i.name not in inits)
        self.input_shape = tuple(self.shapes.get(first.name) or ())

    def run(self) -> ImportedNetwork:
        for index, node in enumerate(self.graph.node):
            self.visit(index, node)
        if not self.layers:
            self.warn.note(f"{self.label} has no operator that computes; the network is empty")
        return ImportedNetwork(self.label, tuple(self.layers), self.input_shape, warnings=self.warn.collect())

    # ----- helpers -------------------------------------------------------------------------------------
    def shape(self, name: str, node: Any) -> tuple[int, ...]:
        s = self.shapes.get(name)
        if s is None or any(v < 1 for v in s):
            raise StationaryError(f"shape inference left the shape of {name!r} (read by {node.op_type} "
                                  f"{node.name!r}) unknown; give --input-shape", file=self.file)
        return s

    def activations(self, node: Any) -> list[str]:
        return [i for i in node.input if i and i not in self.constant and i not in self.shape_data]

    def srcs(self, names: list[str]) -> tuple[str, ...]:
        return producers(self.sources, names)

    def add(self, node: Any, layer: Layer) -> None:
        self.layers.append(layer)
        for out in node.output:
            self.sources[out] = (layer.name,)

    def layer_name(self, index: int, node: Any) -> str:
        return self.namer(node.name.strip("/").replace("/", ".") or f"{node.op_type}_{index}")

    # ----- dispatch ------------------------------------------------------------------------------------
    def visit(self, index: int, node: Any) -> None:
        op = node.op_type
        inputs = [i for i in node.input if i]
        if op == "Constant" or (inputs and all(i in self.constant for i in inputs)):
            self.constant.update(node.output)
            return
        if op in ("Shape", "Size") or (inputs and all(i in self.constant or i in self.shape_data
                                                      for i in inputs)):
            self.shape_data.update(node.output)
            return
        acts = self.activations(node)
        for out in node.output:
            self.sources[out] = self.srcs(acts)  # default: structural pass-through
        if node.domain not in ("", "ai.onnx"):
            self.warn.unknown(f"{node.domain}.{op}", node.name or str(index))
        elif op == "Conv":
            self.conv(index, node)
        elif op in ("Gemm", "MatMul"):
            self.matmul(index, node)
        elif op in POOLS:
            self.pool(index, node)
        elif op == "Add" and self.fold_bias(node):
            pass
        elif op in ELTWISE:
            out = self.shape(node.output[0], node)
            canon = ELTWISE[op]
            self.add(node, eltwise_layer(self.layer_name(index, node), out, canon, self.srcs(acts),
                                         num_inputs=len(acts), ops_per_output=ELTWISE_OPS[canon]))
        elif op in REDUCTIONS:
            out = self.shape(node.output[0], node)
            per = max(math.prod(self.shape(acts[0], node)) // max(math.prod(out), 1), 1)
            self.add(node, eltwise_layer(self.layer_name(index, node), out, op, self.srcs(acts), 1, per))
        elif op in STRUCTURAL:
            pass
        else:
            self.warn.unknown(op, node.name or str(index))

    # ----- operators -------------------------------------------------------------------------------------
    def conv(self, index: int, node: Any) -> None:
        a = _attrs(node)
        x, w = self.shape(node.input[0], node), self.shape(node.input[1], node)
        out = self.shape(node.output[0], node)
        spatial = len(w) - 2
        if spatial not in (1, 2):
            self.warn.unknown(f"Conv ({spatial}-D)", node.name or str(index))
            return
        kernel = tuple(a.get("kernel_shape", w[2:]))
        stride = tuple(a.get("strides", (1,) * spatial))
        dilation = tuple(a.get("dilations", (1,) * spatial))
        pads = tuple(a.get("pads", (0,) * 2 * spatial))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            pads = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation)) * 2
        bias = len(node.input) > 2 and bool(node.input[2])
        self.add(node, conv_layer(self.layer_name(index, node), x, out, w[0], kernel, stride, pads[:spatial],
                                  dilation, int(a.get("group", 1)), bias, self.srcs([node.input[0]]), "conv"))

    def matmul(self, index: int, node: Any) -> None:
        a_name, b_name = node.input[0], node.input[1]
        a, b = self.shape(a_name, node), self.shape(b_name, node)
        name = self.layer_name(index, node)
        attrs = _attrs(node) if node.op_type == "Gemm" else {}
        if attrs.get("transA", 0):
            a = (*a[:-2], a[-1], a[-2])
        if attrs.get("transB", 0):
            b = (*b[:-2], b[-1], b[-2])
        if b_name in self.constant and len(b) == 2 and a_name not in self.constant:
            bias = node.op_type == "Gemm" and len(node.input) > 2 and bool(node.input[2])
            self.add(node, fc_layer(name, a, b[1], bias, self.srcs([a_name]), "linear"))
            if not bias:
                self.biasable[node.output[0]] = len(self.layers) - 1
        else:
            self.add(node, matmul_layer(name, a, b, self.srcs(self.activations(node)), "matmul"))

    def fold_bias(self, node: Any) -> bool:
        """Add(MatMul-FC output, constant bias vector): the FC layer's own bias, not a new layer."""
        ins = list(node.input)
        if len(ins) != 2:
            return False
        for act, const in (ins, ins[::-1]):
            idx = self.biasable.get(act)
            if idx is None or const not in self.constant:
                continue
            layer = self.layers[idx]
            if math.prod(self.shapes.get(const) or (0,)) == layer.M:
                self.layers[idx] = replace(layer, bias=True)
                del self.biasable[act]
                self.sources[node.output[0]] = (layer.name,)
                return True
        return False

    def pool(self, index: int, node: Any) -> None:
        a = _attrs(node)
        x, out = self.shape(node.input[0], node), self.shape(node.output[0], node)
        spatial = len(x) - 2
        if spatial not in (1, 2):
            self.warn.unknown(f"{node.op_type} ({spatial}-D)", node.name or str(index))
            return
        if node.op_type.startswith("Global"):
            kernel, stride, pads, dilation = x[2:], (1,) * spatial, (0,) * spatial, (1,) * spatial
        else:
            kernel = tuple(a["kernel_shape"])
            stride = tuple(a.get("strides", (1,) * spatial))
            pads = tuple(a.get("pads", (0,) * 2 * spatial))[:spatial]
            dilation = tuple(a.get("dilations", (1,) * spatial))
        kind = "max_pool" if "Max" in node.op_type else "avg_pool"
        self.add(node, pool_layer(self.layer_name(index, node), x, out, kernel, stride, pads, dilation,
                                  self.srcs([node.input[0]]), kind))

