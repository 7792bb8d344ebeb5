"""A fused group's energy and cycles: per-layer inner mappings (the single-layer search on tile-sized layers,
on the architecture below the fusion level) plus the group's DRAM transfers, both through model/costing.py."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from stationary.arch.spec import Architecture, StorageLevel
from stationary.errors import StationaryError
from stationary.fusion.graph import Group
from stationary.fusion.tiles import FusedCounts, split_heads
from stationary.mapper.search import SearchOptions, search
from stationary.model.costing import Costing, Counts
from stationary.workload.layer import Layer

#: Inner searches are many and small: no dataflow seeding, a small budget (docs/fusion.md).
INNER_BUDGET = 3000


#: the tensors a fused group moves through its fusion level (weights, layer inputs, outputs)
GROUP_TENSORS = ("Weights", "Inputs", "Outputs")


def _bypassed(lv: StorageLevel) -> list[str]:
    """The group tensors `lv` cannot hold (its keep/bypass lists): the group model stages every tensor there."""
    return [t for t in GROUP_TENSORS if t in lv.bypass_always or (lv.keep_only is not None and t not in lv.keep_only)]


def fusion_level(arch: Architecture, name: str | None = None) -> int:
    """Index of the level that holds the intermediates: `name`, or the outermost bounded on-chip level that may
    hold every tensor (the group's transfers fill weights and inputs there and drain outputs from it)."""
    if name is not None:
        i = arch.level_index(name)
        if i == 0:
            raise StationaryError("the fusion level must be below the outermost (DRAM) level", field="--fuse-level")
        if _bypassed(arch.levels[i]):
            raise StationaryError(f"fusion level {name} bypasses {', '.join(_bypassed(arch.levels[i]))}: a fused "
                                  "group stages every tensor there", field="--fuse-level")
        return i
    skipped = []
    for i, lv in enumerate(arch.levels[1:], start=1):
        if not lv.virtual and lv.size_words is not None:
            if not _bypassed(lv):
                return i
            skipped.append(f"{lv.name} bypasses {', '.join(_bypassed(lv))}")
    why = f" ({'; '.join(skipped)}: a fused group stages every tensor at its fusion level)" if skipped else ""
    raise StationaryError(f"architecture {arch.name} has no bounded on-chip level to fuse at{why}", field="--arch")


def inner_arch(arch: Architecture, level: int) -> Architecture:
    """The levels from the fusion level down, the fusion level unbounded: the group checks its capacity."""
    top = replace(arch.levels[level], depth=None)
    return replace(arch, name=f"{arch.name}@{top.name}", levels=(top, *arch.levels[level + 1:]),
                   spatial_aliases=())


@functools.lru_cache(maxsize=4096)
def _inner(layer: Layer, arch: Architecture, options: SearchOptions) -> tuple[float, int]:
    """(energy pJ, cycles) of one tile-sized layer's best inner mapping."""
    r = search(layer.loop_nest(), arch, [], options).result
    return r.energy_pj, r.cycles


def inner_options(options: SearchOptions) -> SearchOptions:
    return replace(options, budget=min(options.budget, INNER_BUDGET), seed_dataflows=False, seed_keeps=False,
                   polish_share=0.0, descent_share=0.0, pareto=False)


def tile_layer(layer: Layer, rows: int, cols: int) -> Layer:
    """The layer restricted to a rows x cols block of its output (its input block follows from the window)."""
    h = (rows - 1) * layer.stride[0] + (layer.R - 1) * layer.dilation[0] + 1
    w = (cols - 1) * layer.stride[1] + (layer.S - 1) * layer.dilation[1] + 1
    return replace(layer.shape, P=rows, Q=cols, H=h, W=w, padding=(0, 0))


def nonmac_energy_pj(ops: int, arch: Architecture) -> float:
    """Energy of non-MAC operations (softmax's scale, max, exp-and-sum, divide; pooling compares; adds): each
    one costs the architecture's compute (MAC) energy, `arch.compute.energy_pj`; no separate table for exp."""
    return ops * arch.compute.energy_pj


@dataclass(frozen=True)
class GroupCost:
    """A fused group's counts, energy (inner + transfers + non-MAC operations) and cycles."""

    counts: FusedCounts
    inner_energy_pj: float
    transfer_energy_pj: float
    cycles: int
    other_energy_pj: float = 0.0  # the non-MAC layers' operations (softmax), `nonmac_energy_pj`

    @property
    def energy_pj(self) -> float:
        return self.inner_energy_pj + self.transfer_energy_pj + self.other_energy_pj


def transfer_cost(arch: Architecture, level: int, counts: FusedCounts) -> tuple[float, int]:
    """(energy pJ, cycles) of the group's DRAM traffic: DRAM reads and fusion-level fills of weights and
    inputs (second matmul operands K, V with the inputs) and DRAM updates of outputs, as one batch row through
    the costing stage. The outputs' drain from the fusion level is no read there, by the single-layer model's
    (Timeloop's) rule reads = updates - partition (docs/counting-rules.md §5): fused and layer by layer agree."""
    n = len(arch.levels)
    z = np.zeros((1, n, 3), object)
    reads, fills, updates, tiles, part = z.copy(), z.copy(), z.copy(), z.copy(), z.copy()
    kept = np.zeros((1, n, 3), bool)
    kept[0, 0, :] = kept[0, level, :] = True
    w, i, o = counts.weight_words, counts.input_words + counts.operand_words, counts.output_words
    reads[0, 0, 0], reads[0, 0, 1], updates[0, 0, 2] = w, i, o
    fills[0, level, 0], fills[0, level, 1] = w, i
    instances = np.zeros((1, n), object)
    instances[0, :level + 1] = 1
    c = Counts(reads, fills, updates, tiles, part, kept, instances, np.array([1], object), np.array([0], object),
               np.array([0], object), np.ones(1, bool))
    fr = Costing(arch).cost(c)
    return float(fr.energy_pj[0]), int(fr.cycles[0])


def group_cost(group: Group, counts: FusedCounts, arch: Architecture, level: int,
               options: SearchOptions) -> GroupCost:
    """Inner energy and cycles summed over every tile of every MAC layer, plus the transfers (their cycles overlap
    the inner ones) and the non-MAC operations (no cycles charged for those: they are not mapped, as layer by
    layer)."""
    sub = inner_arch(arch, level)
    opts = inner_options(options)
    if counts.heads_per_tile is not None:  # tiles of some heads: the tile layers are the split group's
        group = split_heads(group, counts.heads_per_tile)
    by_name = {x.name: x for x in group.layers}
    energy, cycles = 0.0, 0
    for name, shapes in counts.tile_shapes.items():
        for (rows, cols), k in shapes.items():
            e, cyc = _inner(tile_layer(by_name[name], rows, cols), sub, opts)
            energy += e * k
            cycles += cyc * k
    te, tc = transfer_cost(arch, level, counts)
    # DRAM transfers overlap compute, as in the single-layer model (cycles = max of compute and each level's
    # bandwidth-bound cycles): fused and layer-by-layer cycles follow one rule
    return GroupCost(counts, energy, te, max(cycles, tc), nonmac_energy_pj(counts.other_ops, arch))
