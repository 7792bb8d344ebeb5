"""Import a PyTorch nn.Module as a Network: torch.fx symbolic tracing, then shape propagation on an example
input, then one Layer per operator that computes (conv, linear, matmul, attention, pooling, element-wise).

Structural operators (view, reshape, flatten, permute, cat, dropout, identity, ...) make no layer; their
consumers read the producers behind them. An operator the importer does not know is skipped and named in
the network's `warnings`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from stationary.errors import StationaryError
from stationary.workload.importers.common import (
    ELTWISE_OPS,
    ImportedNetwork,
    Namer,
    Warnings,
    adaptive_window,
    conv_layer,
    eltwise_layer,
    fc_layer,
    matmul_layer,
    nchw,
    pool_layer,
    producers,
)
from stationary.workload.layer import Layer

try:
    import torch
    from torch import fx, nn
    from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata
except ImportError:  # pragma: no cover - torch is an optional dependency
    torch = None  # type: ignore[assignment]

# Operators that only move, copy or reinterpret data: no layer, no operations.
STRUCTURAL = frozenset(
    [
        "flatten", "unflatten", "view", "view_as", "reshape", "reshape_as", "permute", "transpose", "t",
        "contiguous", "cat", "concat", "concatenate", "stack", "chunk", "split", "tensor_split", "unbind",
        "unsqueeze", "squeeze", "expand", "expand_as", "repeat", "getitem", "getattr", "size", "dim",
        "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
        "identity", "narrow", "select", "clone", "to", "float", "half", "double", "type", "type_as", "detach",
        "pad", "zero_pad2d", "constant_pad2d", "zero_pad1d", "constant_pad1d", "movedim", "swapaxes", "roll",
        "flip", "numel", "masked_fill_zero"
    ]
)
REDUCTIONS = frozenset({"mean", "sum", "amax", "amin", "max", "min", "prod", "norm"})
MATMULS = frozenset({"matmul", "bmm", "mm"})

# nn module classes -> canonical operator names (the functional name where PyTorch has one).
MODULE_OPS: dict[str, str] = {
    "Conv1d": "conv1d", "Conv2d": "conv2d", "Linear": "linear", "LazyLinear": "linear",
    "BatchNorm1d": "batch_norm", "BatchNorm2d": "batch_norm", "LayerNorm": "layer_norm",
    "GroupNorm": "group_norm", "InstanceNorm1d": "instance_norm", "InstanceNorm2d": "instance_norm",
    "RMSNorm": "rms_norm", "ReLU": "relu", "ReLU6": "relu6", "GELU": "gelu", "SiLU": "silu",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid",
    "Hardtanh": "hardtanh", "LeakyReLU": "leaky_relu", "ELU": "elu", "SELU": "selu", "CELU": "celu",
    "Mish": "mish", "Softplus": "softplus", "PReLU": "prelu", "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "MaxPool1d": "max_pool1d", "MaxPool2d": "max_pool2d", "AvgPool1d": "avg_pool1d", "AvgPool2d": "avg_pool2d",
    "AdaptiveAvgPool1d": "adaptive_avg_pool1d", "AdaptiveAvgPool2d": "adaptive_avg_pool2d",
    "AdaptiveMaxPool1d": "adaptive_max_pool1d", "AdaptiveMaxPool2d": "adaptive_max_pool2d",
    "Dropout": "dropout", "Dropout1d": "dropout", "Dropout2d": "dropout", "AlphaDropout": "dropout",
    "Identity": "identity", "Flatten": "flatten", "Unflatten": "unflatten",
    "ZeroPad2d": "pad", "ConstantPad2d": "pad", "ConstantPad1d": "pad",
    "MultiheadAttention": "multi_head_attention",
}


def import_module(module: Any, input_shape: tuple[int, ...], batch: int | None = None,
                  name: str | None = None) -> ImportedNetwork:
    """Trace `module` on a zero input of `input_shape` (first dim = batch; `batch` overrides it)."""
    if torch is None:  # pragma: no cover
        raise StationaryError("importing PyTorch modules needs torch: pip install 'stationary[torch]'")
    if not isinstance(module, nn.Module):
        raise StationaryError(f"expected a torch.nn.Module, got {type(module).__name__}")
    shape = _check_shape(input_shape, batch)
    label = name or type(module).__name__
    module = module.eval()
    try:
        gm = fx.symbolic_trace(module)
    except Exception as exc:  # noqa: BLE001 - any tracing failure is the user's model, reported in one line
        raise StationaryError(
            f"cannot trace {label} with torch.fx (data-dependent control flow?): {_first_line(exc)}"
        ) from None
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if not placeholders:
        raise StationaryError(f"{label}.forward takes no input tensor")
    example = torch.zeros(shape)
    extra = []
    for ph in placeholders[1:]:
        if not ph.args:
            raise StationaryError(
                f"{label}.forward takes {len(placeholders)} inputs; only single-input modules can be imported"
            )
        extra.append(ph.args[0])  # a default value
    try:  # ShapeProp prints the failing node's traceback itself; keep it off the user's terminal
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(example, *extra)
    except Exception as exc:  # noqa: BLE001 - shape errors surface from deep inside torch
        at = re.search(r"node=%(\w+)", str(exc))
        where = f" at {at.group(1)!r}" if at else ""
        raise StationaryError(
            f"input shape {','.join(map(str, shape))} does not fit {label}{where}: "
            f"{_first_line(exc.__cause__ or exc)}",
            field="--input-shape",
        ) from None
    return _FxImporter(gm, label, shape).run()


def import_factory(spec: str, batch: int | None = None,
                   input_shape: tuple[int, ...] | None = None) -> ImportedNetwork:
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
    if torch is None or not isinstance(module, nn.Module):
        raise StationaryError(f"{factory_name}() returned {type(module).__name__}, not a torch.nn.Module",
                              file=str(path))
    return import_module(module, input_shape, batch=batch, name=factory_name)


def _check_shape(input_shape: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or not all(isinstance(v, int) and v >= 1 for v in shape):
        raise StationaryError(f"input shape must be positive integers, got {input_shape!r}",
                              field="--input-shape")
    if batch is not None:
        if batch < 1:
            raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
        shape = (batch, *shape[1:])
    return shape


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _canonical(name: str) -> str:
    """'relu_' -> 'relu', 'iadd' -> 'add', 'truediv' -> 'div', 'conv2d' stays."""
    name = name.rstrip("_").lstrip("_")
    aliases = {"iadd": "add", "truediv": "div", "floordiv": "div", "itruediv": "div", "imul": "mul",
               "isub": "sub", "rsub": "sub", "matmul": "matmul", "concat": "cat", "multiply": "mul",
               "divide": "div", "subtract": "sub", "true_divide": "div", "clip": "clamp"}
    return aliases.get(name, name)


class _FxImporter:
    """Walks a shape-propagated fx graph once, in order, emitting layers."""

    def __init__(self, gm: Any, label: str, input_shape: tuple[int, ...]) -> None:
        self.gm, self.label, self.input_shape = gm, label, input_shape
        self.modules = dict(gm.named_modules())
        self.layers: list[Layer] = []
        self.sources: dict[Any, tuple[str, ...]] = {}  # node -> producer layer names
        self.constant: set[Any] = set()  # nodes holding parameters/buffers (or values computed from them)
        self.namer = Namer()
        self.warn = Warnings()

    def run(self) -> ImportedNetwork:
        for node in self.gm.graph.nodes:
            self.visit(node)
        if not self.layers:
            self.warn.note(f"{self.label} has no operator that computes; the network is empty")
        return ImportedNetwork(self.label, tuple(self.layers), self.input_shape, warnings=self.warn.collect())

    # ----- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def shape(node: Any) -> tuple[int, ...] | None:
        meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
        return tuple(int(v) for v in meta.shape) if isinstance(meta, TensorMetadata) else None

    def tensor_args(self, node: Any) -> list[Any]:
        found: list[Any] = []
        fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n) or n)
        return found

    def activations(self, node: Any) -> list[Any]:
        """Argument nodes that carry activations (not parameters, not Python values such as sizes)."""
        return [n for n in self.tensor_args(node) if n not in self.constant and self.shape(n) is not None]

    def srcs(self, nodes: list[Any]) -> tuple[str, ...]:
        return producers(self.sources, nodes)

    def add(self, node: Any, layer: Layer) -> None:
        self.layers.append(layer)
        self.sources[node] = (layer.name,)

    def name_of(self, node: Any) -> str:
        return self.namer(str(node.target) if node.op == "call_module" else node.name)

    @staticmethod
    def arg(node: Any, index: int, key: str, default: Any = None) -> Any:
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(key, default)

    # ----- dispatch ------------------------------------------------------------------------------------
    def visit(self, node: Any) -> None:
        if node.op == "placeholder":
            self.sources[node] = ()
            return
        if node.op == "get_attr":
            self.constant.add(node)
            self.sources[node] = ()
            return
        if node.op == "output":
            return
        args = self.tensor_args(node)
        if args and all(a in self.constant for a in args):  # e.g. self.weight.t(): still a parameter
            self.constant.add(node)
            self.sources[node] = ()
            return
        self.sources[node] = self.srcs(args)  # default: structural pass-through
        if node.op == "call_module":
            mod = self.modules[node.target]
            op = MODULE_OPS.get(type(mod).__name__, "")
            if not op:
                self.unknown(node, type(mod).__name__, mod)
                return
        elif node.op == "call_function":
            op = _canonical(getattr(node.target, "__name__", str(node.target)))
            mod = None
        else:  # call_method
            op = _canonical(str(node.target))
            mod = None
        handler: Callable[[Any, str, Any], bool] | None = self.HANDLERS.get(op)
        if handler is not None:
            if not handler(self, node, op, mod):
                self.unknown(node, op, mod)
        elif op in STRUCTURAL:
            pass
        elif op in ELTWISE_OPS:
            self.eltwise(node, op, mod)
        elif op in REDUCTIONS:
            self.reduction(node, op)
        else:
            self.unknown(node, op, mod)

    def unknown(self, node: Any, op: str, mod: Any) -> None:
        what = "skipped (no layer, nothing counted)"
        if mod is not None:
            params = sum(p.numel() for p in mod.parameters())
            if params:
                what = f"skipped (no layer; its {params:,} parameters and its MACs are not counted)"
        self.warn.unknown(op, node.name, what)

    # ----- operators -----------------------------------------------------------------------------------
    def eltwise(self, node: Any, op: str, mod: Any) -> None:
        out = self.shape(node)
        if out is None:
            return
        acts = self.activations(node)
        self.add(node, eltwise_layer(self.name_of(node), out, op, self.srcs(acts), num_inputs=len(acts),
                                     ops_per_output=ELTWISE_OPS[op]))

    def reduction(self, node: Any, op: str) -> None:
        out = self.shape(node)
        acts = self.activations(node)
        if out is None or not acts:
            return
        in_shape = self.shape(acts[0]) or out
        per_output = max(math.prod(in_shape) // max(math.prod(out), 1), 1)
        self.add(node, eltwise_layer(self.name_of(node), out or (1,), op, self.srcs(acts), 1, per_output))

    def conv(self, node: Any, op: str, mod: Any) -> bool:
        acts = self.activations(node)
        out = self.shape(node)
        if not acts or out is None:
            return False
        x = self.shape(acts[0])
        if mod is not None:
            kernel, stride, dilation = mod.kernel_size, mod.stride, mod.dilation
            padding, groups, out_ch, bias = mod.padding, mod.groups, mod.out_channels, mod.bias is not None
        else:  # F.conv2d(x, weight, bias, stride, padding, dilation, groups) with a parameter weight
            weight = self.arg(node, 1, "weight")
            wshape = self.shape(weight)
            if wshape is None or weight not in self.constant:
                return False
            spatial = len(wshape) - 2
            out_ch, kernel = wshape[0], wshape[2:]
            groups = int(self.arg(node, 6, "groups", 1))
            stride, padding, dilation = (self.arg(node, i, k, d) for i, k, d in
                                         ((3, "stride", 1), (4, "padding", 0), (5, "dilation", 1)))
            stride, dilation = _tuple(stride, spatial), _tuple(dilation, spatial)
            padding = padding if isinstance(padding, str) else _tuple(padding, spatial)
            bias = self.arg(node, 2, "bias") is not None
        if isinstance(padding, str):  # 'valid' or 'same'
            padding = tuple(0 if padding == "valid" else d * (k - 1) // 2 for k, d in zip(kernel, dilation))
        self.add(node, conv_layer(self.name_of(node), x, out, out_ch, tuple(kernel), tuple(stride),
                                  tuple(padding), tuple(dilation), groups, bias, self.srcs(acts), op))
        return True

    def linear(self, node: Any, op: str, mod: Any) -> bool:
        acts = self.activations(node)
        if not acts:
            return False
        x = self.shape(acts[0])
        if mod is not None:
            out_features, bias = mod.out_features, mod.bias is not None
        else:  # F.linear(x, weight, bias)
            wshape = self.shape(self.arg(node, 1, "weight"))
            if wshape is None or len(acts) != 1:
                return False
            out_features, bias = wshape[0], self.arg(node, 2, "bias") is not None
        self.add(node, fc_layer(self.name_of(node), x, out_features, bias, self.srcs(acts), "linear"))
        return True

    def matmul(self, node: Any, op: str, mod: Any) -> bool:
        a_node, b_node = self.arg(node, 0, "input"), self.arg(node, 1, "other")
        if op == "addmm":  # addmm(bias, a, b)
            a_node, b_node = self.arg(node, 1, "mat1"), self.arg(node, 2, "mat2")
        a, b = self.shape(a_node), self.shape(b_node)
        if a is None or b is None:
            return False
        name = self.name_of(node)
        if b_node in self.constant and len(b) == 2 and a_node not in self.constant:  # x @ W: a linear layer
            self.add(node, fc_layer(name, a, b[1], op == "addmm", self.srcs([a_node]), op))
        else:
            self.add(node, matmul_layer(name, a, b, self.srcs(self.activations(node)), op))
        return True

    def pool(self, node: Any, op: str, mod: Any) -> bool:
        acts = self.activations(node)
        out = self.shape(node)
        if not acts or out is None:
            return False
        x = self.shape(acts[0])
        spatial = 1 if op.endswith("1d") else 2
        kind = "max_pool" if "max" in op else "avg_pool"
        if op.startswith("adaptive"):
            _, _, h, w = nchw(x, spatial)
            _, _, p, q = nchw(out, spatial)
            (r, sh), (s, sw) = adaptive_window(h, p), adaptive_window(w, q)
            kernel, stride = ((s,), (sw,)) if spatial == 1 else ((r, s), (sh, sw))
            padding, dilation = (0,) * spatial, (1,) * spatial
        else:
            if mod is not None:
                kernel, stride, padding = mod.kernel_size, mod.stride, mod.padding
                dilation = getattr(mod, "dilation", 1)
            else:
                kernel = self.arg(node, 1, "kernel_size")
                stride = self.arg(node, 2, "stride") or kernel
                padding = self.arg(node, 3, "padding", 0)
                dilation = self.arg(node, 4, "dilation", 1) if kind == "max_pool" else 1
            kernel, stride = _tuple(kernel, spatial), _tuple(stride or kernel, spatial)
            padding, dilation = _tuple(padding, spatial), _tuple(dilation, spatial)
        self.add(node, pool_layer(self.name_of(node), x, out, kernel, stride, padding, dilation,
                                  self.srcs(acts), kind))
        return True

    def sdpa(self, node: Any, op: str, mod: Any) -> bool:
        """F.scaled_dot_product_attention(q, k, v): QK^T, softmax, AV."""
        q_node, k_node, v_node = (self.arg(node, i, k) for i, k in ((0, "query"), (1, "key"), (2, "value")))
        q, k, v = self.shape(q_node), self.shape(k_node), self.shape(v_node)
        if q is None or k is None or v is None:
            return False
        base = node.name
        kt = (*k[:-2], k[-1], k[-2])
        qk = matmul_layer(self.namer(f"{base}_qk"), q, kt, self.srcs([q_node, k_node]), "attention_qk")
        scores = (*qk_batch(q, k), q[-2], k[-2])
        soft = eltwise_layer(self.namer(f"{base}_softmax"), scores, "softmax", (qk.name,), 1, ELTWISE_OPS["softmax"])
        av = matmul_layer(self.namer(f"{base}_av"), scores, v, (soft.name, *self.srcs([v_node])), "attention_av")
        self.layers.extend((qk, soft))
        self.add(node, av)
        return True

    def mha(self, node: Any, op: str, mod: Any) -> bool:
        """nn.MultiheadAttention: Q/K/V projections (one packed E->3E linear for self-attention), QK^T per
        head, softmax, AV per head, output projection; as PyTorch (and fvcore) compute it."""
        q_node, k_node, v_node = (self.arg(node, i, k) for i, k in ((0, "query"), (1, "key"), (2, "value")))
        q, k, v = self.shape(q_node), self.shape(k_node), self.shape(v_node)
        if q is None or k is None or v is None:
            return False
        if len(q) == 2:  # unbatched (L, E)
            q, k, v = (1, *q), (1, *k), (1, *v)
        elif not mod.batch_first:  # (L, N, E) -> (N, L, E)
            q, k, v = ((s[1], s[0], s[2]) for s in (q, k, v))
        n, length, e = q
        src_len, heads, bias = k[1], mod.num_heads, mod.in_proj_bias is not None
        hd = e // heads
        base = str(node.target)
        if q_node is k_node is v_node:
            proj = [fc_layer(self.namer(f"{base}.in_proj"), q, 3 * e, bias, self.srcs([q_node]), "linear")]
            qs = ks = vs = (proj[0].name,)
        else:
            proj = [fc_layer(self.namer(f"{base}.{p}_proj"), s, e, bias, self.srcs([src]), "linear")
                    for p, s, src in (("q", q, q_node), ("k", k, k_node), ("v", v, v_node))]
            qs, ks, vs = ((p.name,) for p in proj)
        qk = matmul_layer(self.namer(f"{base}.qk"), (n, heads, length, hd), (n, heads, hd, src_len),
                          tuple(dict.fromkeys(qs + ks)), "attention_qk")
        soft = eltwise_layer(self.namer(f"{base}.softmax"), (n, heads, length, src_len), "softmax", (qk.name,),
                             1, ELTWISE_OPS["softmax"])
        av = matmul_layer(self.namer(f"{base}.av"), (n, heads, length, src_len), (n, heads, src_len, hd),
                          (soft.name, *vs), "attention_av")
        out = fc_layer(self.namer(f"{base}.out_proj"), (n, length, e), e, mod.out_proj.bias is not None,
                       (av.name,), "linear")
        self.layers.extend((*proj, qk, soft, av))
        self.add(node, out)
        return True

    HANDLERS: ClassVar[dict[str, Callable[..., bool]]] = {
        "conv1d": conv, "conv2d": conv, "linear": linear, "matmul": matmul, "bmm": matmul, "mm": matmul,
        "addmm": matmul, "max_pool1d": pool, "max_pool2d": pool, "avg_pool1d": pool, "avg_pool2d": pool,
        "adaptive_avg_pool1d": pool, "adaptive_avg_pool2d": pool, "adaptive_max_pool1d": pool,
        "adaptive_max_pool2d": pool, "scaled_dot_product_attention": sdpa, "multi_head_attention": mha,
    }


def qk_batch(q: tuple[int, ...], k: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast batch dims of attention's query and key."""
    width = max(len(q), len(k)) - 2
    a = (1,) * (width - (len(q) - 2)) + q[:-2]
    b = (1,) * (width - (len(k) - 2)) + k[:-2]
    return tuple(max(x, y) for x, y in zip(a, b))


def _tuple(v: Any, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    t = tuple(int(x) for x in v)
    return t * n if len(t) == 1 else t

