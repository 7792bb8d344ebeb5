"""Which consecutive layers to fuse and how to tile them: dynamic programming over the topological order with
Pareto pruning of partial plans (energy x peak buffer words).

Optimality: over partitions of the layer order into contiguous groups (each singleton costed by the
single-layer mapper, each fused group at its tiling), the DP's front holds every non-dominated
(energy, buffer) partial plan, so the plan it returns has the least total energy (`auto`) exactly. Each
group's tiling is chosen among the candidates by its DRAM-transfer plus recompute energy before its inner
mappings are searched, and the inner mappings carry no certificate: those two are heuristic.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.fusion.cost import GroupCost, fusion_level, group_cost, nonmac_energy_pj, transfer_cost
from stationary.fusion.graph import Edge, Group, edges, fusible_edge, has_attention, is_attention, make_group
from stationary.fusion.tiles import RECOMPUTE, RETAIN, SECOND_OPERAND, FusedCounts, count, group_heads
from stationary.mapper.network import LayerPlan, dram_words
from stationary.mapper.search import SearchOptions
from stationary.workload.network import Network

FUSE_MODES = ("none", "auto", "max")
MAX_GROUP_LAYERS = 6  # layers per group the DP considers (pooling and element-wise layers included)
MAX_TILES = 1024  # candidate tilings with more tiles are not walked (256 hid VGG-16 conv1_1+conv1_2+pool1 at 8x8)


def check_fuse(mode: str) -> str:
    if mode not in FUSE_MODES:
        raise StationaryError(f"--fuse must be one of {', '.join(FUSE_MODES)}, got {mode!r}", field="--fuse")
    return mode


@dataclass(frozen=True)
class PlannedGroup:
    """One group of the plan: a fused group (with its cost, tile and halo policy) or a layer run alone."""

    names: tuple[str, ...]
    energy_pj: float
    cycles: int
    dram_words: int
    buffer_words: int = 0
    recompute_macs: int = 0
    tile: tuple[int, int] | None = None  # rows x columns of the last layer's output per tile
    cost: GroupCost | None = None
    dram_words_layer_by_layer: int = 0  # what its layers cost alone: the saving is this minus dram_words
    attention: bool = False  # holds QKᵀ -> softmax -> AV (`graph.is_attention`)
    heads_per_tile: int | None = None  # attention tiled over heads too (None: every tile holds all heads)
    halos: dict[str, str] = field(default_factory=dict)  # retain or recompute per intermediate and group input

    @property
    def fused(self) -> bool:
        return len(self.names) > 1

    @property
    def policy(self) -> str:
        """The halos in one word (retain, recompute or mixed; "" for a layer alone): `halo_summary`."""
        return halo_summary(self.halos) if self.halos else ""


@dataclass
class FusionPlan:
    """The chosen groups, the layer-by-layer baseline, and the pairs that could not be fused (and why)."""

    groups: list[PlannedGroup]
    level: str
    capacity_words: int
    word_bits: int
    layer_by_layer_energy_pj: float
    layer_by_layer_dram_words: int
    layer_by_layer_cycles: int
    not_fusible: list[str] = field(default_factory=list)

    @property
    def energy_pj(self) -> float:
        return sum(g.energy_pj for g in self.groups)

    @property
    def dram_words(self) -> int:
        return sum(g.dram_words for g in self.groups)

    @property
    def cycles(self) -> int:
        return sum(g.cycles for g in self.groups)


def _sizes(n: int) -> list[int]:
    """Candidate tile lengths for an axis of n: n, n/2, n/4, ... 1 (rounded up)."""
    out, t = [], n
    while True:
        out.append(t)
        if t == 1:
            return out
        t = math.ceil(t / 2)


def _divisors(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


Tiling = tuple[int, int, dict[str, str], int | None]  # rows, cols, halo per tensor, heads per tile (None: all)


def tiling_energy_pj(c: FusedCounts, arch: Architecture, level: int) -> float:
    """What a tiling is chosen by (before inner mappings are searched): its DRAM transfers, recomputed MACs and
    non-MAC operations."""
    return (transfer_cost(arch, level, c)[0] + c.recompute_macs * arch.compute.energy_pj
            + nonmac_energy_pj(c.other_ops, arch))


def halo_summary(halos: dict[str, str]) -> str:
    """retain or recompute when every tensor agrees, else mixed."""
    kinds = set(halos.values())
    return kinds.pop() if len(kinds) == 1 else "mixed"


def best_tiling(group: Group, arch: Architecture, level: int) -> tuple[Tiling, int] | int:
    """The candidate (rows, cols, halo per tensor, heads per tile) that fits the fusion level with the least
    transfer + recompute + non-MAC energy and its words; or, when none fits, the fewest words any candidate
    needs (an int). Every tiling is tried with all-retain and all-recompute (attention groups, `group_heads`,
    also with every head tile that divides the heads); the best one's halos are then improved one tensor at a
    time (each intermediate and group input flips to the other policy while that lowers the energy and fits),
    so the mix is never worse than all-retain or all-recompute at any tiling."""
    cap = arch.levels[level].size_words or 0
    anchor = group.layers[-1]
    # the tensors whose halo can matter: the intermediates and the group inputs read tile by tile
    names = list(dict.fromkeys([*group.names[:-1],
                                *(e.producer for e in group.inputs if e.operand != SECOND_OPERAND)]))
    total_heads = group_heads(group)
    head_tiles: list[int | None] = [None, *_divisors(total_heads)[1:]] if total_heads else [None]
    best: tuple[float, Tiling, int] | None = None
    least = None
    energy = functools.partial(tiling_energy_pj, arch=arch, level=level)
    for rows in _sizes(anchor.P):
        for cols in _sizes(anchor.Q):
            if math.ceil(anchor.P / rows) * math.ceil(anchor.Q / cols) > MAX_TILES:
                continue
            for pol in (RETAIN, RECOMPUTE):
                for heads in head_tiles:
                    halos = dict.fromkeys(names, pol)
                    c = count(group, rows, cols, halos, cap, heads)
                    least = c.buffer_words if least is None else min(least, c.buffer_words)
                    if c.buffer_words <= cap and (best is None or energy(c) < best[0]):
                        best = (energy(c), (rows, cols, halos, heads), c.buffer_words)
    if best is None:
        return least if least is not None else 0
    e, (rows, cols, halos, heads), words = best
    improved = True
    while improved:  # each accepted flip lowers the energy: this ends
        improved = False
        for n in names:
            trial = {**halos, n: RECOMPUTE if halos[n] == RETAIN else RETAIN}
            c = count(group, rows, cols, trial, cap, heads)
            if c.buffer_words <= cap and energy(c) < e:
                e, halos, words, improved = energy(c), trial, c.buffer_words, True
    return (rows, cols, halos, heads), words


def plan_fusion(net: Network, arch: Architecture, plans: list[LayerPlan], mode: str = "auto",
                options: SearchOptions | None = None, level_name: str | None = None) -> FusionPlan:
    """Group the network's layers (`auto`: least energy; `max`: fewest groups, then least energy)."""
    check_fuse(mode)
    opts = options or SearchOptions()
    level = fusion_level(arch, level_name)
    cap = arch.levels[level].size_words or 0
    by_plan = {p.layer.name: p for p in plans}
    layers = net.layers
    es = edges(net)
    if not any(not fusible_edge(e, net) for e in es):
        raise StationaryError(f"{net.name} has no fusible pair of layers (no producer -> consumer edge whose rows "
                              "line up)", field="--fuse")

    def alone(k: int) -> PlannedGroup:
        p = by_plan.get(layers[k].name)
        if p is None:  # pooling and element-wise layers: their operations only (unmapped, as `evaluate` does)
            ops = layers[k].other_ops
            return PlannedGroup((layers[k].name,), nonmac_energy_pj(ops, arch), 0, 0)
        r = p.found.result
        words = sum(dram_words(r).values())
        return PlannedGroup((layers[k].name,), r.energy_pj, r.cycles, words, dram_words_layer_by_layer=words)

    solo = [alone(k) for k in range(len(layers))]  # every layer run alone: the baseline, and groups of one
    not_fusible: list[str] = []
    # front[j]: non-dominated (objective, buffer, groups) plans of layers[:j]
    front: list[list[tuple[tuple[float, ...], int, list[PlannedGroup]]]] = [[] for _ in range(len(layers) + 1)]
    front[0] = [((0, 0.0), 0, [])]
    for j in range(1, len(layers) + 1):
        cands = []
        for i in range(max(0, j - MAX_GROUP_LAYERS), j):
            g = _group(net, i, j, es, arch, level, cap, opts, solo, not_fusible)
            if g is None:
                continue
            for obj, buf, groups in front[i]:
                key = (obj[0] + (1 if mode == "max" else 0), obj[1] + g.energy_pj)
                cands.append((key, max(buf, g.buffer_words), [*groups, g]))
        cands.sort(key=lambda c: (c[0], c[1]))
        kept: list[tuple[tuple[float, ...], int, list[PlannedGroup]]] = []
        for c in cands:  # sorted by objective: keep one only if it needs less buffer than every better one
            if not kept or c[1] < kept[-1][1]:
                kept.append(c)
        front[j] = kept
    groups = front[-1][0][2]
    return FusionPlan(groups, arch.levels[level].name, cap, arch.levels[0].word_bits,
                      sum(g.energy_pj for g in solo), sum(g.dram_words for g in solo), sum(g.cycles for g in solo),
                      sorted(set(not_fusible)))


def _group(net: Network, i: int, j: int, es: list[Edge], arch: Architecture, level: int, cap: int,
           opts: SearchOptions, solo: list[PlannedGroup], not_fusible: list[str]) -> PlannedGroup | None:
    """Layers i..j-1 as one planned group, or None when they cannot be fused."""
    if j - i == 1:
        return solo[i]
    try:
        group = make_group(net, i, j, es)
    except StationaryError:
        return None
    found = best_tiling(group, arch, level)
    if isinstance(found, int):
        if j - i == 2 or is_attention(group.layers):  # pairs and attention; longer groups are implied
            not_fusible.append(f"{'+'.join(group.names)} needs {found:,} words at {arch.levels[level].name} "
                               f"(capacity {cap:,})")
        return None
    (rows, cols, halos, heads), _ = found
    c = count(group, rows, cols, halos, cap, heads)
    gc = group_cost(group, c, arch, level, opts)
    return PlannedGroup(group.names, gc.energy_pj, gc.cycles, c.dram_words, c.buffer_words, c.recompute_macs,
                        (rows, cols), gc, sum(solo[k].dram_words for k in range(i, j)),
                        has_attention(group.layers), heads, halos)
