"""Per layer of a network: every applicable method's counts, numerical error and measured time.

Counts are closed forms at the layer's full size. Error and time come from running the methods on a
slice of the layer (at most `batch` images and `channels` channels per group, full spatial size), because
running VGG-16's conv1_2 six ways at full size takes minutes in NumPy; the slice keeps the per-channel
spatial work that separates the methods, and the JSON says which slice was run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from stationary.errors import StationaryError
from stationary.transforms.counts import OpCounts, count
from stationary.transforms.methods import (
    DEFAULT_METHODS,
    Options,
    applicable,
    convolve,
    parse_method,
    require,
)
from stationary.transforms.roofline import Roofline
from stationary.transforms.spec import ConvSpec, random_operands, spec_of
from stationary.workload.network import Network

DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


@dataclass
class MethodResult:
    """One method on one layer: full-size counts, then error and time measured on the slice."""

    counts: OpCounts
    max_abs_error: float | None = None
    seconds: float | None = None  # best of the timing runs, on the slice
    roofline: dict[str, float | str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {**self.counts.to_json(), "max_abs_error": self.max_abs_error, "seconds": self.seconds,
                **self.roofline}


@dataclass
class LayerResult:
    """All methods on one layer, and the winners."""

    name: str
    shape: str
    slice_shape: str
    methods: dict[str, MethodResult]
    not_applicable: dict[str, str]

    def best(self, key: Callable[[MethodResult], float | None]) -> str | None:
        """The method with the smallest `key` (None values skipped)."""
        scored = [(k, v) for k, v in ((n, key(r)) for n, r in self.methods.items()) if v is not None]
        return min(scored, key=lambda t: t[1])[0] if scored else None

    @property
    def best_by_ops(self) -> str | None:
        return self.best(lambda r: r.counts.total_ops)

    @property
    def best_by_multiplications(self) -> str | None:
        return self.best(lambda r: r.counts.multiplications)

    @property
    def best_by_time(self) -> str | None:
        return self.best(lambda r: r.seconds)

    def to_json(self) -> dict[str, object]:
        return {"layer": self.name, "shape": self.shape, "timed_slice": self.slice_shape,
                "best_by_total_ops": self.best_by_ops, "best_by_multiplications": self.best_by_multiplications,
                "best_by_seconds": self.best_by_time,
                "methods": {k: v.to_json() for k, v in self.methods.items()},
                "not_applicable": self.not_applicable}


def max_abs_error(method: str, spec: ConvSpec, dtype: type, options: Options | None = None, seed: int = 0) -> float:
    """Largest |method in `dtype` - direct in float64| on random operands rounded to `dtype`."""
    options = options or Options()
    x, w = random_operands(spec, dtype, seed)
    ref = convolve("direct", x.astype(np.float64), w.astype(np.float64), spec, options)
    got = convolve(method, x, w, spec, options).astype(np.float64)
    return float(np.max(np.abs(got - ref)))


def time_method(method: str, spec: ConvSpec, dtype: type, options: Options | None = None,
                repeats: int = 3, budget_s: float = 2.0) -> float:
    """Best wall-clock seconds of `method` on `spec` over up to `repeats` runs, stopping after `budget_s`."""
    options = options or Options()
    x, w = random_operands(spec, dtype)
    best, spent = float("inf"), 0.0
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        convolve(method, x, w, spec, options)
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent > budget_s:
            break
    return best


def evaluate_network(
    net: Network, methods: tuple[str, ...] = DEFAULT_METHODS, dtype: str = "float32", *,
    measure: bool = True, slice_batch: int = 1, slice_channels: int = 16, repeats: int = 3,
    budget_s: float = 2.0, layers: tuple[str, ...] = (), roofline: Roofline | None = None,
    options: Options | None = None, strict: bool = False,
) -> Iterator[LayerResult]:
    """Yield one LayerResult per CONV/FC layer (optionally only `layers`), as each finishes.

    `strict`: a method that cannot do a selected layer is an error (the user asked for it by name);
    otherwise it is listed under `not_applicable` with the reason.
    """
    options = options or Options()
    if dtype not in DTYPES:
        raise StationaryError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}", field="--dtype")
    for m in methods:
        parse_method(m)
    npdtype = DTYPES[dtype]
    itemsize = np.dtype(npdtype).itemsize
    chosen = [layer for layer in net.mac_layers() if not layers or layer.name in layers]
    missing = set(layers) - {layer.name for layer in net.mac_layers()}
    if missing:
        raise StationaryError(f"no CONV/FC layer named {', '.join(sorted(missing))} in {net.name}", field="--layer")
    for layer in chosen:
        spec = spec_of(layer)
        small = spec.sliced(slice_batch, slice_channels)
        results: dict[str, MethodResult] = {}
        skipped: dict[str, str] = {}
        for m in methods:
            if strict:
                require(m, spec)
            ok = applicable(spec, (m,))
            if not ok:
                skipped[m] = f"needs stride 1 and dilation 1 (has stride {spec.stride}, dilation {spec.dilation})"
                continue
            r = MethodResult(count(m, spec, itemsize, options))
            if measure:
                r.max_abs_error = max_abs_error(m, small, npdtype, options)
                r.seconds = time_method(m, small, npdtype, options, repeats, budget_s)
            if roofline is not None:
                r.roofline = roofline.place(r.counts)
            results[m] = r
        yield LayerResult(layer.name, spec.describe(), small.describe(), results, skipped)
