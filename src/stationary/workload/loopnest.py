"""A workload as a perfect loop nest over named dimensions, and its tensors as projections of them.

This is the form the cost model consumes (Timeloop's "problem shape"): every layer kind — convolution,
GEMM, depthwise, attention matmuls — becomes dimension bounds plus, for each tensor, a list of axes where
each axis index is a sum of `coefficient * dimension` terms (e.g. an input row is `stride*P + dilation*R`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from stationary.errors import StationaryError

Term = tuple[int, str]
"""One `coefficient * dimension` term of an axis index."""

Axis = tuple[Term, ...]
"""One axis of a tensor: its index is the sum of its terms."""


@dataclass(frozen=True)
class TensorSpec:
    """A tensor read or written by the loop nest: its axes as projections of the loop dimensions."""

    name: str
    axes: tuple[Axis, ...]
    read_write: bool = False  # True for outputs (partial sums are read, accumulated and written back)

    @property
    def dims(self) -> frozenset[str]:
        """Dimensions this tensor's index depends on (its *relevant* dimensions)."""
        return frozenset(d for axis in self.axes for _, d in axis)

    def extent(self, bounds: Mapping[str, int]) -> int:
        """Number of distinct elements touched when each dimension d ranges over `bounds[d]` values.

        An axis `sum(c_i * d_i)` over a box spans `sum(c_i * (b_i - 1)) + 1` indices; this is exact
        (dense) when the coefficients do not leave gaps, which is Timeloop's convention as well.
        """
        size = 1
        for axis in self.axes:
            size *= sum(c * (bounds.get(d, 1) - 1) for c, d in axis) + 1
        return size


    def distinct(self, bounds: Mapping[str, int]) -> int:
        """Elements actually touched: like `extent`, but without the gaps a stride > 1 leaves on an axis.

        Timeloop (and so the model) counts tiles as boxes, i.e. with the gaps; this is the true minimum.
        The cost is bounded by the axis span, never by the product of the bounds (a batch of 10^12 is one term).
        """
        size = 1
        for axis in self.axes:
            size *= distinct_sums([(c, bounds.get(d, 1)) for c, d in axis])
        return size


#: Axes spanning more indices than this with gaps cannot be counted exactly in bounded memory.
MAX_DISTINCT_SPAN = 1 << 24


def distinct_sums(terms: list[tuple[int, int]]) -> int:
    """How many distinct values sum(c * i) takes over 0 <= i < n for each (c, n) term (c >= 1).

    One term: n. Terms whose steps never skip past what the smaller ones cover: every multiple of their gcd up to
    the span. Otherwise an exact bitset over the span (Python int shifts, doubling in i), refused past
    MAX_DISTINCT_SPAN rather than allocated."""
    terms = sorted((c, n) for c, n in terms if n > 1)
    if not terms:
        return 1
    if len(terms) == 1:
        return terms[0][1]
    g = math.gcd(*(c for c, _ in terms))
    covered = 0  # the first k terms give exactly the multiples of g in [0, covered]
    contiguous = terms[0][0] == g
    for c, n in terms:
        if c > covered + g:
            contiguous = False
        covered += c * (n - 1)
    if contiguous:
        return covered // g + 1
    if covered > MAX_DISTINCT_SPAN:
        raise StationaryError(f"cannot count the distinct elements of a strided axis spanning {covered:,} indices "
                              f"(at most {MAX_DISTINCT_SPAN:,})")
    bits = 1
    for c, n in terms:
        acc, have = bits, 1  # acc: sums with this term's i in [0, have)
        while have < n:
            step = min(have, n - have)
            acc |= acc << (c * step)
            have += step
        bits = acc
    return bits.bit_count()


@dataclass(frozen=True)
class LoopNest:
    """A layer as a loop nest: ordered dimension bounds and the tensors it touches.

    MACs (one per point of the iteration space) are the product of the bounds.
    """

    name: str
    bounds: Mapping[str, int]
    tensors: tuple[TensorSpec, ...]
    coefficients: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for d, b in self.bounds.items():
            if not isinstance(b, int) or isinstance(b, bool) or b < 1:
                raise StationaryError(f"dimension {d} must be a positive integer, got {b!r}", field=d)
        names = [t.name for t in self.tensors]
        if len(set(names)) != len(names):
            raise StationaryError(f"duplicate tensor names in {names}")
        for t in self.tensors:
            unknown = t.dims - set(self.bounds)
            if unknown:
                raise StationaryError(
                    f"tensor {t.name} projects unknown dimension(s) {sorted(unknown)}; "
                    f"known: {list(self.bounds)}",
                    field=t.name,
                )
        if sum(t.read_write for t in self.tensors) > 1:
            raise StationaryError("at most one read-write (output) tensor is supported")

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.bounds)

    @property
    def macs(self) -> int:
        return math.prod(self.bounds.values())

    def tensor(self, name: str) -> TensorSpec:
        for t in self.tensors:
            if t.name == name:
                return t
        raise StationaryError(f"no tensor named {name!r}; tensors: {[t.name for t in self.tensors]}")

    @property
    def output(self) -> TensorSpec | None:
        return next((t for t in self.tensors if t.read_write), None)

    def tensor_size(self, name: str) -> int:
        """Distinct elements of a tensor over the whole nest."""
        return self.tensor(name).extent(self.bounds)
