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
from typing import Any, cast

from stationary.errors import StationaryError
from stationary.workload.importers.common import (
    ELTWISE_OPS,
    ImportedNetwork,
    Namer,
    Skipped,
    conv_layer,
    eltwise_layer,
    fc_layer,
    matmul_layer,
    pool_layer,
    producers,
)
from stationary.workload.importers.einsum import einsum_layers
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
_FLOAT_TYPES = frozenset({1, 10, 11, 16})  # FLOAT, FLOAT16, DOUBLE, BFLOAT16: learned weights, not indices


MAX_ONNX_BYTES = 2 * 1024**3  # protobuf's own limit for one message; weights beyond it live in external files
MAX_ONNX_NODES = 500_000  # about 20x a 70B-parameter LLM export; refuses a file made to exhaust memory or time
_SHAPE_OPS = frozenset({
    "Gather", "Div", "Mul", "Add", "Sub", "Where", "Equal", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast",
    "Range", "Reshape", "Expand", "Mod", "Floor", "Ceil", "Sqrt", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "Not", "And", "Or", "Min", "Max", "ReduceProd", "ReduceSum", "Identity", "Neg", "Abs",
    "Size", "ConstantOfShape", "Tile", "Transpose", "Flatten", "Pow", "Clip", "Round",
})
_FOLD_ELEMENTS = 4096  # shape arithmetic works on a few integers; never evaluate a real tensor
_FOLD_PASSES = 64  # each pass folds what the last inference resolved (one per stage of a deep network)


def import_onnx(path: str | Path, batch: int | None = None, input_shape: tuple[int, ...] | None = None,
                allow_skip: bool = False) -> ImportedNetwork:
    """Read `path`; `input_shape` fixes the first input's shape, `batch` its first (batch) dimension.

    A file exported with a fixed batch is re-batched by shape inference where every layer's work then scales
    exactly with the batch. Where its Reshape/Expand constants fix the old batch, a multiple of it is counted
    as independent runs of the file (with a warning) and any other batch is refused. `allow_skip` turns an
    operator that cannot be counted into a warning stating its share of the parameters."""
    path = Path(path)
    file = str(path)
    model = _load(path, file)
    if batch is not None and batch < 1:
        raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
    own = _file_batch(model)
    want = batch if batch is not None else (input_shape[0] if input_shape else None)
    if own is None or want is None or want == own:
        return _import(model, batch, input_shape, path.stem, file, allow_skip)
    ref = _import(_copy(model), None, (own, *input_shape[1:]) if input_shape else None, path.stem, file,
                  allow_skip)
    try:
        net = _import(model, batch, input_shape, path.stem, file, allow_skip)
        _check_rebatch(net, ref, want, own, file)
        return net
    except StationaryError as exc:
        if want % own:
            raise StationaryError(f"{exc.message}; a batch that is a multiple of {own} is counted as independent "
                                  f"batch-{own} inferences", file=file, field="--batch") from None
        return _replicate(ref, want // own, exc.message)


def _replicate(net: ImportedNetwork, copies: int, reason: str) -> ImportedNetwork:
    """`copies` independent runs of a file whose constants fix its batch: every layer's N times `copies`, so
    each layer does exactly `copies` times its work (heads or tokens folded into N scale with it)."""
    own = net.input_shape[0] if net.input_shape else net.batch
    note = (f"the file fixes its batch {own} in its constants ({reason}); batch {own * copies} is counted as "
            f"{copies} independent batch-{own} inferences (every layer's N x {copies})")
    layers = tuple(replace(layer, N=layer.N * copies) for layer in net)
    shape = (own * copies, *net.input_shape[1:]) if net.input_shape else ()
    return ImportedNetwork(net.name, layers, shape, warnings=(*net.warnings, note))


def _load(path: Path, file: str) -> Any:
    """onnx.load with the size and node-count bounds checked, external weight files left unread."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - optional dependency
        raise StationaryError("importing ONNX needs the onnx package: pip install 'stationary[onnx]'") from None
    if not path.is_file():
        raise StationaryError("no such file", file=file)
    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise StationaryError(f"the file is {size:,} bytes, more than the {MAX_ONNX_BYTES:,} an ONNX model can hold "
                              "(store weights as external data)", file=file)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf decode errors have many types
        raise StationaryError(f"not a readable ONNX model ({type(exc).__name__}: {_first_line(exc)})",
                              file=file) from None
    if not model.graph.node:
        raise StationaryError("not an ONNX model with a graph (no nodes)", file=file)
    if len(model.graph.node) > MAX_ONNX_NODES:
        raise StationaryError(f"the graph has {len(model.graph.node):,} nodes, more than the {MAX_ONNX_NODES:,} "
                              "this importer reads", file=file)
    return model


def _copy(model: Any) -> Any:
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _file_batch(model: Any) -> int | None:
    """The fixed first dimension of the model's first input, or None where it is symbolic."""
    inits = {t.name for t in model.graph.initializer}
    first = next((i for i in model.graph.input if i.name not in inits), None)
    dims = first.type.tensor_type.shape.dim if first is not None else ()
    return dims[0].dim_value if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0 else None


def _import(model: Any, batch: int | None, input_shape: tuple[int, ...] | None, label: str, file: str,
            allow_skip: bool) -> ImportedNetwork:
    changed = _fix_input_shape(model.graph, batch, input_shape, file)
    inferred = _infer(model, changed, file)
    if _unknown_shapes(inferred):  # sizes computed at run time (integer Div/Where on Shape): fold them, retry
        for _ in range(_FOLD_PASSES):
            if not _fold_shape_arithmetic(model, inferred):
                break
            inferred = _infer(model, changed, file)
            if not _unknown_shapes(inferred):
                break
    return _OnnxImporter(inferred.graph, label, file, allow_skip).run()


def _infer(model: Any, changed: bool, file: str) -> Any:
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=changed, data_prop=True)
    except Exception as exc:  # noqa: BLE001
        hint = " at the new batch (its Reshape/Expand constants may fix the batch it was exported with)"
        raise StationaryError(f"shape inference failed{hint if changed else ''}: {_first_line(exc)}",
                              file=file) from None


def _static(value: Any) -> tuple[int, ...] | None:
    t = value.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
    return None if any(v < 0 for v in dims) else dims


def _run(evaluator: Any, feeds: dict[str, Any]) -> Any:
    """The first output of one node's evaluation (without `intermediate`, `run` returns a list)."""
    return cast(list[Any], evaluator.run(None, feeds))[0]


def _unknown_shapes(model: Any) -> bool:
    known = {v.name for v in (*model.graph.input, *model.graph.value_info, *model.graph.output)
             if _static(v) is not None}
    known |= {t.name for t in model.graph.initializer}
    return any(out and out not in known for node in model.graph.node for out in node.output)


def _fold_shape_arithmetic(model: Any, inferred: Any) -> bool:
    """Evaluate, once, what the graph computes from static shapes and constants (Shape -> Gather -> Div ->
    Where -> Concat -> Reshape), replacing each such node by a Constant; True if anything was folded."""
    import numpy as np
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    shapes = {v.name: _static(v) for v in (*inferred.graph.input, *inferred.graph.value_info)}
    values: dict[str, Any] = {}
    for t in model.graph.initializer:
        if math.prod(t.dims) <= _FOLD_ELEMENTS and t.data_location != 1:  # 1: external data, not read
            values[t.name] = numpy_helper.to_array(t)
    folded = False
    new_nodes = []
    for node in model.graph.node:
        value = None
        try:
            if node.op_type == "Constant":
                value = _run(ReferenceEvaluator(node), {})
            elif node.op_type == "Shape" and (shape := shapes.get(node.input[0])) is not None:
                a = _attrs(node)
                value = np.array(shape[a.get("start", 0):a.get("end")], dtype=np.int64)
            elif node.op_type in _SHAPE_OPS and node.domain in ("", "ai.onnx") and len(node.output) == 1 and \
                    all(not i or i in values for i in node.input):
                feeds = {i: values[i] for i in node.input if i}
                value = _run(ReferenceEvaluator(node), feeds)
        except Exception:  # noqa: BLE001 - not foldable here; shape inference reports what stays unknown
            value = None
        if value is not None and np.asarray(value).size <= _FOLD_ELEMENTS:
            values[node.output[0]] = np.asarray(value)
            if node.op_type != "Constant":
                folded = True
                new_nodes.append(helper.make_node("Constant", [], [node.output[0]], name=node.name,
                                                  value=numpy_helper.from_array(np.asarray(value))))
                continue
        new_nodes.append(node)
    if folded:
        del model.graph.node[:]
        model.graph.node.extend(new_nodes)
    return folded


def _check_rebatch(net: ImportedNetwork, ref: ImportedNetwork, batch: int, own: int, file: str) -> None:
    """Refuse a re-batched import unless every layer's work is exactly batch/own times the file's own."""
    hint = "re-export with a dynamic batch axis to re-batch it"
    if [x.name for x in net] != [x.name for x in ref]:
        raise StationaryError(f"--batch {batch} changes the layers of this file exported at batch {own}; {hint}",
                              file=file, field="--batch")
    for a, b in zip(net, ref):
        if a.macs * own != b.macs * batch or a.other_ops * own != b.other_ops * batch:
            raise StationaryError(
                f"cannot re-batch this file exported at batch {own} to {batch}: layer {a.name!r} does "
                f"{a.macs + a.other_ops:,} operations at batch {batch} but {b.macs + b.other_ops:,} at batch {own} "
                f"(not {batch}/{own} times: a Reshape or Expand constant fixes the old batch); {hint}",
                file=file, field="--batch")


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

    def __init__(self, graph: Any, label: str, file: str, allow_skip: bool = False) -> None:
        self.graph, self.label, self.file, self.allow_skip = graph, label, file, allow_skip
        self.shapes: dict[str, tuple[int, ...] | None] = {}
        for value in (*graph.input, *graph.value_info, *graph.output):
            dims = value.type.tensor_type.shape.dim
            if value.type.tensor_type.HasField("shape"):
                self.shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
        self.constant: set[str] = {t.name for t in graph.initializer}
        self.numel: dict[str, int] = {}
        self.params: dict[str, frozenset[str]] = {}  # constant -> the learned (float) initializers behind it
        for t in graph.initializer:
            self.shapes[t.name] = tuple(t.dims)
            if t.data_type in _FLOAT_TYPES:
                self.numel[t.name] = math.prod(t.dims)
                self.params[t.name] = frozenset({t.name})
        self.shape_data: set[str] = set()  # tensors that hold shapes/indices, not activations
        self.producer = {out: node for node in graph.node for out in node.output}
        self.sources: dict[str, tuple[str, ...]] = {}
        self.layers: list[Layer] = []
        self.biasable: dict[str, int] = {}  # MatMul-FC output tensor -> index of its layer (bias not yet seen)
        self.namer = Namer()
        self.skipped = Skipped(sum(self.numel.values()))
        inits = self.constant
        first = next(i for i in graph.input if i.name not in inits)
        self.input_shape = tuple(self.shapes.get(first.name) or ())

    def run(self) -> ImportedNetwork:
        for index, node in enumerate(self.graph.node):
            self.visit(index, node)
        try:
            self.skipped.check(self.label, self.allow_skip, sum(layer.macs for layer in self.layers))
        except StationaryError as exc:
            raise StationaryError(exc.message, file=self.file) from None
        notes = list(self.skipped.warnings())
        if not self.layers:
            notes.append(f"{self.label} has no operator that computes; the network is empty")
        return ImportedNetwork(self.label, tuple(self.layers), self.input_shape, warnings=tuple(notes))

    # ----- helpers -------------------------------------------------------------------------------------
    def shape(self, name: str, node: Any) -> tuple[int, ...]:
        s = self.shapes.get(name)
        if s is None or any(v < 1 for v in s):
            origin = self.first_unknown(name)
            at = f"; the first node whose output size is unknown is {origin.op_type} {origin.name!r}" if origin else ""
            raise StationaryError(
                f"shape inference left the shape of {name!r} (read by {node.op_type} {node.name!r}) unknown{at}. "
                "Sizes computed at run time from data cannot be counted: give --input-shape with every dim, "
                "or export with static shapes (torch.onnx.export without dynamic_axes) or simplify the file "
                "(onnxsim) so the sizes become constants", file=self.file)
        return s

    def first_unknown(self, name: str) -> Any:
        """The earliest node upstream of `name` whose output has no static shape while its inputs do."""
        node, seen = self.producer.get(name), set()
        while node is not None and node.name not in seen:
            seen.add(node.name)
            unknown = [i for i in node.input if i and i not in self.constant and i in self.producer and
                       ((s := self.shapes.get(i)) is None or any(v < 1 for v in s))]
            if not unknown:
                return node
            node = self.producer.get(unknown[0])
        return node

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
            derived = frozenset().union(*(self.params.get(i, frozenset()) for i in inputs))
            for out in node.output:
                self.params[out] = derived
            return
        if op in ("Shape", "Size") or (inputs and all(i in self.constant or i in self.shape_data
                                                      for i in inputs)):
            self.shape_data.update(node.output)
            return
        acts = self.activations(node)
        for out in node.output:
            self.sources[out] = self.srcs(acts)  # default: structural pass-through
        if node.domain not in ("", "ai.onnx"):
            self.unknown(f"{node.domain}.{op}", index, node)
        elif op in ("Conv", "ConvTranspose"):
            self.conv(index, node)
        elif op == "Einsum":
            self.einsum(index, node)
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
            self.unknown(op, index, node)

    def unknown(self, op: str, index: int, node: Any) -> None:
        """An operator that cannot be counted, with the learned initializers it reads."""
        params = {p: self.numel[p] for i in node.input for p in self.params.get(i, ())}
        self.skipped.add(op, node.name or str(index), params)

    # ----- operators -------------------------------------------------------------------------------------
    def conv(self, index: int, node: Any) -> None:
        """Conv or ConvTranspose (1-, 2- or 3-D); channels come from the weight, a mismatched input is refused."""
        a = _attrs(node)
        x, w = self.shape(node.input[0], node), self.shape(node.input[1], node)
        out = self.shape(node.output[0], node)
        spatial = len(w) - 2
        kernel = tuple(a.get("kernel_shape", w[2:]))
        stride = tuple(a.get("strides", (1,) * spatial))
        dilation = tuple(a.get("dilations", (1,) * spatial))
        pads = tuple(a.get("pads", (0,) * 2 * spatial))
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            pads = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation)) * 2
        bias = len(node.input) > 2 and bool(node.input[2])
        transposed = node.op_type == "ConvTranspose"
        name = self.layer_name(index, node)
        try:
            layer = conv_layer(name, x, out, w, stride, pads[:spatial], dilation, int(a.get("group", 1)), bias,
                               self.srcs([i for i in node.input[:2] if i not in self.constant]),
                               "conv_transpose" if transposed else "conv", transposed=transposed)
        except StationaryError as exc:
            raise StationaryError(f"node {node.name or index!r}: {exc.message}", file=self.file) from None
        self.add(node, layer)

    def einsum(self, index: int, node: Any) -> None:
        equation = _attrs(node)["equation"]
        equation = equation.decode() if isinstance(equation, bytes) else str(equation)
        shapes = [self.shape(i, node) for i in node.input]
        layers = einsum_layers(self.layer_name(index, node), equation, shapes,
                               [(self.srcs([i]) if i not in self.constant else (), i in self.constant)
                                for i in node.input])
        for layer in layers:
            self.layers.append(layer)
        for out in node.output:
            self.sources[out] = (layers[-1].name,) if layers else self.srcs(self.activations(node))

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
        if spatial not in (1, 2, 3):
            self.unknown(f"{node.op_type} ({spatial}-D)", index, node)
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

