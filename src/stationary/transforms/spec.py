"""The geometry of one convolution the kernels execute, and its operands.

Layout follows PyTorch: inputs [N, G*C, H, W], weights [G*M, C, R, S], outputs [N, G*M, P, Q].
A fully connected layer is the 1x1 convolution with H = rows, W = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stationary.errors import StationaryError
from stationary.workload.layer import Layer, LayerKind, out_size


@dataclass(frozen=True)
class ConvSpec:
    """Shape and window of a grouped 2-D convolution (per-group channel counts C and M)."""

    N: int
    G: int
    M: int
    C: int
    H: int
    W: int
    R: int
    S: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    name: str = "conv"

    def __post_init__(self) -> None:
        for f in ("N", "G", "M", "C", "H", "W", "R", "S"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise StationaryError(f"{self.name}: {f} must be a positive integer, got {v!r}", field=f)
        if min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise StationaryError(f"{self.name}: stride and dilation must be >= 1, padding >= 0",
                                  field="stride")
        _ = self.P, self.Q  # raises when the window does not fit

    @property
    def P(self) -> int:
        return out_size(self.H, self.R, self.stride[0], self.padding[0], self.dilation[0])

    @property
    def Q(self) -> int:
        return out_size(self.W, self.S, self.stride[1], self.padding[1], self.dilation[1])

    @property
    def macs(self) -> int:
        return self.N * self.G * self.M * self.C * self.P * self.Q * self.R * self.S

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.G * self.C, self.H, self.W)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.G * self.M, self.C, self.R, self.S)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.G * self.M, self.P, self.Q)

    @property
    def unit_stride(self) -> bool:
        return self.stride == (1, 1) and self.dilation == (1, 1)

    def describe(self) -> str:
        """'N1 C64->M64 224x224 k3x3 s1 p1 d1 g1' — one line for tables and errors."""
        return (f"N{self.N} C{self.G * self.C}->M{self.G * self.M} {self.H}x{self.W} k{self.R}x{self.S} "
                f"s{self.stride[0]}x{self.stride[1]} p{self.padding[0]}x{self.padding[1]} "
                f"d{self.dilation[0]}x{self.dilation[1]} g{self.G}")

    def sliced(self, batch: int, channels: int) -> ConvSpec:
        """The same window on at most `batch` images and `channels` input/output channels per group.

        Why: timing a full VGG layer with every method takes minutes; a slice keeps each measurement
        short while the spatial work per channel pair, which decides between methods, is unchanged.
        """
        return ConvSpec(min(self.N, batch), min(self.G, channels), min(self.M, channels),
                        min(self.C, channels), self.H, self.W, self.R, self.S, self.stride, self.padding,
                        self.dilation, self.name)

    def check_operands(self, x: np.ndarray, w: np.ndarray) -> None:
        """Raise a clear error when the arrays do not have this convolution's shapes."""
        if x.shape != self.input_shape:
            raise StationaryError(f"{self.name}: input shape {x.shape} != expected {self.input_shape}",
                                  field="inputs")
        if w.shape != self.weight_shape:
            raise StationaryError(f"{self.name}: weight shape {w.shape} != expected {self.weight_shape}",
                                  field="weights")


def spec_of(layer: Layer) -> ConvSpec:
    """The convolution a CONV or FC layer computes (FC: a 1x1 convolution over `rows` x 1)."""
    if layer.kind == LayerKind.CONV:
        return ConvSpec(layer.N, layer.G, layer.M, layer.C, layer.H, layer.W, layer.R, layer.S,
                        layer.stride, layer.padding, layer.dilation, layer.name)
    if layer.kind == LayerKind.FC:
        return ConvSpec(layer.N, layer.G, layer.M, layer.C, layer.P, layer.Q, 1, 1, name=layer.name)
    raise StationaryError(f"layer {layer.name} is a {layer.kind.value} layer; transforms apply to conv and fc",
                          field="kind")


def random_operands(spec: ConvSpec, dtype: type = np.float64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform(-1, 1) inputs and weights of the spec's shapes, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    x: np.ndarray = rng.uniform(-1.0, 1.0, spec.input_shape).astype(dtype)
    w: np.ndarray = rng.uniform(-1.0, 1.0, spec.weight_shape).astype(dtype)
    return x, w
