"""Lower bounds for one layer on one architecture: words that must cross into each storage level, and the
energy no mapping the model can cost goes below (docs/bounds.md derives and argues every term).

A *cut* above level c separates the level and everything below it from the levels above. Every tensor
crosses it; what crosses is set by the tile of the outermost level below the cut that holds some tensor
(its *resident* level c*): over one iteration of the loops above c*, each tensor brings at least its
footprint in that tile, so the traffic is at least that of a single-level tiling with that tile
(tiles.py). The tile is only constrained by the capacity of c* for the tensors held there, so the bound
is the minimum over c*, over which tensor c* holds, and over every divisor tile shape that fits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.bounds.tiles import TileTraffic
from stationary.mapper.space import divisors
from stationary.mapping.constraints import merge
from stationary.workload.loopnest import LoopNest

Fit = tuple[tuple[tuple[int, ...], int | None], ...]
"""Capacity constraints a tile must meet: (tensors whose footprints add up, capacity words or None)."""


@dataclass(frozen=True)
class LevelBound:
    """One storage level: per-instance capacity and the fewest words that must cross into it.

    `min_words_in` counts the words the level and everything below it receive from above, summed over the
    level's instances (a bypassed tensor still crosses, into a level further down); for the outermost
    level, which nothing fills, the output words written back to it."""

    name: str
    capacity_words: int | None
    min_words_in: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "capacity_words": self.capacity_words, "min_words_in": self.min_words_in}


@dataclass(frozen=True)
class LayerBound:
    """A layer's lower bounds: per level, and on the energy of any mapping."""

    name: str
    macs: int
    energy_lower_bound_pj: float
    levels: tuple[LevelBound, ...]
    compute_energy_pj: float  # MACs x MAC energy
    backing_energy_pj: float  # the outermost level's part: the capacity-dependent cut below it

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "macs": self.macs, "energy_lower_bound_pj": self.energy_lower_bound_pj,
                "levels": [lv.to_json() for lv in self.levels]}


class _Bounder:
    """Collects (weights, fit) questions about one layer, scores every tile shape once, answers them."""

    def __init__(self, nest: LoopNest) -> None:
        self.nest = nest
        self.traffic = TileTraffic(nest)
        self.weights: list[tuple[float, ...]] = []
        self.fits: list[tuple[Fit, bool]] = []
        self.best: dict[tuple[float, ...], np.ndarray] = {}
        self.prints: dict[tuple[Fit, bool], np.ndarray] = {}

    def ask(self, weights: tuple[float, ...], fits: list[tuple[Fit, bool]]) -> None:
        if weights not in self.weights:
            self.weights.append(weights)
        for f in fits:
            if f not in self.fits:
                self.fits.append(f)

    def solve(self) -> None:
        tt, n_t = self.traffic, len(self.nest.tensors)
        best: dict[tuple[float, ...], list[np.ndarray]] = {w: [] for w in self.weights}
        ok: dict[tuple[Fit, bool], list[np.ndarray]] = {f: [] for f in self.fits}
        for ext in tt.tile_chunks():
            box = [tt.footprint(t, ext) for t in range(n_t)]
            dist = [tt.distinct_footprint(t, ext) for t in range(n_t)] if any(d for _, d in self.fits) else box
            for f in self.fits:
                fit, distinct = f
                prints = dist if distinct else box
                good = np.ones(ext.shape[0], bool)
                for tensors, cap in fit:
                    if cap is not None:
                        good &= sum((prints[t] for t in tensors), np.zeros(ext.shape[0], np.int64)) <= cap
                ok[f].append(good)
            delivered = tt.delivered(ext)
            for w in self.weights:
                low = None
                for row in delivered:
                    words = sum((w[t] * row[t] for t in range(n_t) if w[t]), np.zeros(ext.shape[0]))
                    low = words if low is None else np.minimum(low, words)
                best[w].append(low if low is not None else np.zeros(ext.shape[0]))
        self.best = {w: np.concatenate(v) for w, v in best.items()}
        self.prints = {f: np.concatenate(v) for f, v in ok.items()}

    def minimum(self, weights: tuple[float, ...], fits: list[tuple[Fit, bool]]) -> float:
        """The least weighted traffic over the tile shapes meeting any one of `fits` (inf if none does)."""
        values = self.best[weights]
        low = np.inf
        for f in fits:
            good = self.prints[f]
            if good.any():
                low = min(low, float(values[good].min()))
        return low


def layer_bound(nest: LoopNest, arch: Architecture, name: str | None = None) -> LayerBound:
    """Lower bounds of `nest` on `arch`, valid for every mapping of its map space under any constraints."""
    L, T = len(arch.levels), len(nest.tensors)
    levels = arch.levels
    real = [i for i in range(L) if not levels[i].virtual]
    must, may = keep_rules(nest, arch)
    rw = [t.read_write for t in nest.tensors]
    outputs = next((t.extent(nest.bounds) for t in nest.tensors if t.read_write), 0)
    compulsory = [0 if t.read_write else t.distinct(nest.bounds) for t in nest.tensors]
    n_mac = arch.compute.instances

    def options(first: int, top_instances: int) -> list[tuple[Fit, bool]]:
        """Tile constraints for a cut above level `first`: one per resident level c* and tensor it holds."""
        out: list[tuple[Fit, bool]] = []
        for c in range(first, L):
            if levels[c].virtual:
                continue
            ratio = levels[c].instances // top_instances
            size_words = levels[c].size_words
            cap = None if size_words is None else ratio * size_words
            fixed = tuple(t for t in range(T) if must[c][t])
            for t in range(T):
                if may[c][t]:
                    out.append((((tuple(sorted({t, *fixed})), cap),), ratio > 1))
            if fixed:
                return out
        ratio = n_mac // top_instances  # every tensor bypasses every level: one operand per MAC
        out.append((tuple(((t,), ratio) for t in range(T)), ratio > 1))
        return out

    b = _Bounder(nest)
    top = levels[real[0]]
    bs0, e0 = top.block_size, top.energy
    w_dram = tuple((e0.read_pj + e0.update_pj) / bs0 if rw[t] else e0.read_pj / bs0 for t in range(T))
    w_back = tuple(1.0 if rw[t] else 0.0 for t in range(T))
    dram_opts = options(real[0] + 1, top.instances)
    b.ask(w_dram, dram_opts)
    b.ask(w_back, dram_opts)
    inner = {}
    for c in real[1:]:
        w = tuple(1.0 if (not rw[t] or levels[c].instances == 1) else 0.0 for t in range(T))
        inner[c] = (w, options(c, levels[c].instances))
        b.ask(*inner[c])
    b.solve()

    macs = nest.macs
    out_levels = []
    cut_energy = 0.0
    for c in real:
        lv = levels[c]
        if c == real[0]:
            low = b.minimum(w_dram, dram_opts) - e0.read_pj / bs0 * outputs
            floor = (e0.read_pj * sum(compulsory) + e0.update_pj * outputs) / bs0
            cut_energy = max(low, floor)
            words = max(b.minimum(w_back, dram_opts), outputs)
        else:
            w, opts = inner[c]
            minus = outputs if (levels[c].instances == 1 and any(rw)) else 0
            words = max(b.minimum(w, opts) - minus, sum(compulsory))
        if not np.isfinite(words):
            raise StationaryError(f"no tile of {nest.name} fits the levels below {lv.name} of {arch.name}")
        out_levels.append(LevelBound(lv.name, lv.size_words, int(round(words))))
    compute = macs * arch.compute.energy_pj
    total = compute + _operands_and_leakage(b.traffic, arch, must, may, rw, compulsory, outputs, cut_energy)
    return LayerBound(name or nest.name, macs, total, tuple(out_levels), compute, cut_energy)


def spatial_boxes(bounds: list[int], fanout: int) -> np.ndarray:
    """Every choice of one divisor per dimension whose product fits `fanout` MACs: the spatial factors (all
    fan-outs merged) any mapping can use, as an (n, D) array."""
    out: list[tuple[int, ...]] = [()]
    prods = [1]
    for bnd in bounds:
        nxt, nprod = [], []
        divs = divisors(bnd)
        for c, p in zip(out, prods):
            for d in divs:
                if p * d > fanout:
                    break
                nxt.append(c + (d,))
                nprod.append(p * d)
        out, prods = nxt, nprod
    return np.array(out, np.int64).reshape(-1, len(bounds))


def _operands_and_leakage(tt: TileTraffic, arch: Architecture, must: list[list[bool]], may: list[list[bool]],
                          rw: list[bool], compulsory: list[int], outputs: int, cut_energy: float) -> float:
    """Energy of the outermost level, of the levels that serve the MACs, and leakage: the minimum over every
    choice of the level that serves each tensor to the MACs (its innermost keeper). A serving level with one
    MAC per instance reads each operand once per MAC (partial sums: one update per MAC); one that fans out
    may multicast and forward over links, so it is only held to each element once. Leakage runs for at least
    MACs / (most MACs any spatial box of the layer's divisors can use) cycles."""
    levels = arch.levels
    L, T = len(levels), len(rw)
    real = [i for i in range(L) if not levels[i].virtual]
    top = real[0]
    macs, n_mac = tt.nest.macs, arch.compute.instances
    boxes = spatial_boxes([int(x) for x in tt.bounds], n_mac // levels[top].instances)
    used = np.prod(boxes, axis=1).astype(float)
    leak = sum(levels[i].energy.leak_pj for i in real) * macs / used

    def serve(t: int, j: int) -> float:
        """Energy at level j for serving tensor t to the MACs (and, inner levels, filling it at least once)."""
        lv = levels[j]
        direct = lv.instances == n_mac  # one MAC per instance: every MAC's operand is a read (update) here
        if rw[t]:
            words = macs if direct else outputs
            energy = (lv.energy.update_pj * words + lv.energy.read_pj * max(0, words - lv.instances * outputs))
            return energy / lv.block_size
        energy = lv.energy.read_pj * (macs if direct else compulsory[t])
        if j != top:
            energy += lv.energy.write_pj * compulsory[t]
        return energy / lv.block_size

    e0, bs0 = levels[top].energy, levels[top].block_size
    dram_floor = [(e0.update_pj * outputs if rw[t] else e0.read_pj * compulsory[t]) / bs0 for t in range(T)]
    choices = []
    for t in range(T):
        deepest = max((j for j in real if must[j][t]), default=top)
        choices.append([j for j in real if j >= deepest and may[j][t]] or [top])
    best = np.inf
    for pick in itertools.product(*choices):
        dram = sum((serve(t, j) if j == top else dram_floor[t]) for t, j in enumerate(pick))
        inner = sum(serve(t, j) for t, j in enumerate(pick) if j != top)
        best = min(best, max(cut_energy, dram) + inner + float(leak.min()))
    return best


def keep_rules(nest: LoopNest, arch: Architecture) -> tuple[list[list[bool]], list[list[bool]]]:
    """Per level and tensor: must it keep the tensor, may it? The map space's rule (MapSpace.keep_fixed) for
    the architecture alone: its bypass lists and virtual levels forbid, its keep lists and the outermost level
    force; user constraints only narrow this, so bounds under it hold under any constraints."""
    rules = merge([], nest, arch)
    must = [[not lv.virtual and (t.name in r.keep or i == 0) and t.name not in r.bypass for t in nest.tensors]
            for i, (lv, r) in enumerate(zip(arch.levels, rules))]
    may = [[not lv.virtual and t.name not in r.bypass for t in nest.tensors] for lv, r in zip(arch.levels, rules)]
    return must, may
