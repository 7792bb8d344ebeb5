"""What the PyTorch and ONNX importers share: the imported network type, layer builders from tensor shapes,
and the collection of warnings about operators an importer did not understand."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from stationary.errors import StationaryError
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


class Skipped:
    """Operators an importer could not count, grouped by operator, with the parameters they read and the MACs
    they would do. One that holds parameters or MACs is an error unless skipping is allowed; then, as any
    other skipped operator, a warning stating its share of the model."""

    def __init__(self, total_params: int) -> None:
        self.total_params = total_params
        self._places: dict[str, list[str]] = defaultdict(list)
        self._params: dict[str, dict[str, int]] = defaultdict(dict)
        self._macs: dict[str, int] = defaultdict(int)

    def add(self, op: str, where: str, params: dict[str, int] | None = None, macs: int | None = None) -> None:
        """Record one call of `op` at `where`, the parameters it reads (name -> elements) and its MACs."""
        self._places[op].append(where)
        self._params[op].update(params or {})
        self._macs[op] += macs or 0

    def _share(self, op: str, counted_macs: int) -> str:
        parts = []
        params = sum(self._params[op].values())
        if params:
            pct = 100 * params / max(self.total_params, params)
            parts.append(f"{params:,} of {max(self.total_params, params):,} parameters ({pct:.2f} %)")
        macs = self._macs[op]
        if macs:
            total = counted_macs + sum(self._macs.values())
            parts.append(f"{macs:,} of {total:,} MACs ({100 * macs / total:.2f} %)")
        return " and ".join(parts)

    def _line(self, op: str) -> str:
        places = self._places[op]
        shown = ", ".join(places[:3]) + (", ..." if len(places) > 3 else "")
        calls = "1 call" if len(places) == 1 else f"{len(places)} calls"
        return f"operator {op!r} ({calls}: {shown})"

    def check(self, model: str, allow_skip: bool, counted_macs: int) -> None:
        """Raise one error naming every operator that holds parameters or MACs, unless `allow_skip`."""
        self._counted = counted_macs
        heavy = [op for op in self._places if self._share(op, counted_macs)]
        if heavy and not allow_skip:
            what = "; ".join(f"{self._line(op)} holds {self._share(op, counted_macs)}" for op in heavy[:4])
            more = f" (and {len(heavy) - 4} more)" if len(heavy) > 4 else ""
            raise StationaryError(
                f"{model}: cannot count {what}{more}; pass --allow-skip (allow_skip=True) to skip "
                f"{'it' if len(heavy) == 1 else 'them'} with a warning")

    def warnings(self) -> tuple[str, ...]:
        """One line per skipped operator, with the share it holds (after `check`)."""
        counted = getattr(self, "_counted", 0)
        out = []
        for op in self._places:
            share = self._share(op, counted)
            what = f"skipped (no layer): its {share} are not counted" if share else \
                "skipped (no layer, nothing counted)"
            out.append(f"unsupported {self._line(op)}: {what}")
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
    """(N, C, H, W) of a batched or unbatched 1-, 2- or 3-D feature map; 1-D maps have H = 1 and a 3-D map's
    depth is folded into H (D x H rows), as `conv_layer` folds it."""
    s = tuple(int(v) for v in shape)
    if len(s) == spatial + 1:  # unbatched
        s = (1, *s)
    if spatial == 1:
        return s[0], s[1], 1, s[2]
    if spatial == 3:
        return s[0], s[1], s[2] * s[3], s[4]
    return s[0], s[1], s[2], s[3]


def conv_layer(name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], weight_shape: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...], groups: int,
               bias: bool, inputs: tuple[str, ...], op: str, transposed: bool = False) -> Layer:
    """A 1-, 2- or 3-D convolution or transposed convolution, its channels taken from the weight tensor.

    The output size comes from shape propagation, not recomputed. An input whose channel count differs from
    what the weight expects is refused. A 3-D convolution is counted as a 2-D one over depth-unrolled maps:
    its T depth taps fold into C and its output depths into P (exact MACs and weights; the input counted is
    the depth-unrolled one, each input plane once per depth tap)."""
    w = tuple(int(v) for v in weight_shape)
    spatial = len(w) - 2
    if spatial not in (1, 2, 3):
        raise StationaryError(f"layer {name}: a {spatial}-D convolution weight {w} cannot be counted")
    x = _batched(in_shape, spatial, name)
    y = _batched(out_shape, spatial, name)
    if groups < 1:
        raise StationaryError(f"layer {name}: groups must be >= 1, got {groups}")
    c_group, m_group = (w[0] // groups, w[1]) if transposed else (w[1], w[0] // groups)
    if w[0] % groups:
        raise StationaryError(f"layer {name}: weight {w} does not split into {groups} groups")
    if x[1] != c_group * groups:
        raise StationaryError(
            f"layer {name}: the input has {x[1]} channels but the weight {w} expects {c_group * groups} "
            f"({groups} group(s) of {c_group})")
    if y[1] != m_group * groups:
        raise StationaryError(f"layer {name}: the output has {y[1]} channels but the weight {w} makes "
                              f"{m_group * groups}")
    kernel = w[2:]
    taps = kernel[0] if spatial == 3 else 1
    windowed, scattered = (y, x) if transposed else (x, y)  # the window runs over the windowed tensor
    if spatial == 3:  # (N, C, D, H, W): the scattered tensor's depths fold into the rows of both
        depth = scattered[2]
        p, q, h, wd = depth * scattered[3], scattered[4], depth * windowed[3], windowed[4]
    else:
        (_, _, p, q), (_, _, h, wd) = nchw(scattered, spatial), nchw(windowed, spatial)
    (r, s), st = _hw(kernel[-2:]), _hw(_last2(stride))
    pd, dl = _hw(_last2(padding), 0), _hw(_last2(dilation))
    return Layer(name, LayerKind.CONV, N=x[0], G=groups, M=m_group, C=c_group * taps, P=p, Q=q, R=r, S=s,
                 H=h, W=wd, stride=st, dilation=dl, padding=pd, bias=bias, inputs=inputs, op=op,
                 transposed=transposed)


def _batched(shape: tuple[int, ...], spatial: int, name: str) -> tuple[int, ...]:
    s = tuple(int(v) for v in shape)
    if len(s) == spatial + 1:
        s = (1, *s)
    if len(s) != spatial + 2:
        raise StationaryError(f"layer {name}: a {spatial}-D convolution cannot read a tensor of shape {s}")
    return s


def _last2(v: tuple[int, ...]) -> tuple[int, ...]:
    t = tuple(v)
    return t[-2:] if len(t) == 3 else t


def pool_layer(name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], kernel: tuple[int, ...],
               stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
               inputs: tuple[str, ...], op: str) -> Layer:
    """Max/average pooling over a 1-, 2- or 3-D window: one operation per window element per output (a 3-D
    pool's depths fold into the rows, as a 3-D convolution's do)."""
    spatial = len(kernel)
    n, c, h, w = nchw(in_shape, spatial)
    _, _, p, q = nchw(out_shape, spatial)
    (r, s), st = _hw(_last2(kernel)), _hw(_last2(stride))
    pd, dl = _hw(_last2(padding), 0), _hw(_last2(dilation))
    return Layer(name, LayerKind.POOL, N=n, G=c, P=p, Q=q, R=r, S=s, H=h, W=w, stride=st, padding=pd,
                 dilation=dl, ops_per_output=math.prod(int(k) for k in kernel), inputs=inputs, op=op)


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
