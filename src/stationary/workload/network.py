"""A network: an ordered graph of layers (each layer names its producers)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from stationary.errors import StationaryError
from stationary.workload.layer import Layer


@dataclass(frozen=True)
class Network:
    """Layers in execution (topological) order; `input_shape` is (N, C, H, W) of the first input."""

    name: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name in seen:
                raise StationaryError(f"network {self.name}: duplicate layer name {layer.name!r}")
            for src in layer.inputs:
                if src and src not in seen:
                    raise StationaryError(
                        f"network {self.name}: layer {layer.name!r} reads {src!r}, which is not an earlier layer"
                    )
            seen.add(layer.name)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def batch(self) -> int:
        return self.layers[0].N if self.layers else 1

    def with_batch(self, n: int) -> Network:
        """The same network at batch size `n` (every layer's N)."""
        if n < 1:
            raise StationaryError(f"batch must be >= 1, got {n}", field="batch")
        shape = (n, *self.input_shape[1:]) if self.input_shape else ()
        return replace(self, layers=tuple(layer.with_batch(n) for layer in self.layers), input_shape=shape)

    def mac_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.kind.does_macs)
