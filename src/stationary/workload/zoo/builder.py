"""A small builder that tracks feature-map shapes so zoo networks read like their papers' tables."""

from __future__ import annotations

from dataclasses import dataclass

from stationary.workload import layer as L
from stationary.workload.network import Network


@dataclass(frozen=True)
class FMap:
    """A feature map flowing between layers: its producers, channels and spatial size."""

    sources: tuple[str, ...]
    c: int
    h: int
    w: int


class NetBuilder:
    """Appends layers in order; each method takes and returns feature maps."""

    def __init__(self, name: str, channels: int, hw: int | tuple[int, int], batch: int = 1) -> None:
        h, w = (hw, hw) if isinstance(hw, int) else hw
        self.name, self.batch = name, batch
        self.layers: list[L.Layer] = []
        self.input = FMap(("",), channels, h, w)
        self.input_shape = (batch, channels, h, w)

    def _add(self, layer: L.Layer) -> L.Layer:
        self.layers.append(layer)
        return layer

    def conv(self, x: FMap, name: str, out: int, k: int | tuple[int, int], stride: int = 1,
             pad: int | tuple[int, int] = 0, dilation: int = 1, groups: int = 1, bias: bool = True) -> FMap:
        lay = self._add(L.conv2d(name, x.c, out, (x.h, x.w), k, stride, pad, dilation, groups,
                                 self.batch, bias, inputs=_src(x)))
        return FMap((name,), out, lay.P, lay.Q)

    def pool(self, x: FMap, name: str, k: int, stride: int | None = None, pad: int = 0,
             ceil_mode: bool = False, op: str = "max_pool") -> FMap:
        lay = self._add(L.pool2d(name, x.c, (x.h, x.w), k, stride, pad, self.batch, ceil_mode,
                                 inputs=_src(x), op=op))
        return FMap((name,), x.c, lay.P, lay.Q)

    def global_pool(self, x: FMap, name: str) -> FMap:
        self._add(L.pool2d(name, x.c, (x.h, x.w), (x.h, x.w), 1, 0, self.batch, inputs=_src(x), op="avg_pool"))
        return FMap((name,), x.c, 1, 1)

    def fc(self, x: FMap, name: str, out: int, bias: bool = True) -> FMap:
        self._add(L.linear(name, x.c * x.h * x.w, out, self.batch, bias=bias, inputs=_src(x)))
        return FMap((name,), out, 1, 1)

    def add(self, a: FMap, b: FMap, name: str) -> FMap:
        self._add(L.eltwise(name, a.c, (a.h, a.w), self.batch, num_inputs=2, inputs=_src(a) + _src(b), op="add"))
        return FMap((name,), a.c, a.h, a.w)

    @staticmethod
    def concat(*xs: FMap) -> FMap:
        """Channel concatenation: free (no layer), the next layer reads all sources."""
        return FMap(tuple(s for x in xs for s in x.sources), sum(x.c for x in xs), xs[0].h, xs[0].w)

    def build(self) -> Network:
        return Network(self.name, tuple(self.layers), self.input_shape)


def _src(x: FMap) -> tuple[str, ...]:
    return tuple(s for s in x.sources if s)
