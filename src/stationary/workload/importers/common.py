"""What the PyTorch and ONNX importers share: the imported network type, layer builders from tensor shapes,
and the collection of warnings about operators an importer did not understand."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from stationary.workload.layer import Layer, LayerKind
from stationary.workload.network import Network

# Operations per output element of element-wise operators, by canonical (snake_case) name. Normalizations
# count a scale and a shift (2); softmax counts exp, sum and divide (3), as the zoo's BERT layer does.
ELTWISE_OPS: dict[str, int] = {
    **dict.fromkeys(
        ("relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh",
         "leaky_relu", "elu", "selu", "celu", "mish", "softplus", "prelu", "add", "sub", "mul", "div",
         "neg", "pow", "sqrt", "rsqrt", "exp", "log", "abs", "clamp", "clip", "erf", "reciprocal",
         "where", "maximum", "minimum", "square", "floor", "ceil", "round", "sign", "not", "and", "or",
         "equal", "less", "greater", "mod"),
        1,
    ),
    **dict.fromkeys(("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"), 2),
    **dict.fromkeys(("softmax", "log_softmax"), 3),
}


@dataclass(frozen=True)
class ImportedNetwork(Network):
    """A Network read from a model file, with the importer's warnings (operators skipped or approximated)."""

    warnings: tuple[str, ...] = field(default=())


def producers(sources: dict, keys: list) -> tuple[str, ...]:
    """The layers that produced these tensors (graph nodes or ONNX value names), each once, in order."""
    out: list[str] = []
    for k in keys:
        for name in sources.get(k, ()):
            if name not in out:
                out.append(name)
    return tuple(out)


class Namer:
    """Unique layer names: the model's own name where it has one, a suffix where it repeats."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def __call__(self, name: str) -> str:
        base = name or "layer"
        out, i = base, 1
        while out in self._used:
            i += 1
            out = f"{base}_{i}"
        self._used.add(out)
        return out


class Warnings:
    """Operators an importer could not map, grouped by operator so a large model gives a short list."""

    def __init__(self) -> None:
        self._by_op: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._notes: list[str] = []

    def unknown(self, op: str, where: str, what: str = "skipped (no layer, nothing counted)") -> None:
        """Record one call of an operator the importer does not understand and what it did with it."""
        self._by_op[(op, what)].append(where)

    def note(self, message: str) -> None:
        self._notes.append(message)

    def collect(self) -> tuple[str, ...]:
        out = list(self._notes)
        for (op, what), places in self._by_op.items():
            shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
            calls = "1 call" if len(places) == 1 else f"{len(places)} calls"
            out.append(f"unsupported operator {op!r} ({calls}: {shown}): {what}")
        return tuple(out)


def split_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(N, G, P, Q) of an element-wise layer over a tensor: batch, channels, then the rest in two."""
    s = tuple(int(v) for v in shape) or (1,)
    if len(s) == 1:
        return 1, max(s[0], 1), 1, 1
    n, g = s[0], s[1]
    p = s[2] if len(s) > 2 else 1
    q = math.prod(s[3:]) if len(s) > 3 else 1
    return max(n, 1), max(g, 1), max(p, 1), max(q, 1)


def eltwise_layer(name: str, out_shape: tuple[int, ...], op: str, inputs: tuple[str, ...],
                  num_inputs: int = 1, ops_per_output: int = 1) -> Layer:
    """An element-wise (or reduction) layer whose output has `out_shape`."""
    n, g, p, q = split_shape(out_shape)
    return Layer(name, LayerKind.ELTWISE, N=n, G=g, P=p, Q=q, H=p, W=q, num_inputs=max(num_inputs, 1),
                 ops_per_output=max(ops_per_output, 1), inputs=inputs, op=op)


def nchw(shape: tuple[int, ...], spatial: int) -> tuple[int, int, int, int]:
    """(N, C, H, W) of a batched or unbatched 1-D/2-D feature map; 1-D maps have H = 1."""
    s = tuple(int(v) for v in shape)
    if len(s) == spatial + 1:  # unbatched
        s = (1, *s)
    if spatial == 1:
        return s[0], s[1], 1, s[2]
    return s[0], s[1], s[2], s[3]


def conv_layer(name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], out_channels: int,
               kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
               dilation: tuple[int, ...], groups: int, bias: bool, inputs: tuple[str, ...], op: str) -> Layer:
    """A 1-D or 2-D convolution; the output size is taken from shape propagation, not recomputed."""
    spatial = len(kernel)
    n, c, h, w = nchw(in_shape, spatial)
    _, _, p, q = nchw(out_shape, spatial)
    (r, s), st, pd, dl = _hw(kernel), _hw(stride), _hw(padding, 0), _hw(dilation)
    return Layer(name, LayerKind.CONV, N=n, G=groups, M=out_channels // groups, C=c // groups, P=p, Q=q,
                 R=r, S=s, H=h, W=w, stride=st, dilation=dl, padding=pd, bias=bias, inputs=inputs, op=op)


def pool_layer(name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], kernel: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
               inputs: tuple[str, ...], op: str) -> Layer:
    """Max/average pooling over a 1-D or 2-D window: one operation per window element per output."""
    spatial = len(kernel)
    n, c, h, w = nchw(in_shape, spatial)
    _, _, p, q = nchw(out_shape, spatial)
    (r, s), st, pd, dl = _hw(kernel), _hw(stride), _hw(padding, 0), _hw(dilation)
    return Layer(name, LayerKind.POOL, N=n, G=c, P=p, Q=q, R=r, S=s, H=h, W=w, stride=st, padding=pd,
                 dilation=dl, ops_per_output=r * s, inputs=inputs, op=op)


def adaptive_window(size: int, out: int) -> tuple[int, int]:
    """(kernel, stride) of an adaptive pool: exact when `out` divides `size`, else the largest window.

    A global pool (one output) gets stride 1, as the zoo writes it (the stride of a single window is moot)."""
    if out == 1:
        return size, 1
    if size % out == 0:
        return size // out, size // out
    return -(-size // out) + 1, max(size // out, 1)


def fc_layer(name: str, in_shape: tuple[int, ...], out_features: int, bias: bool, inputs: tuple[str, ...],
             op: str) -> Layer:
    """A linear layer on [..., in_features]: first dim is the batch, the middle dims are rows (tokens)."""
    s = tuple(int(v) for v in in_shape)
    n = s[0] if len(s) >= 2 else 1
    rows = math.prod(s[1:-1]) if len(s) >= 3 else 1
    return Layer(name, LayerKind.FC, N=n, M=out_features, C=s[-1], P=rows, H=rows, bias=bias, inputs=inputs,
                 op=op)


def matmul_layer(name: str, a: tuple[int, ...], b: tuple[int, ...], inputs: tuple[str, ...],
                 op: str) -> Layer:
    """A product of two activations with NumPy broadcasting: batch dims become N (first) and G (rest)."""
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    batch = _broadcast(a2[:-2], b2[:-2])
    n = batch[0] if batch else 1
    g = math.prod(batch[1:]) if len(batch) > 1 else 1
    rows, inner, cols = a2[-2], a2[-1], b2[-1]
    return Layer(name, LayerKind.MATMUL, N=n, G=g, M=cols, C=inner, P=rows, H=rows,
                 weights_are_parameters=False, inputs=inputs, op=op)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))


def _hw(v: tuple[int, ...], unit: int = 1) -> tuple[int, int]:
    """A 1-D window value (k,) as (unit, k) (unit 1 for kernel/stride/dilation, 0 for padding); 2-D as is."""
    t = tuple(int(x) for x in v)
    return (unit, t[0]) if len(t) == 1 else (t[0], t[1])
