"""Import a PyTorch nn.Module as a Network: `torch.export` (non-strict) on an example input, then one Layer per
ATen operator that computes (convolution, linear, matmul, einsum, attention, pooling, element-wise).

torch.export traces through what torch.fx cannot (Hugging Face transformers, fx-wrapped functions) and gives
every value a static shape. Structural operators (view, permute, cat, dropout, embedding lookups, ...) make
no layer; their consumers read the producers behind them. Values computed only from constants (buffers,
literals, sizes) are folded. An operator the importer cannot count is an error naming it and its share of
the model's parameters and MACs, or with `allow_skip` a warning stating that share.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import operator
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from stationary.errors import StationaryError
from stationary.workload.importers.common import (
    ELTWISE_OPS,
    ImportedNetwork,
    Namer,
    Skipped,
    adaptive_window,
    conv_layer,
    eltwise_layer,
    fc_layer,
    matmul_layer,
    pool_layer,
    producers,
)
from stationary.workload.importers.einsum import einsum_layers
from stationary.workload.layer import Layer, LayerKind

try:
    import torch
    from torch import fx, nn
except ImportError:  # pragma: no cover - torch is an optional dependency
    torch = None  # type: ignore[assignment]

# ATen operators that only move, copy, index or reinterpret data, or make constants: no layer, no operations.
STRUCTURAL = frozenset(
    [
        "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "contiguous", "clone", "cat", "concat",
        "stack", "hstack", "vstack", "chunk", "split", "split_with_sizes", "tensor_split", "unbind", "unsqueeze",
        "squeeze", "expand", "expand_as", "repeat", "repeat_interleave", "getitem", "slice", "select", "index",
        "index_select", "gather", "embedding", "dropout", "native_dropout", "feature_dropout", "alpha_dropout",
        "feature_alpha_dropout", "to", "to_copy", "type_as", "alias", "detach", "lift_fresh_copy", "flatten",
        "unflatten", "pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
        "replication_pad2d", "roll", "flip", "narrow", "movedim", "moveaxis", "swapaxes", "swapdims",
        "diagonal", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
        "zeros_like", "ones_like", "full_like", "empty_like", "new_zeros", "new_ones", "new_empty", "new_full",
        "fill", "copy", "zero", "arange", "full", "zeros", "ones", "empty", "scalar_tensor", "tensor",
        "assert_tensor_metadata", "assert_async", "assert_scalar", "sym_size", "sym_numel", "sym_stride",
        "sym_storage_offset", "local_scalar_dense", "item", "view_as", "reshape_as", "as_strided", "unfold",
        "index_put", "scatter", "masked_scatter", "set_grad_enabled", "enter_autocast", "exit_autocast",
        "triu", "tril", "unsafe_split", "resolve_conj", "resolve_neg", "dim", "numel", "size",
    ]
)
REDUCTIONS = frozenset({"mean", "sum", "amax", "amin", "max", "min", "prod", "norm", "linalg_vector_norm", "var",
                        "std", "var_mean", "std_mean", "logsumexp", "nansum", "nanmean"})
ALIASES = {
    "rsub": "sub", "true_divide": "div", "floor_divide": "div", "multiply": "mul", "divide": "div",
    "subtract": "sub", "clip": "clamp", "clamp_min": "clamp", "clamp_max": "clamp",
    "native_batch_norm_legit_no_training": "batch_norm", "native_batch_norm_legit": "batch_norm",
    "native_batch_norm": "batch_norm", "native_layer_norm": "layer_norm", "native_group_norm": "group_norm",
    "fused_rms_norm": "rms_norm", "max_pool2d_with_indices": "max_pool2d", "max_pool3d_with_indices": "max_pool3d",
    "max_pool1d_with_indices": "max_pool1d", "masked_fill": "where", "logical_not": "not", "logical_and": "and",
    "logical_or": "or", "eq": "equal", "ne": "equal", "lt": "less", "le": "less", "gt": "greater",
    "ge": "greater", "relu6": "relu6", "hardtanh": "hardtanh", "softmax": "softmax", "to_copy": "to_copy",
}
CONVS = {"conv1d": False, "conv2d": False, "conv3d": False, "conv_transpose1d": True, "conv_transpose2d": True,
         "conv_transpose3d": True}


def import_module(module: Any, input_shape: tuple[int, ...], batch: int | None = None, name: str | None = None,
                  allow_skip: bool = False, input_dtype: str | None = None) -> ImportedNetwork:
    """Export `module` on a zero input of `input_shape` (first dim = batch; `batch` overrides it).

    `input_dtype` ("float32", "int64", ...; default: float32, else int64 for token ids) is the example's
    element type. `allow_skip` turns an operator that cannot be counted into a warning stating its share."""
    if torch is None:  # pragma: no cover
        raise StationaryError("importing PyTorch modules needs torch: pip install 'stationary[torch]'")
    if not isinstance(module, nn.Module):
        raise StationaryError(f"expected a torch.nn.Module, got {type(module).__name__}")
    shape = _check_shape(input_shape, batch)
    label = name or type(module).__name__
    module = module.eval()
    example = _example(module, shape, label, input_dtype)
    wrapped = _TensorOutputs(module)
    try:  # export prints tracebacks and warnings of its own; keep them off the user's terminal
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.export.export(wrapped, (example,), strict=False)
    except Exception as exc:  # noqa: BLE001 - any export failure is the user's model, reported in one line
        raise StationaryError(
            f"cannot export {label} with torch.export (data-dependent control flow?): {_first_line(exc)}"
        ) from None
    total_params = sum(p.numel() for p in module.parameters())
    return _ExportImporter(program, label, shape, total_params, allow_skip).run()


def import_factory(spec: str, batch: int | None = None, input_shape: tuple[int, ...] | None = None,
                   allow_skip: bool = False, input_dtype: str | None = None) -> ImportedNetwork:
    """Import `path/to/file.py:factory`: executes that file (the user's own code) and calls `factory()`."""
    path_text, _, factory_name = spec.rpartition(":")
    path = Path(path_text)
    if not path_text or not factory_name:
        raise StationaryError(f"expected path/to/file.py:factory, got {spec!r}")
    if input_shape is None:
        raise StationaryError("a PyTorch factory needs --input-shape (e.g. 1,3,224,224)", field="--input-shape")
    if not path.is_file():
        raise StationaryError("no such file", file=str(path))
    module_name = "_stationary_user_" + re.sub(r"\W", "_", path.stem)
    try:
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise StationaryError("not a Python file", file=str(path))
        code = importlib.util.module_from_spec(spec_obj)
        sys.modules[module_name] = code  # dataclasses and pickling look the module up by name
        spec_obj.loader.exec_module(code)
    except StationaryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's file failed to run
        raise StationaryError(f"running the file failed: {type(exc).__name__}: {_first_line(exc)}",
                              file=str(path)) from None
    factory = getattr(code, factory_name, None)
    if not callable(factory):
        raise StationaryError(f"the file defines no callable {factory_name!r}", file=str(path))
    try:
        module = factory()
    except Exception as exc:  # noqa: BLE001
        raise StationaryError(f"{factory_name}() failed: {type(exc).__name__}: {_first_line(exc)}",
                              file=str(path)) from None
    if torch is not None and not isinstance(module, nn.Module):
        raise StationaryError(f"{factory_name}() returned {type(module).__name__}, not a torch.nn.Module",
                              file=str(path))
    return import_module(module, input_shape, batch=batch, name=factory_name, allow_skip=allow_skip,
                         input_dtype=input_dtype)


def _check_shape(input_shape: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
        raise StationaryError(f"input shape must be positive integers, got {input_shape!r}",
                              field="--input-shape")
    if batch is not None:
        if batch < 1:
            raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
        shape = (batch, *shape[1:])
    return shape


def _example(module: Any, shape: tuple[int, ...], label: str, input_dtype: str | None) -> Any:
    """A zero input the module runs on: float32 unless told, else int64 (token ids) where float fails."""
    if input_dtype is not None:
        dtype = getattr(torch, input_dtype, None)
        if not isinstance(dtype, torch.dtype):
            raise StationaryError(f"unknown input dtype {input_dtype!r} (e.g. float32, int64)", field="--input-dtype")
        dtypes = [dtype]
    else:
        dtypes = [torch.float32, torch.int64]
    first: tuple[BaseException, str] | None = None
    stack: list[str] = []  # the modules being run, innermost last: where a failure happened

    def enter(path: str) -> None:  # a pre-hook returning a value would replace the module's input
        stack.append(path)

    def leave(path: str) -> None:  # a hook returning a value would replace the module's output
        if stack and stack[-1] == path:
            stack.pop()

    hooks = [h for path, m in module.named_modules() if path for h in (
        m.register_forward_pre_hook(lambda *_, p=path: enter(p)),
        m.register_forward_hook(lambda *_, p=path: leave(p)))]
    try:
        for dtype in dtypes:
            x = torch.zeros(shape, dtype=dtype)
            stack.clear()
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module(x)
                return x
            except Exception as exc:  # noqa: BLE001 - the user's model rejects the input
                first = first or (exc, f" at {stack[-1]!r}" if stack else "")
    finally:
        for h in hooks:
            h.remove()
    assert first is not None
    raise StationaryError(f"input shape {','.join(map(str, shape))} does not fit {label}{first[1]}: "
                          f"{_first_line(first[0])}", field="--input-shape") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _tensors(value: Any) -> list[Any]:
    """The tensors in a module's output (tuples, lists, dicts and dict-like model outputs); other objects,
    such as a key-value cache, are left out of the exported outputs."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


if torch is not None:
    class _TensorOutputs(nn.Module):
        """The user's module with its output flattened to a tuple of tensors, which torch.export accepts."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> tuple[Any, ...]:
            return tuple(_tensors(self.inner(x)))


def _op_name(target: Any) -> str:
    """'aten.conv2d.default' -> 'conv2d'; 'aten.relu_.default' -> 'relu'; a Python callable -> its name."""
    packet = getattr(target, "_overloadpacket", None)
    raw = str(getattr(packet, "__name__", None) or getattr(target, "__name__", str(target)))
    name = raw.split(".")[-1].strip("_")
    return ALIASES.get(name, name)


def _namespace(target: Any) -> str:
    schema = getattr(target, "_schema", None)
    return schema.name.split("::")[0] if schema is not None and "::" in schema.name else ""


class _ExportImporter:
    """Walks an exported program's graph once, in order (entering higher-order-op subgraphs), emitting layers."""

    def __init__(self, program: Any, label: str, input_shape: tuple[int, ...], total_params: int,
                 allow_skip: bool) -> None:
        self.program, self.label, self.input_shape, self.allow_skip = program, label, input_shape, allow_skip
        self.gm = program.graph_module
        self.layers: list[Layer] = []
        self.paths: list[tuple[str, str, str]] = []  # (module path, op, weight name) of each layer, to name it
        self.sources: dict[Any, tuple[str, ...]] = {}  # node -> producer layer ids
        self.constant: set[Any] = set()  # nodes holding parameters/buffers/literals or values computed only from them
        self.params: dict[Any, frozenset[str]] = {}  # constant node -> learned parameters it derives from
        self.param_numel: dict[str, int] = {}
        self.skipped = Skipped(total_params)
        self.folded_macs = 0
        kinds = {spec.arg.name: spec for spec in program.graph_signature.input_specs
                 if hasattr(spec.arg, "name")}
        self.kinds = kinds

    def run(self) -> ImportedNetwork:
        self.walk(self.gm.graph)
        self.skipped.check(self.label, self.allow_skip, sum(layer.macs for layer in self.layers))
        notes = list(self.skipped.warnings())
        if self.folded_macs:
            notes.append(f"{self.folded_macs:,} MACs computed only from buffers and constants (not from the input "
                         "or a learned parameter) were folded, not counted")
        if not self.layers:
            notes.append(f"{self.label} has no operator that computes; the network is empty")
        return ImportedNetwork(self.label, self.named_layers(), self.input_shape, warnings=tuple(notes))

    def named_layers(self) -> tuple[Layer, ...]:
        """Name each layer by its weight parameter (`qkv.weight` -> `qkv`), else by its module path where it is
        that module's only layer, else `path.op`."""
        count: dict[str, int] = {}
        for path, _, _ in self.paths:
            count[path] = count.get(path, 0) + 1
        namer, names = Namer(), {}
        for layer, (path, op, weight) in zip(self.layers, self.paths):
            base = weight or (path if path and count[path] == 1 else (f"{path}.{op}" if path else op))
            names[layer.name] = namer(base)
        return tuple(replace(layer, name=names[layer.name], inputs=tuple(names[i] for i in layer.inputs))
                     for layer in self.layers)

    # ----- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def val(node: Any) -> Any:
        v = node.meta.get("val") if isinstance(node, fx.Node) else None
        return v[0] if isinstance(v, (tuple, list)) and v and isinstance(v[0], torch.Tensor) else v

    def shape(self, node: Any) -> tuple[int, ...] | None:
        v = self.val(node)
        return tuple(int(s) for s in v.shape) if isinstance(v, torch.Tensor) else None

    def floating(self, node: Any) -> bool:
        v = self.val(node)
        return isinstance(v, torch.Tensor) and v.dtype.is_floating_point

    @staticmethod
    def tensor_args(node: Any) -> list[Any]:
        found: list[Any] = []

        def note(n: Any) -> Any:
            found.append(n)
            return n

        fx.node.map_arg((node.args, node.kwargs), note)
        return found

    def activations(self, node: Any) -> list[Any]:
        return [n for n in self.tensor_args(node) if n not in self.constant and self.shape(n) is not None]

    def srcs(self, nodes: list[Any]) -> tuple[str, ...]:
        return producers(self.sources, [n for n in nodes if n not in self.constant])

    def is_param(self, node: Any) -> bool:
        return node in self.constant and bool(self.params.get(node))

    def add(self, node: Any, layer: Layer, op: str) -> None:
        uid = f"#{len(self.layers)}"
        self.layers.append(replace(layer, name=uid, inputs=tuple(dict.fromkeys(layer.inputs))))
        self.paths.append((self.module_path(node), op, self.weight_name(node, layer)))
        self.sources[node] = (uid,)

    def add_all(self, node: Any, layers: list[Layer], op: str) -> None:
        """Several layers for one operator, the later reading the earlier (their inputs name each other)."""
        ids: dict[str, str] = {}
        for layer in layers:
            uid = f"#{len(self.layers)}"
            ids[layer.name] = uid
            inputs = tuple(dict.fromkeys(ids.get(i, i) for i in layer.inputs))
            self.layers.append(replace(layer, name=uid, inputs=inputs))
            self.paths.append((self.module_path(node), layer.op or op, ""))
        if layers:
            self.sources[node] = (ids[layers[-1].name],)

    def weight_name(self, node: Any, layer: Layer) -> str:
        """`stem` for a MAC layer whose weight is the one parameter `stem.weight` (or `att.in_proj_weight`)."""
        if not layer.kind.does_macs:
            return ""
        params = set().union(*(self.params.get(a, frozenset()) for a in self.tensor_args(node)))
        weights = [p for p in params if re.search(r"[._]weight$", p) or not p.endswith("bias")]
        if len(weights) != 1:
            return ""
        return re.sub(r"[._]weight$", "", weights[0])

    @staticmethod
    def module_path(node: Any) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return ""
        path = str(list(stack.values())[-1][0])
        path = re.sub(r"^inner\.?", "", path)  # the _TensorOutputs wrapper
        return path

    @staticmethod
    def arg(node: Any, index: int, key: str, default: Any = None) -> Any:
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(key, default)

    # ----- dispatch ------------------------------------------------------------------------------------
    def walk(self, graph: Any, bindings: list[Any] | None = None) -> Any:
        """Visit every node of `graph`; a subgraph's placeholders take the values `bindings` names."""
        out = None
        placeholders = iter(bindings or ())
        for node in graph.nodes:
            if node.op == "placeholder" and bindings is not None:
                outer = next(placeholders, None)
                self.bind(node, outer)
            elif node.op == "output":
                out = node
            else:
                self.visit(node)
        return out

    def bind(self, node: Any, outer: Any) -> None:
        if outer is None or outer in self.constant:
            self.constant.add(node)
            self.params[node] = self.params.get(outer, frozenset()) if outer is not None else frozenset()
        self.sources[node] = self.sources.get(outer, ()) if outer is not None else ()

    def visit(self, node: Any) -> None:
        if node.op == "placeholder":
            spec = self.kinds.get(node.name)
            kind = getattr(getattr(spec, "kind", None), "name", "USER_INPUT")
            self.sources[node] = ()
            if kind != "USER_INPUT":
                self.constant.add(node)
                if kind == "PARAMETER":
                    if spec is None:  # kind came from spec: a parameter placeholder always has one
                        raise StationaryError(f"no input spec for the parameter {node.name}")
                    target = re.sub(r"^inner\.", "", str(spec.target))  # the _TensorOutputs wrapper
                    self.params[node] = frozenset({target})
                    self.param_numel[target] = int(self.val(node).numel())
            return
        if node.op == "get_attr":
            self.constant.add(node)
            self.sources[node] = ()
            return
        args = self.tensor_args(node)
        submodules = [a for a in args if a.op == "get_attr" and isinstance(getattr(self.gm, a.target, None),
                                                                             fx.GraphModule)]
        if submodules:  # a higher-order op (autocast, set_grad_enabled, ...): walk its body
            self.higher_order(node, args, submodules[0])
            return
        op = _op_name(node.target)
        if node.target is operator.getitem or not isinstance(node.target, torch._ops.OpOverload):
            op = "getitem" if node.target is operator.getitem else op
            self.pass_through(node, args)
            return
        if op in self.HANDLERS:
            if args and all(a in self.constant for a in args) and not any(self.params.get(a) for a in args):
                self.fold(node, args)  # computed from buffers/literals only: a constant
                return
            self.sources[node] = self.srcs(args)
            if not self.HANDLERS[op](self, node, op):
                self.unknown(node, op, args)
            return
        if not args or all(a in self.constant for a in args):
            known = op in STRUCTURAL or op in ELTWISE_OPS or op in REDUCTIONS
            if not known and any(self.params.get(a) for a in args):  # e.g. an inverse of a learned matrix
                self.unknown(node, op, args)
            self.fold(node, args)
            return
        self.sources[node] = self.srcs(args)  # default: structural pass-through
        if op in STRUCTURAL:
            return
        if not self.floating(node):  # integer/bool results: index and mask arithmetic, not work
            return
        if op in ELTWISE_OPS:
            self.eltwise(node, op)
        elif op in REDUCTIONS:
            self.reduction(node, op)
        else:
            self.unknown(node, op, args)

    def pass_through(self, node: Any, args: list[Any]) -> None:
        if args and all(a in self.constant for a in args):
            self.fold(node, args)
        else:
            self.sources[node] = self.srcs(args)

    def fold(self, node: Any, args: list[Any]) -> None:
        self.constant.add(node)
        self.sources[node] = ()
        self.params[node] = frozenset().union(*(self.params.get(a, frozenset()) for a in args))
        if _op_name(node.target) in self.HANDLERS:
            self.folded_macs += _estimated_macs(node) or 0

    def higher_order(self, node: Any, args: list[Any], sub: Any) -> None:
        body = getattr(self.gm, sub.target)
        operands = [a for a in args if a is not sub]
        out = self.walk(body.graph, operands)
        results = self.tensor_args(out) if out is not None else []
        if results and all(r in self.constant for r in results):
            self.fold(node, results)
        else:
            self.sources[node] = self.srcs(results)

    def unknown(self, node: Any, op: str, args: list[Any]) -> None:
        """An operator that cannot be counted: note the parameters it reads and the MACs it would do."""
        params = frozenset().union(*(self.params.get(a, frozenset()) for a in args))
        space = _namespace(node.target)
        label = f"{space}.{op}" if space and space != "aten" else op
        self.skipped.add(label, self.module_path(node) or node.name, {p: self.param_numel.get(p, 0) for p in params},
                         _estimated_macs(node))

    # ----- operators -----------------------------------------------------------------------------------
    def eltwise(self, node: Any, op: str) -> None:
        out = self.shape(node)
        if out is None:
            return
        acts = self.activations(node)
        self.add(node, eltwise_layer("", out, op, self.srcs(acts), num_inputs=len(acts),
                                     ops_per_output=ELTWISE_OPS[op]), op)

    def reduction(self, node: Any, op: str) -> None:
        out = self.shape(node)
        acts = self.activations(node)
        if out is None or not acts:
            return
        if op in ("max", "min") and len(acts) == 2:  # max(a, b): element-wise
            self.add(node, eltwise_layer("", out, op, self.srcs(acts), 2, 1), op)
            return
        in_shape = self.shape(acts[0]) or out
        per_output = max(math.prod(in_shape) // max(math.prod(out), 1), 1)
        self.add(node, eltwise_layer("", out or (1,), op, self.srcs(acts), 1, per_output), op)

    def conv(self, node: Any, op: str) -> bool:
        x_node, w_node, b_node = node.args[0], node.args[1], self.arg(node, 2, "bias")
        x, w, out = self.shape(x_node), self.shape(w_node), self.shape(node)
        if x is None or w is None or out is None:
            return False
        spatial = len(w) - 2
        if op in ("convolution", "_convolution"):
            stride, padding, dilation, transposed, _, groups = node.args[3:9]
        elif CONVS[op]:  # conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation)
            stride, padding, groups, dilation = (self.arg(node, i, k, d) for i, k, d in
                                                 ((3, "stride", 1), (4, "padding", 0), (6, "groups", 1),
                                                  (7, "dilation", 1)))
            transposed = True
        else:  # conv(input, weight, bias, stride, padding, dilation, groups)
            stride, padding, dilation, groups = (self.arg(node, i, k, d) for i, k, d in
                                                 ((3, "stride", 1), (4, "padding", 0), (5, "dilation", 1),
                                                  (6, "groups", 1)))
            transposed = False
        stride, dilation = _tuple(stride, spatial), _tuple(dilation, spatial)
        if isinstance(padding, str):  # 'valid' or 'same'
            padding = tuple(0 if padding == "valid" else d * (k - 1) // 2 for k, d in zip(w[2:], dilation))
        layer = conv_layer("", x, out, w, stride, _tuple(padding, spatial), dilation, int(groups),
                           b_node is not None, self.srcs([x_node, w_node]), op, transposed=bool(transposed))
        if w_node not in self.constant:  # the filter is an activation (dynamic convolution)
            layer = replace(layer, weights_are_parameters=False)
        self.add(node, layer, op)
        return True

    def linear(self, node: Any, op: str) -> bool:
        x_node, w_node = node.args[0], node.args[1]
        x, w = self.shape(x_node), self.shape(w_node)
        if x is None or w is None or len(w) not in (1, 2):
            return False
        bias = self.arg(node, 2, "bias") is not None
        if w_node in self.constant and len(w) == 2:
            self.add(node, fc_layer("", x, w[0], bias, self.srcs([x_node]), "linear"), "linear")
        else:  # x @ W^T with W an activation
            wt = (w[1], w[0]) if len(w) == 2 else w
            self.add(node, matmul_layer("", x, wt, self.srcs([x_node, w_node]), "linear"), "linear")
        return True

    def matmul(self, node: Any, op: str) -> bool:
        a_node, b_node = node.args[0], node.args[1]
        if op in ("addmm", "baddbmm", "addbmm", "addmv"):  # (bias, a, b)
            a_node, b_node = node.args[1], node.args[2]
        a, b = self.shape(a_node), self.shape(b_node)
        if a is None or b is None:
            return False
        bias = op.startswith("add") or op == "baddbmm"
        if b_node in self.constant and len(b) == 2 and a_node not in self.constant:  # x @ W: a linear layer
            self.add(node, fc_layer("", a, b[1], bias, self.srcs([a_node]), op), op)
            return True
        layer = matmul_layer("", a, b, self.srcs([a_node, b_node]), op)
        if self.is_param(b_node):
            layer = replace(layer, weights_are_parameters=True)
        self.add(node, layer, op)
        return True

    def einsum(self, node: Any, op: str) -> bool:
        equation, operands = node.args[0], list(node.args[1])
        shapes = [self.shape(o) for o in operands]
        if any(s is None for s in shapes):
            return False
        layers = einsum_layers("einsum", str(equation), shapes,  # type: ignore[arg-type]
                               [(self.srcs([o]), o in self.constant) for o in operands])
        self.add_all(node, layers, "einsum")
        return True

    def sdpa(self, node: Any, op: str) -> bool:
        """scaled_dot_product_attention(q, k, v, mask, dropout, is_causal, scale, enable_gqa): QK^T, softmax,
        AV. Grouped-query attention (fewer K/V heads) is counted per query head; a causal mask does not halve
        the count (a dense kernel computes every score, then masks)."""
        q_node, k_node, v_node = node.args[:3]
        q, k, v = self.shape(q_node), self.shape(k_node), self.shape(v_node)
        if q is None or k is None or v is None or len(q) < 2:
            return False
        batch = q[:-2]
        n = batch[0] if batch else 1
        g = math.prod(batch[1:]) if len(batch) > 1 else 1
        length, e, src, ev = q[-2], q[-1], k[-2], v[-1]
        qk = Layer("qk", LayerKind.MATMUL, N=n, G=g, M=src, C=e, P=length, H=length,
                   weights_are_parameters=False, inputs=self.srcs([q_node, k_node]), op="attention_qk")
        soft = eltwise_layer("softmax", (*batch, length, src), "softmax", ("qk",), 1, ELTWISE_OPS["softmax"])
        av = Layer("av", LayerKind.MATMUL, N=n, G=g, M=ev, C=src, P=length, H=length,
                   weights_are_parameters=False, inputs=("softmax", *self.srcs([v_node])), op="attention_av")
        self.add_all(node, [qk, soft, av], "attention")
        return True

    def pool(self, node: Any, op: str) -> bool:
        x_node = node.args[0]
        x, out = self.shape(x_node), self.shape(node)
        if x is None or out is None:
            return False
        spatial = int(op[-2])
        kind = "max_pool" if "max" in op else "avg_pool"
        if op.startswith("adaptive"):
            pairs = [adaptive_window(size, o) for size, o in zip(x[-spatial:], out[-spatial:])]
            kernel, stride = tuple(k for k, _ in pairs), tuple(s for _, s in pairs)
            padding, dilation = (0,) * spatial, (1,) * spatial
        else:
            kernel = _tuple(node.args[1], spatial)
            stride = _tuple(self.arg(node, 2, "stride") or kernel, spatial)
            padding = _tuple(self.arg(node, 3, "padding", 0), spatial)
            dilation = _tuple(self.arg(node, 4, "dilation", 1) if kind == "max_pool" else 1, spatial)
        self.add(node, pool_layer("", x, out, kernel, stride, padding, dilation, self.srcs([x_node]), kind), kind)
        return True

    HANDLERS: ClassVar[dict[str, Callable[..., bool]]] = {
        **dict.fromkeys(("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                         "convolution"), conv),
        "linear": linear,
        **dict.fromkeys(("matmul", "bmm", "mm", "mv", "dot", "addmm", "baddbmm", "addbmm", "addmv"), matmul),
        "einsum": einsum,
        "scaled_dot_product_attention": sdpa,
        **dict.fromkeys((f"{k}_pool{d}d" for k in ("max", "avg", "adaptive_avg", "adaptive_max") for d in (1, 2, 3)),
                        pool),
    }


def _estimated_macs(node: Any) -> int | None:
    """MACs of one operator by PyTorch's own FLOP counter (FLOPs / 2) on meta tensors; None where it cannot
    run the operator or counts nothing for it."""
    from torch.utils.flop_counter import FlopCounterMode

    def meta(n: Any) -> Any:
        v = n.meta.get("val")
        if isinstance(v, torch.Tensor):
            return torch.empty(v.shape, dtype=v.dtype, device="meta")
        return v

    try:
        args, kwargs = fx.node.map_arg((node.args, node.kwargs), meta)
        with FlopCounterMode(display=False) as counter:
            node.target(*args, **kwargs)
        flops = counter.get_total_flops()
    except Exception:  # noqa: BLE001 - an operator meta tensors cannot run
        return None
    return flops // 2 if flops else None


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    t = tuple(int(x) for x in v)
    if not t:
        return (1,) * n
    return t * n if len(t) == 1 else t
