"""A mapping flattened into Timeloop's loop list: innermost loop first, each tagged with its storage level."""

from __future__ import annotations

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
                    loops.append(Loop(index[d], lm.spatial[d], axis[d], s))
        added = 0
        for d in lm.temporal_order(dims):
            if lm.temporal.get(d, 1) > 1:
                loops.append(Loop(index[d], lm.temporal[d], "T", s))
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
