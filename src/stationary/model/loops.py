"""A mapping flattened into Timeloop's loop list: innermost loop first, each tagged with its storage level."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from stationary.arch.spec import Architecture, StorageLevel
from stationary.mapping.mapping import Mapping
from stationary.workload.loopnest import LoopNest


@dataclass(frozen=True)
class Loop:
    dim: int  # index into the loop nest's dimensions
    end: int  # trip count
    kind: str  # "T" temporal, "X" / "Y" spatial along the mesh
    level: int  # storage level that owns it, counted from the inside (0 = next to the MACs)
    residual: int = 0  # trip count when every enclosing loop of its dim is at its final iteration (0: = end)

    @property
    def residual_end(self) -> int:
        return self.residual or self.end

    @property
    def spatial(self) -> bool:
        return self.kind != "T"


@dataclass(frozen=True)
class LoopList:
    loops: tuple[Loop, ...]  # loops[0] is the innermost
    boundaries: tuple[int, ...]  # boundaries[s] = index of the outermost loop of inner level s
    keep: tuple[tuple[bool, ...], ...]  # keep[s][tensor index]
    fanout_x: tuple[int, ...]  # per inner level s
    fanout_y: tuple[int, ...]
    # no_multicast[s][tensor] = (x, y): the network below inner level s cannot multicast it along X / Y
    no_multicast: tuple[tuple[tuple[bool, bool], ...], ...] = ()


def build_loops(nest: LoopNest, arch: Architecture, mapping: Mapping) -> LoopList:
    """Order the loops as Timeloop does (mapping/parser.cpp): per level, spatial loops inside temporal ones;
    trip-count-1 loops dropped; a level with no temporal loop gets a placeholder of size 1."""
    dims = nest.dims
    index = {d: i for i, d in enumerate(dims)}
    n_levels = len(arch.levels)
    loops: list[Loop] = []
    boundaries, fx, fy = [], [], []
    kept = mapping.keep_table(nest, arch)  # outermost first
    for s in range(n_levels):
        i = n_levels - 1 - s  # outermost-first index
        lm = mapping.levels[i]
        fan_x, fan_y = arch.fanout(i)
        fx.append(fan_x)
        fy.append(fan_y)
        if fan_x * fan_y > 1:
            axis = lm.spatial_axis(dims)
            for d in lm.spatial_order(dims):
                if lm.spatial.get(d, 1) > 1:
                    loops.append(Loop(index[d], lm.spatial[d], axis[d], s, lm.residual("spatial", d)))
        added = 0
        for d in lm.temporal_order(dims):
            if lm.temporal.get(d, 1) > 1:
                loops.append(Loop(index[d], lm.temporal[d], "T", s, lm.residual("temporal", d)))
                added += 1
        if not added:
            loops.append(Loop(len(dims) - 1, 1, "T", s))
        boundaries.append(len(loops) - 1)
    off = tuple(tuple(multicast_off(arch.levels[n_levels - 1 - s], t.name) for t in nest.tensors)
                for s in range(n_levels))
    return LoopList(tuple(loops), tuple(boundaries), tuple(reversed(kept)), tuple(fx), tuple(fy), off)


def multicast_off(level: StorageLevel, tensor: str) -> tuple[bool, bool]:
    """(x, y): True where the network below `level` cannot multicast `tensor` along that mesh axis."""
    if not level.multicast:
        return True, True
    return (tensor, "X") in level.no_multicast, (tensor, "Y") in level.no_multicast


def step_counts(ll: LoopList) -> tuple[int, int]:
    """(compute cycles, MACs) of a loop list with residuals, exact: a temporal loop adds up its iterations, a
    spatial loop takes its slowest instance (cycles) or adds them up (MACs). A loop runs its residual trip count
    when every enclosing loop of its dimension is at its final iteration; only two kinds of iteration exist per
    loop (final or not), so this costs one pass per loop and dimension state, not one per iteration."""
    memo: dict[tuple[int, frozenset[int]], tuple[int, int]] = {}

    def walk(k: int, last: frozenset[int]) -> tuple[int, int]:
        if k < 0:
            return 1, 1
        key = (k, last)
        if key not in memo:
            lp = ll.loops[k]
            at_last = lp.dim in last
            trips = lp.residual_end if at_last else lp.end
            body = walk(k - 1, last - {lp.dim})
            final = walk(k - 1, last if at_last else last - {lp.dim})
            macs = (trips - 1) * body[1] + final[1]
            cycles = max(body[0], final[0]) if lp.spatial and trips > 1 else (
                final[0] if lp.spatial else (trips - 1) * body[0] + final[0])
            memo[key] = (cycles, macs)
        return memo[key]

    return walk(len(ll.loops) - 1, frozenset(lp.dim for lp in ll.loops))


def instance_dim_counts(ll: LoopList, bounds: list[int], s: int) -> list[list[int]]:
    """Per utilized instance of inner level s, how many values of each dimension it sees over the run (with
    residuals these differ between instances). A dimension's loops visit exactly the values 0..bound-1, each
    value's loop indices its mixed-radix digits; an instance sees the values whose digits on the spatial loops
    outside level s are its own."""
    outer = [k for k in range(ll.boundaries[s] + 1, len(ll.loops)) if ll.loops[k].spatial]
    counts: list[list[int]] = []
    for idx in itertools.product(*(range(ll.loops[k].end) for k in outer)):
        fixed = dict(zip(outer, idx))
        row = []
        for d, bound in enumerate(bounds):
            stride, digit_of = 1, []
            for k, lp in enumerate(ll.loops):  # innermost first: the strides of the mixed radix
                if lp.dim == d:
                    if k in fixed:
                        digit_of.append((stride, lp.end, fixed[k]))
                    stride *= lp.end
            row.append(sum(1 for v in range(bound) if all((v // st) % e == want for st, e, want in digit_of)))
        if all(row):
            counts.append(row)
    return counts
