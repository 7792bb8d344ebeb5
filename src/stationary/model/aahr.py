"""Axis-aligned hyper-rectangles (Timeloop's AAHR point sets) and its reuse rule between iterations.

A box is `(low, high)` tuples with `high` exclusive, or None for the empty set. Timeloop never represents
a strided lattice: a tile is always the full box spanned by its projections.
"""

from __future__ import annotations

Box = tuple[tuple[int, ...], tuple[int, ...]] | None


def box_size(b: Box) -> int:
    if b is None:
        return 0
    size = 1
    for lo, hi in zip(*b):
        size *= max(0, hi - lo)
    return size


def subtract(a: Box, s: Box) -> Box:
    """a − s as Timeloop's AxisAlignedHyperRectangle::Subtract: exact when they differ in one axis,
    otherwise (no overlap, or several axes differ) the whole of `a`."""
    if a is None or s is None:
        return a
    if a == s:
        return None
    lo, hi = list(a[0]), list(a[1])
    slo, shi = s[0], s[1]
    for d in range(len(lo)):
        if shi[d] <= lo[d] or slo[d] >= hi[d]:
            return a  # disjoint
    differs = False
    for d in range(len(lo)):
        if lo[d] != slo[d] or hi[d] != shi[d]:
            if differs:
                return a  # more than one axis differs: Timeloop keeps the whole box
            differs = True
            if slo[d] <= lo[d]:
                if shi[d] <= hi[d]:
                    lo[d] = shi[d]
                else:
                    hi[d] = lo[d]
            else:
                hi[d] = slo[d]  # (s inside a on this axis would fracture the box; cannot happen here)
            if lo[d] == hi[d]:
                return None
    return tuple(lo), tuple(hi)


def translation(prev: Box, cur: Box) -> tuple[int, ...]:
    assert prev is not None and cur is not None
    return tuple(c - p for c, p in zip(cur[0], prev[0]))


class DeltaState:
    """What one loop remembers about one tensor between its invocations (per spatial instance)."""

    __slots__ = ("last", "stride")

    def __init__(self) -> None:
        self.last: Box = None
        self.stride: tuple[int, ...] | None = None

    def advance(self, cur: Box) -> Box:
        """New data needed for `cur` given the previous box (OperationSpace::SaveAndSubtractIfSameStride).

        The first move after a reset is subtracted and its step remembered — even a zero step, so an
        irrelevant loop inside a sliding one pins the step at zero; a move by the remembered step pays
        only the new slab; any other step (inner loops wrapping when an outer loop advances, or a slide
        after a pause) refetches the whole box and forgets the step.
        """
        prev, self.last = self.last, cur
        if prev is None:
            return cur
        t = translation(prev, cur)
        if self.stride is None:
            self.stride = t
            return subtract(cur, prev)
        if t == self.stride:
            return subtract(cur, prev)
        self.stride = None
        return cur
