"""A DNN layer in the survey's vocabulary (Sze et al. 2017, Fig. 9 / Table I) and its loop nest.

Dimension names, all loop bounds:
  N batch, G groups, M output channels per group, C input channels per group,
  P x Q output rows x columns, R x S filter rows x columns.
MACs = N*G*M*C*P*Q*R*S for every kind that multiplies (conv, fc, matmul); pooling and element-wise
layers do no MACs and count their work as `other_ops` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property

from stationary.errors import StationaryError
from stationary.workload.loopnest import LoopNest, TensorSpec

DIMS = ("N", "G", "M", "C", "P", "Q", "R", "S")


class LayerKind(StrEnum):
    """What a layer computes; every MAC kind is the same loop nest with different tensor projections."""

    CONV = "conv"
    FC = "fc"
    MATMUL = "matmul"  # batched matrix multiply (attention QK^T and AV, or a GEMM between activations)
    POOL = "pool"
    ELTWISE = "eltwise"  # add, activation, batch-norm (scale + shift), ...

    @property
    def does_macs(self) -> bool:
        return self in (LayerKind.CONV, LayerKind.FC, LayerKind.MATMUL)


def out_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a sliding window (PyTorch's formula, optionally ceil-mode as Caffe pools)."""
    if min(size, kernel, stride, dilation) < 1 or pad < 0:
        raise StationaryError(
            f"sizes must be positive (input {size}, kernel {kernel}, stride {stride}, dilation {dilation}) "
            f"and padding non-negative ({pad})"
        )
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if span < 0:
        raise StationaryError(
            f"window of {kernel} (dilation {dilation}) does not fit an input of {size} with padding {pad}"
        )
    q = -(-span // stride) if ceil_mode else span // stride
    out = q + 1
    if ceil_mode and (out - 1) * stride >= size + pad:  # PyTorch: last window must start inside input
        out -= 1
    return out


@dataclass(frozen=True)
class Layer:
    """One layer: loop bounds, window geometry, and what its tensors are.

    `H` x `W` is the real (unpadded) input size; `padding` is added on each side. A transposed convolution
    (`transposed=True`) scatters each of its P x Q inputs through the R x S window into the output, so
    there P x Q is the input size, `H` x `W` the output size and `padding` what is cropped from each side.
    """

    name: str
    kind: LayerKind
    N: int = 1
    G: int = 1
    M: int = 1
    C: int = 1
    P: int = 1
    Q: int = 1
    R: int = 1
    S: int = 1
    H: int = 1
    W: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    bias: bool = False
    weights_are_parameters: bool = True  # False for matmuls whose second operand is an activation
    ops_per_output: int = 1  # non-MAC layers: operations per output element (pool: R*S, BN: 2, ...)
    num_inputs: int = 1  # element-wise layers with several operand tensors (add: 2)
    op: str = ""  # the operator it came from (e.g. "Conv2d", "max_pool", "relu")
    inputs: tuple[str, ...] = field(default=())  # producer layer names ("" = network input)
    transposed: bool = False  # CONV only: a transposed convolution (the window indexes the output)

    def __post_init__(self) -> None:
        for d in DIMS + ("H", "W"):
            v = getattr(self, d)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise StationaryError(f"layer {self.name}: {d} must be a positive integer, got {v!r}", field=d)
        for attr in ("stride", "dilation"):
            if any(v < 1 for v in getattr(self, attr)):
                raise StationaryError(f"layer {self.name}: {attr} must be >= 1", field=attr)
        if any(v < 0 for v in self.padding):
            raise StationaryError(f"layer {self.name}: padding must be >= 0", field="padding")
        if self.transposed and self.kind != LayerKind.CONV:
            raise StationaryError(f"layer {self.name}: only a convolution can be transposed", field="transposed")

    # ----- shape -----------------------------------------------------------------------------------
    @cached_property
    def shape(self) -> Layer:
        """What this layer computes: itself without its name, producers and source operator. Equal shapes share
        one search; every per-shape cache (network mapping, co-design, fusion, near-data) keys on this."""
        return replace(self, name="", inputs=(), op="")

    @property
    def bounds(self) -> dict[str, int]:
        return {d: getattr(self, d) for d in DIMS}

    @property
    def macs(self) -> int:
        return math.prod(self.bounds.values()) if self.kind.does_macs else 0

    @property
    def other_ops(self) -> int:
        """Non-MAC operations (comparisons, adds, scales) of pooling and element-wise layers."""
        if self.kind.does_macs:
            return 0
        return self.N * self.G * self.M * self.P * self.Q * self.ops_per_output

    @property
    def weights(self) -> int:
        """Learned filter/connection weights (no biases), the survey's 'weights' column."""
        if not self.kind.does_macs or not self.weights_are_parameters:
            return 0
        return self.G * self.M * self.C * self.R * self.S

    @property
    def biases(self) -> int:
        return self.G * self.M if (self.bias and self.kind.does_macs) else 0

    @property
    def input_activations(self) -> int:
        """Elements of the (unpadded) input tensors read by the layer."""
        if self.kind == LayerKind.MATMUL:
            a = self.N * self.G * self.C * self.P * self.Q
            b = 0 if self.weights_are_parameters else self.N * self.G * self.M * self.C
            return a + b
        if self.kind == LayerKind.ELTWISE:
            return self.num_inputs * self.N * self.G * self.M * self.P * self.Q
        if self.transposed:
            return self.N * self.G * self.C * self.P * self.Q
        return self.N * self.G * self.C * self.H * self.W

    @property
    def output_activations(self) -> int:
        if self.transposed:
            return self.N * self.G * self.M * self.H * self.W
        return self.N * self.G * self.M * self.P * self.Q

    @property
    def is_depthwise(self) -> bool:
        return self.kind == LayerKind.CONV and self.G > 1 and self.C == 1

    def with_batch(self, n: int) -> Layer:
        return replace(self, N=n)

    # ----- loop nest -------------------------------------------------------------------------------
    def loop_nest(self) -> LoopNest:
        """This layer as a loop nest with Weights / Inputs / Outputs tensors (Timeloop's names)."""
        if not self.kind.does_macs:
            raise StationaryError(
                f"layer {self.name} ({self.kind.value}) does no MACs; only conv/fc/matmul have a MAC loop nest"
            )
        sh, sw = self.stride
        dh, dw = self.dilation
        weight_axes: tuple = ((1, "G"),), ((1, "M"),), ((1, "C"),), ((1, "R"),), ((1, "S"),)
        if not self.weights_are_parameters:  # both matmul operands are activations: B depends on batch
            weight_axes = (((1, "N"),),) + weight_axes
        if self.transposed:  # out[p*stride + r*dilation] += in[p] * w[r]: the window is on the output
            return LoopNest(self.name, self.bounds, (
                TensorSpec("Weights", weight_axes),
                TensorSpec("Inputs", (((1, "N"),), ((1, "G"),), ((1, "C"),), ((1, "P"),), ((1, "Q"),))),
                TensorSpec("Outputs", (((1, "N"),), ((1, "G"),), ((1, "M"),), ((sh, "P"), (dh, "R")),
                                       ((sw, "Q"), (dw, "S"))), read_write=True),
            ))
        tensors = (
            TensorSpec("Weights", weight_axes),
            TensorSpec(
                "Inputs",
                (((1, "N"),), ((1, "G"),), ((1, "C"),), ((sh, "P"), (dh, "R")), ((sw, "Q"), (dw, "S"))),
            ),
            TensorSpec(
                "Outputs", (((1, "N"),), ((1, "G"),), ((1, "M"),), ((1, "P"),), ((1, "Q"),)), read_write=True
            ),
        )
        return LoopNest(self.name, self.bounds, tensors)


# ----- constructors ---------------------------------------------------------------------------------
def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv2d(
    name: str,
    in_channels: int,
    out_channels: int,
    in_hw: int | tuple[int, int],
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    batch: int = 1,
    bias: bool = True,
    inputs: tuple[str, ...] = (),
    op: str = "conv2d",
) -> Layer:
    """A 2-D convolution given the framework's view (total channels, kernel, stride, ...)."""
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise StationaryError(
            f"layer {name}: channels {in_channels}->{out_channels} are not divisible by groups={groups}"
        )
    (h, w), (r, s), st, pd, dl = _pair(in_hw), _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    p = out_size(h, r, st[0], pd[0], dl[0])
    q = out_size(w, s, st[1], pd[1], dl[1])
    return Layer(
        name, LayerKind.CONV, N=batch, G=groups, M=out_channels // groups, C=in_channels // groups,
        P=p, Q=q, R=r, S=s, H=h, W=w, stride=st, dilation=dl, padding=pd, bias=bias, inputs=inputs, op=op,
    )


def linear(
    name: str, in_features: int, out_features: int, batch: int = 1, rows: int = 1, bias: bool = True,
    inputs: tuple[str, ...] = (), op: str = "linear",
) -> Layer:
    """A fully connected layer; `rows` > 1 applies it to each of `rows` tokens (as in a transformer)."""
    return Layer(name, LayerKind.FC, N=batch, M=out_features, C=in_features, P=rows, H=rows,
                 bias=bias, inputs=inputs, op=op)


def matmul(
    name: str, rows: int, inner: int, cols: int, batch: int = 1, heads: int = 1,
    inputs: tuple[str, ...] = (), op: str = "matmul",
) -> Layer:
    """Batched product of two activations: [batch, heads, rows, inner] x [batch, heads, inner, cols]."""
    return Layer(name, LayerKind.MATMUL, N=batch, G=heads, M=cols, C=inner, P=rows, H=rows,
                 weights_are_parameters=False, inputs=inputs, op=op)


def pool2d(
    name: str, channels: int, in_hw: int | tuple[int, int], kernel: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0, batch: int = 1,
    ceil_mode: bool = False, inputs: tuple[str, ...] = (), op: str = "max_pool",
) -> Layer:
    """Max/average pooling: one operation per window element per output."""
    (h, w), (r, s) = _pair(in_hw), _pair(kernel)
    st, pd = _pair(stride if stride is not None else kernel), _pair(padding)
    p = out_size(h, r, st[0], pd[0], 1, ceil_mode)
    q = out_size(w, s, st[1], pd[1], 1, ceil_mode)
    return Layer(name, LayerKind.POOL, N=batch, G=channels, P=p, Q=q, R=r, S=s, H=h, W=w, stride=st,
                 padding=pd, ops_per_output=r * s, inputs=inputs, op=op)


def eltwise(
    name: str, channels: int, hw: int | tuple[int, int], batch: int = 1, num_inputs: int = 1,
    ops_per_output: int = 1, inputs: tuple[str, ...] = (), op: str = "eltwise",
) -> Layer:
    """Element-wise layer over a [batch, channels, h, w] tensor (add: 2 inputs; batch-norm: 2 ops)."""
    h, w = _pair(hw)
    return Layer(name, LayerKind.ELTWISE, N=batch, G=channels, P=h, Q=w, H=h, W=w, num_inputs=num_inputs,
                 ops_per_output=ops_per_output, inputs=inputs, op=op)
