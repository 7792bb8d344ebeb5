"""Collapse per-loop tiles into per-level counts: partitions, the parent's share, bypass, read-modify-write.

An exact re-implementation of Timeloop's loop-analysis/tiling.cpp (CollapseTiles and friends, legacy
read-modify-write accounting with first-read elision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from stationary.model.nest_analysis import Access, LoopTile


@dataclass
class LevelCounts:
    """Per-instance counts of one tensor at one storage level (inner index)."""

    size: int = 0  # utilized capacity: the tile held by one instance
    access: Access | None = None
    content: float | Fraction = 0  # words this level delivers to its children
    link: float = 0
    replication: int = 0  # utilized instances
    fanout: int = 0
    pfd: int = 0
    partition: int = 0  # words of this tensor passing through one instance over the run
    share: float | Fraction = 0  # parent_access_share: what the parent sends this instance
    peer_access: float = 0
    peer_fill: float = 0
    reads: int | Fraction = 0  # a Fraction: an exact mean over unequal instances
    fills: int | Fraction = 0  # a Fraction: an exact mean over unequal instances
    updates: int | Fraction = 0  # a Fraction: an exact mean over unequal instances
    temporal_reductions: int | Fraction = 0  # a Fraction: an exact mean over unequal instances


def _total(acc: Access) -> float | Fraction:
    return sum(acc.values(), 0)


def _weighted(acc: Access) -> float | Fraction:
    return sum((v * k[0] for k, v in acc.items()), 0)


def collapse(tiles: list[LoopTile], n_levels: int, keep: list[bool], read_write: bool,
             partitions: list[int | Fraction] | None = None) -> list[LevelCounts]:
    """One tensor's loop tiles -> one LevelCounts per storage level (index 0 = innermost level).
    `partitions` (per level, the mean over its instances) replaces Timeloop's ratio rule: imperfect factors."""
    sol: list[LevelCounts] = []
    i = 0
    while i < len(tiles):
        b = i
        while not tiles[b].boundary and b < len(tiles) - 1:
            b += 1
        inner, outer = tiles[i], tiles[b]
        if sol:
            sol[-1].pfd = inner.size if inner.master else sol[-1].size
        sol.append(LevelCounts(size=outer.size, access=dict(inner.access), content=_total(inner.access),
                               link=inner.link, replication=outer.replication, fanout=inner.fanout))
        i = b + 1
    assert len(sol) == n_levels, (len(sol), n_levels)
    # ComputePartitionSizes
    part = sol[-1].size
    sol[-1].partition = part
    for c in range(n_levels - 2, -1, -1):
        if sol[c].pfd:
            part = part * sol[c].size // sol[c].pfd
        sol[c].partition = part
    if partitions is not None:
        for c in range(n_levels):
            sol[c].partition = partitions[c]  # type: ignore[assignment]
    # ComputeParentAccessShare (before masking: a bypassed parent still defines the child's fills)
    for c in range(n_levels):
        if sol[c].size == 0:
            continue
        o = _next_nonempty(sol, c)
        if o is None:
            continue
        sol[c].share = sum(a * m for (m, _), a in (sol[o].access or {}).items()) / sol[o].fanout
    # MaskTiles: the nearest kept ancestor serves a bypassed level's children
    for c in range(n_levels):
        if sol[c].size == 0 or keep[c]:
            continue
        o = _next_nonempty(sol, c)
        if o is None:
            _zero(sol[c])
            break
        acc = sol[o].access or {}
        w = _weighted(acc)
        f = sol[c].content * sol[o].fanout / w if w else 0.0
        for k in list(acc):
            if acc[k] != 0:
                acc[k] *= f
                sol[o].link = 0
        sol[o].content = _total(acc)
        _zero(sol[c])
    # ProcessOuterMaskedLevels: the outermost kept level is never filled
    for c in range(n_levels - 1, -1, -1):
        if not keep[c]:
            sol[c] = LevelCounts()
        else:
            sol[c].share = 0
            break
    # ComputePeerAccesses
    for c in range(n_levels - 1, 0, -1):
        if sol[c].link:
            rep = sol[c - 1].replication
            sol[c - 1].peer_access += sol[c].link / rep
            sol[c - 1].peer_fill += sol[c].link / rep
    # ComputeReadUpdateReductionAccesses (legacy): the first write of an output needs no read
    for c, t in enumerate(sol):
        if t.size == 0:
            continue
        if read_write:
            t.updates = _round(t.content)
            t.reads = _round(t.content + t.peer_access - t.partition)
            t.temporal_reductions = t.reads
            outermost = all(sol[k].size == 0 for k in range(c + 1, n_levels))
            t.fills = _round(t.share + t.peer_fill - (0 if outermost else t.partition))
        else:
            t.reads = _round(t.content + t.peer_access)
            t.fills = _round(t.share + t.peer_fill)
    return sol


def _round(x: float | Fraction) -> int | Fraction:
    """std::round: halves away from zero (Python's round() would round halves to even). An exact average
    (a Fraction: imperfect factors, where instances differ) stays exact."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else x
    return math.floor(x + 0.5)


def _next_nonempty(sol: list[LevelCounts], c: int) -> int | None:
    for o in range(c + 1, len(sol)):
        if sol[o].size != 0:
            return o
    return None


def _zero(t: LevelCounts) -> None:
    t.size = t.partition = 0
    t.content = t.share = 0.0
