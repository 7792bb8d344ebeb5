"""Lower bounds for one layer on one architecture: words that must cross into each storage level, and the
energy no mapping the model can cost goes below (docs/bounds.md derives and argues every term).

A *cut* above level c separates the level and everything below it from the levels above. Every tensor
crosses it; what crosses is set by the tile of the outermost level below the cut that holds some tensor
(its *resident* level c*): over one iteration of the loops above c*, each tensor brings at least its
footprint in that tile, so the traffic is at least that of a single-level tiling with that tile
(tiles.py). The tile is only constrained by the capacity of c* for the tensors held there, so the bound
is the minimum over c*, over which tensor c* holds, and over every divisor tile shape that fits.

The cut below the outermost level (whose energy the bound charges) couples the tensors: c* holds a set S of
tensors whose footprints must fit together, and every other tensor t is kept first at a deeper level k_t (or
the MACs): each trip of the loops above c* uses every distinct word of t's part of c*'s tile, and k_t held at
most its capacity of them when the trip began, so the rest crosses the cut in that trip (CutOption,
docs/bounds.md §2).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stationary.arch.spec import Architecture, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper.bounds.tiles import TileTraffic, trips, whole_words
from stationary.mapper.space import divisors
from stationary.mapping.constraints import merge
from stationary.model import sparsity
from stationary.model.costing import UpdateEnergy, check_update_energy, priced
from stationary.workload.loopnest import LoopNest

Fit = tuple[tuple[tuple[int, ...], int | None], ...]
"""Capacity constraints a tile must meet: (tensors whose footprints add up, capacity words or None)."""

Ask = tuple[Fit, bool, frozenset[int]]
"""One tile question: the fit, whether footprints count distinct words (the tile spans instances), and the
tensors the resident level holds (empty for the MACs): only those (when the tile is one instance's), and
tensors whose boxes never leave stride gaps, are charged their single-level-tiling words (a tensor streaming
past the resident level, or split over its instances, crosses into smaller boxes inside the tile, which need
only its distinct words, docs/bounds.md §2)."""


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
    cycles_lower_bound: float = 0.0  # compute cycles at the most MACs any mapping can use (x skipped fraction)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "macs": self.macs, "energy_lower_bound_pj": self.energy_lower_bound_pj,
                "levels": [lv.to_json() for lv in self.levels]}


@dataclass(frozen=True)
class CutOption:
    """One way a mapping can cross the cut below the outermost level: its resident level `c` (L: the MACs)
    holds the tensors of `fit` together (`distinct`: count distinct words, the tile spanning several
    instances; `held`: those tensors, empty at the MACs), and each tensor of `deeper`, as (t, words), is
    kept first at a deeper level (or the MACs) that holds at most `words` of it (None: unbounded) over the
    instances below one instance of the cut."""

    c: int
    fit: Fit
    distinct: bool
    deeper: tuple[tuple[int, int | None], ...]
    held: frozenset[int]  # the tensors c holds (none when c is the MACs)


NONE, BOXES, DISTINCT = 0, 1, 2  # how a tensor is charged its single-level-tiling words (_Bounder.charged)

Key = tuple[tuple[float, ...], tuple[int, ...], tuple[tuple[int, int], ...]]
"""What one table of least traffic per tile class is scored for: the weights per tensor, the tensors charged
their single-level-tiling words, and the (input or weight, words its deeper keeper holds) lifted by the
coupling (CutOption)."""


class _Bounder:
    """Collects the questions about one layer (weights and fits; the coupled cut's options), scores every
    tile class once in one pass over the tiles, and answers them."""

    def __init__(self, nest: LoopNest, imperfect: bool) -> None:
        self.nest = nest
        self.traffic = TileTraffic(nest, imperfect)
        self.keys: list[Key] = []
        self.fits: list[tuple[Fit, bool]] = []
        self.values: dict[Key, np.ndarray] = {}
        self.prints: dict[tuple[Fit, bool], np.ndarray] = {}

    def charged(self, held: frozenset[int], spans: bool) -> tuple[int, ...]:
        """Per tensor, which single-level-tiling words it is charged when the resident level holds `held`, its
        tile spanning several instances or not: BOXES for one instance's tile or boxes without stride gaps;
        what crosses into smaller boxes inside the tile is only held to its distinct elements: DISTINCT where
        those are countable (`TileTraffic.spread`), else NONE."""
        tt = self.traffic
        return tuple(BOXES if (t in held and not spans) or tt.gapless[t] else
                     DISTINCT if tt.spread[t] is not None else NONE for t in range(len(tt.gapless)))

    def _key(self, weights: tuple[float, ...], opt: CutOption) -> Key:
        lifts = tuple((t, words) for t, words in opt.deeper if words is not None and weights[t])
        return weights, self.charged(opt.held, opt.distinct), lifts

    def _want(self, key: Key, fit: tuple[Fit, bool]) -> None:
        if key not in self.keys:
            self.keys.append(key)
        if fit not in self.fits:
            self.fits.append(fit)

    def ask(self, weights: tuple[float, ...], asks: list[Ask]) -> None:
        for fit, distinct, held in asks:
            self._want((weights, self.charged(held, distinct), ()), (fit, distinct))

    def ask_cut(self, weights: tuple[float, ...], cut: list[CutOption]) -> None:
        for opt in cut:
            self._want(self._key(weights, opt), (opt.fit, opt.distinct))

    def solve(self) -> None:
        """Per tile class: which fits it meets, and per key the least weighted traffic over order prefixes,
        each lifted tensor paying at least, per trip of the loops above the resident level, the distinct words
        of its tile that its keeper cannot already hold."""
        tt, n_t = self.traffic, len(self.nest.tensors)
        values: dict[Key, list[np.ndarray]] = {k: [] for k in self.keys}
        ok: dict[tuple[Fit, bool], list[np.ndarray]] = {f: [] for f in self.fits}
        for ext in tt.tile_chunks():
            n = ext.shape[0]
            box = [tt.footprint(t, ext) for t in range(n_t)]
            dist = [tt.distinct_footprint(t, ext) for t in range(n_t)] if any(d for _, d in self.fits) else box
            for f in self.fits:
                fit, distinct = f
                prints = dist if distinct else box
                good = np.ones(n, bool)
                for tensors, cap in fit:
                    if cap is not None:
                        good &= sum((prints[t] for t in tensors), np.zeros(n, np.int64)) <= cap
                ok[f].append(good)
            delivered = tt.delivered(ext)  # (prefixes, T, n)
            spread = tt.delivered(ext, distinct=True) if any(DISTINCT in k[1] for k in self.keys) else delivered
            n_trips = np.prod(trips(tt.bounds, ext), axis=1).astype(float)
            mean_dist: dict[int, np.ndarray] = {}
            for key in self.keys:
                w, charged, lifts = key
                if not len(delivered):
                    values[key].append(np.zeros(n))
                    continue
                lifted = dict(lifts)
                words_in = np.zeros((len(delivered), n))
                for mode, table in ((BOXES, delivered), (DISTINCT, spread)):
                    scale = np.array([w[t] if charged[t] == mode and t not in lifted else 0.0 for t in range(n_t)])
                    if scale.any():
                        words_in += np.einsum("ptn,t->pn", table, scale)
                for t, words in lifts:
                    if t not in mean_dist:
                        mean_dist[t] = tt.mean_distinct(t, ext)
                    floor = w[t] * n_trips * np.maximum(0.0, mean_dist[t] - words)
                    table = delivered if charged[t] == BOXES else spread
                    words_in += np.maximum(w[t] * table[:, t, :], floor[None, :]) if charged[t] else floor
                values[key].append(words_in.min(axis=0))
        self.values = {k: np.concatenate(v) for k, v in values.items()}
        self.prints = {f: np.concatenate(v) for f, v in ok.items()}

    def coupled(self, weights: tuple[float, ...], cut: list[CutOption]) -> list[np.ndarray]:
        """Per option: per tile class (grid order), the least weighted traffic when the tile is c's and meets
        `fit`, the deeper inputs and weights lifted; inf where the tile does not fit (after ask_cut, solve)."""
        return [np.where(self.prints[(opt.fit, opt.distinct)], self.values[self._key(weights, opt)], np.inf)
                for opt in cut]

    def minimum(self, weights: tuple[float, ...], asks: list[Ask]) -> float:
        """The least weighted traffic over the tile classes meeting any one of `asks` (inf if none does)."""
        low = np.inf
        for fit, distinct, held in asks:
            good = self.prints[(fit, distinct)]
            if good.any():
                low = min(low, float(self.values[(weights, self.charged(held, distinct), ())][good].min()))
        return low


class LayerTerms:
    """The parts of a layer's energy bound that do not depend on the mapping (compute, the serving levels'
    choices, leakage per cycle) and the solved single-level tilings of the cut below the outermost level, so
    that the layer bound and the branch and bound's partial bounds (bounds/partial.py) share one rule."""

    def __init__(self, nest: LoopNest, arch: Architecture, imperfect: bool = True,
                 update_energy: UpdateEnergy | str = UpdateEnergy.UPDATE) -> None:
        # every energy below is read from `self.arch`, whose updates are priced as the model prices them
        self.update_energy = check_update_energy(update_energy)
        arch = priced(arch, self.update_energy)
        self.nest, self.arch, self.imperfect = nest, arch, imperfect
        L, T = len(arch.levels), len(nest.tensors)
        levels = arch.levels
        self.real = real = [i for i in range(L) if not levels[i].virtual]
        self.must, self.may = must, may = keep_rules(nest, arch)
        self.rw = rw = [t.read_write for t in nest.tensors]
        self.outputs = outputs = next((t.extent(nest.bounds) for t in nest.tensors if t.read_write), 0)
        self.compulsory = [0 if t.read_write else t.distinct(nest.bounds) for t in nest.tensors]
        n_mac = arch.compute.instances

        def options(first: int, top_instances: int) -> list[Ask]:
            """Tile constraints for a cut above level `first`: one per resident level c* (L: the MACs) and
            tensor it holds, as (fit, distinct, tensors held)."""
            out: list[Ask] = []
            for c in range(first, L):
                if levels[c].virtual:
                    continue
                ratio = levels[c].instances // top_instances
                size_words = levels[c].size_words
                cap = None if size_words is None else ratio * size_words
                fixed = tuple(t for t in range(T) if must[c][t])
                for t in range(T):
                    if may[c][t]:
                        held = tuple(sorted({t, *fixed}))
                        out.append((((held, cap),), ratio > 1, frozenset(held)))
                if fixed:
                    return out
            ratio = n_mac // top_instances  # every tensor bypasses every level: one operand per MAC
            out.append((tuple(((t,), ratio) for t in range(T)), ratio > 1, frozenset()))
            return out

        def fit_at(c: int, tensors: set[int], top_instances: int) -> tuple[Fit, bool]:
            """The capacity fit of level c (L: the MACs, one operand each) holding `tensors` and what it must."""
            if c == L:
                ratio = n_mac // top_instances
                return tuple(((t,), ratio) for t in sorted(tensors)), ratio > 1
            ratio = levels[c].instances // top_instances
            size_words = levels[c].size_words
            cap = None if size_words is None else ratio * size_words
            return ((tuple(sorted(tensors | {t for t in range(T) if must[c][t]})), cap),), ratio > 1

        def held_words(k: int, top_instances: int) -> int | None:
            """The most words level k (L: the MACs, one operand each) holds over its instances below one
            instance of the cut (None: no limit, as under sparsity, where compressed words could hold more)."""
            if arch.sparsity is not None:
                return None
            if k == L:
                return n_mac // top_instances
            size_words = levels[k].size_words
            return None if size_words is None else levels[k].instances // top_instances * size_words

        def keepers(t: int, c: int) -> list[int]:
            """Levels below c that can be tensor t's outermost keeper (L: none, the MACs read it from above)."""
            out = []
            for j in range(c + 1, L):
                if may[j][t]:
                    out.append(j)
                    if must[j][t]:
                        return out
            return out + [L]

        def cut_options(first: int, top_instances: int) -> list[CutOption]:
            """Every (resident level c*, set S it holds, first keeper of each other tensor) the keep rules
            allow for a cut above level `first` (docs/bounds.md §2)."""
            out: list[CutOption] = []
            for c in range(first, L):
                if levels[c].virtual:
                    continue
                fixed = {t for t in range(T) if must[c][t]}
                free = [t for t in range(T) if may[c][t] and t not in fixed]
                for n_extra in range(len(free) + 1):
                    for extra in itertools.combinations(free, n_extra):
                        held = fixed | set(extra)
                        if not held:
                            continue
                        others = [t for t in range(T) if t not in held]
                        fit, distinct = fit_at(c, held, top_instances)
                        for ks in itertools.product(*(keepers(t, c) for t in others)):
                            deeper = tuple((t, held_words(k, top_instances)) for t, k in zip(others, ks))
                            out.append(CutOption(c, fit, distinct, deeper, frozenset(held)))
                if fixed:
                    return out
            fit, distinct = fit_at(L, set(range(T)), top_instances)
            out.append(CutOption(L, fit, distinct, (), frozenset()))
            return out

        self.bounder = b = _Bounder(nest, imperfect)
        top = levels[real[0]]
        bs0, e0 = top.block_size, top.energy
        self.w_dram = tuple((e0.read_pj + e0.update_pj) / bs0 if rw[t] else e0.read_pj / bs0 for t in range(T))
        self.w_back = tuple(1.0 if rw[t] else 0.0 for t in range(T))
        self.dram_opts = options(real[0] + 1, top.instances)
        b.ask(self.w_dram, self.dram_opts)
        b.ask(self.w_back, self.dram_opts)
        self.dram_cut = cut_options(real[0] + 1, top.instances)
        b.ask_cut(self.w_dram, self.dram_cut)
        self.inner: dict[int, tuple[tuple[float, ...], list[Ask]]] = {}
        for c in real[1:]:
            w = tuple(1.0 if (not rw[t] or levels[c].instances == 1) else 0.0 for t in range(T))
            self.inner[c] = (w, options(c, levels[c].instances))
            b.ask(*self.inner[c])
        b.solve()
        self.dram_values = b.coupled(self.w_dram, self.dram_cut)  # per CutOption, per tile (inf: no fit)
        # the cut below the outermost level, in energy: weighted words less the first write's read, and never
        # below the compulsory words
        self.first_read_pj = e0.read_pj / bs0 * outputs
        self.cut_floor_pj = (e0.read_pj * sum(self.compulsory) + e0.update_pj * outputs) / bs0
        # sparsity (compressed words, gated or skipped actions): every count of the model is its dense count x a
        # factor, rounded up (model/sparsity.py), so the dense bound's word terms scale by the least factor, the
        # MACs' energy and the compute cycles (leakage) by theirs (docs/bounds.md §3, "Sparsity")
        f = (None if arch.sparsity is None else
             sparsity.factors(arch.sparsity, tuple(lv.name for lv in levels), tuple(lv.word_bits for lv in levels),
                              tuple(t.name for t in nest.tensors)))
        self.word_scale = 1.0 if f is None else f.least_word
        self.cycle_scale = 1.0 if f is None else f.cycles
        self.compute_pj = nest.macs * arch.compute.energy_pj * (1.0 if f is None else f.mac_energy)
        # the fan-outs below the levels and every joint choice of their spatial boxes (the serving bound)
        bounds = [int(x) for x in self.bounder.traffic.bounds]
        self.fan_boxes = {(a, b): stage_boxes(arch, bounds, a, b) for a, b in fan_counts(arch)}
        self.stage_above, self.stage_reach, self.stage_used = _fan_stages(self)
        # every mapping's spatial factors divide the bounds (remainders sit on temporal loops only), so it runs
        # at least MACs / the most MACs it can use cycles; leakage is paid on at least those cycles
        most = most_macs(arch, bounds, self.fan_boxes)
        self.cycles_floor = float(self.cycle_scale * nest.macs / most)
        self.leak_per_cycle_pj = sum(levels[i].energy.leak_pj for i in real)
        self.leak_floor_pj = float(self.leak_per_cycle_pj * nest.macs / most)
        # per joint choice of the stages' boxes: the leakage of the cycles it needs at least (None: not coupled)
        self.box_leak_pj = (self.leak_per_cycle_pj * nest.macs / self.stage_used
                            if self.stage_used is not None and self.leak_per_cycle_pj > 0 else None)
        self.serve_pj, self.hold_pj = _serving(self)
        self.picks_dram, self.picks_inner, self.picks_level, self.picks_front, self.picks_front_leak = _picks(self)
        self.cut_energy_pj = max(min(float(v.min()) for v in self.dram_values) - self.first_read_pj,
                                 self.cut_floor_pj)

    def energy_pj(self, cut_energy_pj: np.ndarray, leak_pj: np.ndarray,
                  inner_pj: np.ndarray | None = None) -> np.ndarray:
        """MACs x MAC energy + the cheapest choice of serving level per tensor, the outermost level paying the
        larger of its cut bound and what serving from it costs at the same spatial boxes as the inner levels'
        serving (picks_front) + leakage, for arrays of cut and leak bounds; `inner_pj` (rows, picks): the inner
        levels' serving energy of each pick per row (default picks_inner; a raise over picks_inner is
        box-independent, docs/bounds.md §3)."""
        cut = np.asarray(cut_energy_pj, float)
        raise_pj = (np.zeros_like(self.picks_inner) if inner_pj is None
                    else np.asarray(inner_pj, float) - self.picks_inner)
        def least(fronts: list[Front]) -> np.ndarray:
            best = np.full(np.broadcast_shapes(cut.shape, raise_pj.shape[:-1]), np.inf)
            for p, (inner, whole) in enumerate(fronts):
                # least over the front's boxes of max(cut + inner, outermost serving + inner)
                value = np.min(np.maximum(cut[..., None] + inner, whole), axis=-1)
                best = np.minimum(best, value + raise_pj[..., p])
            return best

        out = self.compute_pj + self.word_scale * least(self.picks_front) + self.cycle_scale * np.asarray(leak_pj,
                                                                                                        float)
        if self.picks_front_leak is not None:  # each box's own leakage floor, joint with its serving
            out = np.maximum(out, self.compute_pj + least(self.picks_front_leak))
        return out


_RECENT: list[tuple[LoopNest, Architecture, LayerTerms]] = []  # the last few, by identity
_RECENT_SIZE = 4


def layer_terms(nest: LoopNest, arch: Architecture, imperfect: bool = True,
                update_energy: UpdateEnergy | str = UpdateEnergy.UPDATE) -> LayerTerms:
    """LayerTerms of (nest, arch), reused when the same objects were asked for recently (the search bounds a
    layer, then its branch and bound needs the same tables). `imperfect=False`: valid for perfect
    factorizations only (the default map space), faster. `update_energy`: the model's pricing of updates."""
    convention = check_update_energy(update_energy)
    for n, a, terms in _RECENT:
        if n is nest and a is arch and terms.imperfect == imperfect and terms.update_energy == convention:
            return terms
    terms = LayerTerms(nest, arch, imperfect, convention)
    _RECENT.append((nest, arch, terms))
    del _RECENT[:-_RECENT_SIZE]
    return terms


def layer_bound(nest: LoopNest, arch: Architecture, name: str | None = None, imperfect: bool = True,
                update_energy: UpdateEnergy | str = UpdateEnergy.UPDATE) -> LayerBound:
    """Lower bounds of `nest` on `arch`, valid for every mapping of its map space under any constraints: with
    imperfect factorizations (the default), or of perfect ones alone (`imperfect=False`, the mappers' default
    space; several times faster on layers with awkward sizes); updates priced as the model's `update_energy`."""
    terms = layer_terms(nest, arch, imperfect, update_energy)
    levels, real, b = arch.levels, terms.real, terms.bounder
    outputs, rw = terms.outputs, terms.rw
    out_levels = []
    for c in real:
        lv = levels[c]
        if c == real[0]:
            words = max(b.minimum(terms.w_back, terms.dram_opts), outputs)
        else:
            w, opts = terms.inner[c]
            minus = outputs if (levels[c].instances == 1 and any(rw)) else 0
            words = max(b.minimum(w, opts) - minus, sum(terms.compulsory))
        if not np.isfinite(words):
            raise StationaryError(f"no tile of {nest.name} fits the levels below {lv.name} of {arch.name}")
        out_levels.append(LevelBound(lv.name, lv.size_words, int(whole_words(words * terms.word_scale))))
    total = float(terms.energy_pj(np.array(terms.cut_energy_pj), np.array(terms.leak_floor_pj)))
    return LayerBound(name or nest.name, nest.macs, total, tuple(out_levels), terms.compute_pj,
                      terms.word_scale * terms.cut_energy_pj, terms.cycles_floor)


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


def mesh_fits(boxes: np.ndarray, fx: int, fy: int) -> np.ndarray:
    """(n,) whether each spatial box (one factor per dim) fits a fan-out of fx x fy: some split of its dims
    between the mesh axes, each dim's factor on one axis, has X's product <= fx and Y's <= fy -- the model's
    validity rule for one fan-out's spatial loops (model/fast.py, `fits`). A box of product <= fx * fy need
    not: Eyeriss's 14 x 12 holds no box C=16, R=3, S=3 (144 MACs)."""
    boxes = np.asarray(boxes, np.int64)
    live = [k for k in range(boxes.shape[1]) if (boxes[:, k] > 1).any()]
    ok = np.zeros(boxes.shape[0], bool)
    for mask in range(2 ** len(live)):  # the dims on X
        on_x = [k for i, k in enumerate(live) if mask >> i & 1]
        on_y = [k for k in live if k not in on_x]
        ok |= (np.prod(boxes[:, on_x], axis=1) <= fx) & (np.prod(boxes[:, on_y], axis=1) <= fy)
    return ok


def stage_boxes(arch: Architecture, bounds: list[int], a: int, b: int) -> np.ndarray:
    """The spatial boxes (n, D) of the fan-out from the levels of `a` instances to those (or the MACs) of `b`:
    one divisor per dim, within the fan-out's mesh (mesh_fits). Instance counts never fall down the hierarchy,
    so exactly one level boundary fans out from a to b."""
    boxes = spatial_boxes(bounds, b // a)
    for i, lv in enumerate(arch.levels):
        fx, fy = arch.fanout(i)
        if lv.instances == a and fx * fy == b // a:
            return boxes[mesh_fits(boxes, fx, fy)]
    return boxes


def fan_counts(arch: Architecture) -> list[tuple[int, int]]:
    """The fan-outs as (instances above, instances below) pairs, outermost first: consecutive distinct instance
    counts of the hierarchy, the last to the MACs."""
    counts = sorted({lv.instances for lv in arch.levels} | {arch.compute.instances})
    return list(zip(counts, counts[1:]))


def most_macs(arch: Architecture, bounds: list[int], fan_boxes: dict[tuple[int, int], np.ndarray]) -> int:
    """The most MACs any mapping can use at once: at most the product, over the fan-outs, of each one's largest
    box that fits its mesh (`fan_boxes`: stage_boxes per fan_counts pair), and at most the largest box of all
    the fan-outs merged."""
    top = min(lv.instances for lv in arch.levels)
    merged = int(np.prod(spatial_boxes(bounds, arch.compute.instances // top), axis=1).max())
    staged = 1
    for boxes in fan_boxes.values():
        staged *= int(np.prod(boxes, axis=1).max(initial=1))
    return max(1, min(merged, staged))


def multicast_reach(nest: LoopNest, boxes: np.ndarray) -> np.ndarray:
    """(n, T): per spatial box (merged spatial factors below a level, one per dim) and tensor, the most MACs one
    word read for the tensor can reach: children with equal boxes, the product of the factors of the dims that
    do not index it times, per axis, the index vectors with one offset (at most the product of the axis' factors
    but its largest: the others fix the last); the whole box for a dim on two axes (docs/bounds.md §3)."""
    boxes = np.asarray(boxes, np.int64).reshape(-1, len(nest.dims))
    col = {d: k for k, d in enumerate(nest.dims)}
    out = np.ones((boxes.shape[0], len(nest.tensors)), np.int64)
    for t, tensor in enumerate(nest.tensors):
        on_axes = [d for axis in tensor.axes for c, d in axis if c != 0]
        if len(on_axes) != len(set(on_axes)):
            out[:, t] = np.prod(boxes, axis=1)
            continue
        reach = np.prod(boxes[:, [col[d] for d in nest.dims if d not in on_axes]], axis=1)
        for axis in tensor.axes:
            ks = [col[d] for c, d in axis if c != 0]
            if len(ks) > 1:
                f = boxes[:, ks]
                reach = reach * (np.prod(f, axis=1) // f.max(axis=1))
        out[:, t] = reach
    return out


FAN_COMBOS = 200_000  # most joint choices of every fan-out's spatial box the serving bound enumerates


def _fan_stages(terms: LayerTerms) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """The fan-outs between instance counts (stages: from a count to the next one down the hierarchy, the last
    to the MACs) and every joint choice of one spatial box per stage (each a divisor per dim within the
    stage's fan-out, their product per dim a divisor of its bound), as (the instance count above each stage,
    (choices, stages, T) reach of each stage's box per tensor, multicast_reach, (choices,) the MACs the boxes
    use at most). Stages whose joint choices would pass FAN_COMBOS take, per tensor, their largest reach and
    their largest box instead (a relaxation). Reads are held to
    MACs / reach only when the innermost level has one MAC per instance (no MAC takes an operand from a
    neighbour over a link, docs/bounds.md §3) and without sparsity (compressed counts): otherwise no stages."""
    arch, nest = terms.arch, terms.nest
    n_mac, T = arch.compute.instances, len(nest.tensors)
    if arch.sparsity is not None or arch.levels[-1].instances != n_mac:
        return [], np.ones((1, 0, T)), None
    bounds = np.array([int(x) for x in terms.bounder.traffic.bounds], np.int64)
    above: list[int] = []
    prod = np.ones((1, len(bounds)), np.int64)
    reach = np.ones((1, 0, T))
    relaxed = 1  # the relaxed stages' largest box products
    for a, b in reversed(fan_counts(arch)):  # innermost stage first: the one most levels share
        boxes = terms.fan_boxes[a, b]
        per = multicast_reach(nest, boxes).astype(float)
        above.append(a)
        if len(prod) * len(boxes) > FAN_COMBOS:
            reach = np.concatenate([reach, np.broadcast_to(per.max(axis=0), (len(reach), 1, T))], axis=1)
            relaxed *= int(np.prod(boxes, axis=1).max())
            continue
        joint = (prod[:, None, :] * boxes[None, :, :]).reshape(-1, len(bounds))
        ok = (bounds[None, :] % joint == 0).all(axis=1)
        pairs = np.stack(np.meshgrid(np.arange(len(prod)), np.arange(len(boxes)), indexing="ij"), -1).reshape(-1, 2)
        pairs = pairs[ok]
        prod = joint[ok]
        reach = np.concatenate([reach[pairs[:, 0]], per[pairs[:, 1]][:, None, :]], axis=1)
    return above, reach, np.prod(prod, axis=1).astype(float) * relaxed


def _reach_below(terms: LayerTerms, n: int) -> np.ndarray:
    """(choices, T): per joint choice of the stages' boxes, the most MACs one read of a level with `n`
    instances can reach (the product of the reaches of the stages below it)."""
    cols = [k for k, a in enumerate(terms.stage_above) if a >= n]
    return np.prod(terms.stage_reach[:, cols, :], axis=1)


def _serve_boxes(terms: LayerTerms, j: int, t: int) -> np.ndarray:
    """Energy of serving tensor t to the MACs from level j (its innermost keeper), per spatial box of the
    stages' boxes (_fan_stages; one value when j has one MAC per instance or the reach rule is off): each MAC's
    operand is a read (a partial sum an update) of j unless one read reaches several MACs (a multicast, at
    most the box's reach), so j reads at least MACs / reach words (less half a word per instance: the model
    rounds each instance's float count), never fewer than each element once; an inner level is filled with
    each element at least once."""
    lv = terms.arch.levels[j]
    macs, n = terms.nest.macs, lv.instances
    if n == terms.arch.compute.instances:
        words = np.array([float(macs)])
    elif terms.stage_above:
        words = macs / _reach_below(terms, n)[:, t] - n / 2
    else:
        words = np.array([0.0])
    if terms.rw[t]:
        return np.asarray(rw_serve_pj(lv, np.maximum(words, terms.outputs), terms.outputs, n), float)
    fill = lv.energy.write_pj * terms.compulsory[t] if j != terms.real[0] else 0.0
    return (lv.energy.read_pj * np.maximum(words, terms.compulsory[t]) + fill) / lv.block_size


def _serving(terms: LayerTerms) -> tuple[np.ndarray, np.ndarray]:
    """(L, T) energies, per level and tensor: serving the tensor to the MACs from that level (_serve_boxes, at
    the cheapest spatial box), and holding it there without serving the MACs (inputs and weights only: each
    element read once, an inner level filled with each once)."""
    levels = terms.arch.levels
    L, T = len(levels), len(terms.rw)
    top = terms.real[0]
    serve, hold = np.zeros((L, T)), np.zeros((L, T))
    for j in terms.real:
        lv = levels[j]
        for t in range(T):
            serve[j, t] = float(_serve_boxes(terms, j, t).min())
            if not terms.rw[t]:
                fill = lv.energy.write_pj * terms.compulsory[t] if j != top else 0.0
                hold[j, t] = (lv.energy.read_pj * terms.compulsory[t] + fill) / lv.block_size
    return serve, hold


def _held_pj(terms: LayerTerms, pick: tuple[int, ...]) -> float:
    """Energy of the levels that must keep a tensor between the outermost level and the tensor's serving level
    `pick[t]` (inputs and weights only): each holds every element, so it is filled with each once and read out
    to the keeper below once (hold_pj; docs/bounds.md §3). The outermost level is left out (its reads are in
    the cut, it is never filled), so are levels that may but need not keep (not keeping is the least), and so
    is everything under sparsity (compressed counts, as in the exact search's group bound)."""
    if terms.arch.sparsity is not None:
        return 0.0
    top = terms.real[0]
    return float(sum(terms.hold_pj[j, t] for t, s in enumerate(pick) if not terms.rw[t]
                     for j in terms.real if top < j < s and terms.must[j][t]))


def rw_serve_pj(level: StorageLevel, updates: float | np.ndarray, outputs: int,
                replicas: float | np.ndarray) -> float | np.ndarray:
    """A read-write tensor served from `level` with at least `updates` updates over its instances: each update
    but the first of a word in an instance's partition reads it back, and the partitions of all instances hold at
    most `outputs` x `replicas` words (replicas: copies of each output word across the instances)."""
    e = level.energy
    reads = np.maximum(0.0, np.asarray(updates, float) - np.asarray(replicas, float) * outputs)
    return (e.update_pj * np.asarray(updates, float) + e.read_pj * reads) / level.block_size


Front = tuple[np.ndarray, np.ndarray]
"""One pick's spatial boxes that no other box beats on both terms: (inner levels' serving energy, that plus the
outermost level's serving energy), inner ascending, the second descending."""


def _front(inner: np.ndarray, dram: np.ndarray) -> Front:
    """The Pareto front of (inner, inner + dram) over the joint boxes: a box is kept only if no box has both
    less inner energy and less total, the only ones the least of max(cut + inner, inner + dram) can take."""
    inner, dram = np.broadcast_arrays(np.asarray(inner, float), np.asarray(dram, float))
    whole = inner + dram
    order = np.lexsort((whole, inner))
    inner, whole = inner[order], whole[order]
    keep = whole < np.minimum.accumulate(np.concatenate([[np.inf], whole[:-1]]))
    return inner[keep], whole[keep]


def _picks(terms: LayerTerms) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Front], list[Front] | None]:
    """Every choice of the level that serves each tensor to the MACs (its innermost keeper) that the keep
    rules allow, as (outermost level's energy, inner levels' energy, (choices, T) serving level, Front) per
    choice. Every tensor shares the fan-outs below its serving level: the energies of all of them, the
    outermost level's serving included, are taken per joint choice of the stages' boxes (_serve_boxes); the
    first two are each one's own least over the boxes, the front keeps them joint (LayerTerms.energy_pj). The
    inner energy includes what the levels that must keep a tensor above its serving level pay (_held_pj). The
    last, with leakage (dense architectures with fan-out stages): the same fronts with each box's leakage floor
    added, leakage per cycle x MACs / the MACs the box uses (a mapping runs at least that many cycles)."""
    levels = terms.arch.levels
    real, top, rw = terms.real, terms.real[0], terms.rw
    e0, bs0 = levels[top].energy, levels[top].block_size
    dram_floor = [(e0.update_pj * terms.outputs if rw[t] else e0.read_pj * terms.compulsory[t]) / bs0
                  for t in range(len(rw))]
    choices = []
    for t in range(len(rw)):
        deepest = max((j for j in real if terms.must[j][t]), default=top)
        choices.append([j for j in real if j >= deepest and terms.may[j][t]] or [top])
    boxes = {(j, t): _serve_boxes(terms, j, t) for t in range(len(rw)) for j in choices[t]}
    leak = terms.box_leak_pj
    dram, inner, level, fronts, leak_fronts = [], [], [], [], []
    for pick in itertools.product(*choices):
        dram.append(sum((terms.serve_pj[j, t] if j == top else dram_floor[t]) for t, j in enumerate(pick)))
        joint = sum((boxes[j, t] for t, j in enumerate(pick) if j != top), np.zeros(1)) + _held_pj(terms, pick)
        served = sum((boxes[j, t] if j == top else np.array([dram_floor[t]]) for t, j in enumerate(pick)),
                     np.zeros(1))
        inner.append(float(joint.min()))
        level.append(pick)
        fronts.append(_front(joint, served))
        if leak is not None:
            leak_fronts.append(_front(joint + leak, served))
    return (np.array(dram), np.array(inner), np.array(level, np.int64).reshape(-1, len(rw)), fronts,
            leak_fronts if leak is not None else None)


def keep_rules(nest: LoopNest, arch: Architecture) -> tuple[list[list[bool]], list[list[bool]]]:
    """Per level and tensor: must it keep the tensor, may it? The map space's rule (MapSpace.keep_fixed) for
    the architecture alone: its bypass lists and virtual levels forbid, its keep lists and the outermost level
    force; user constraints only narrow this, so bounds under it hold under any constraints."""
    rules = merge([], nest, arch)
    must = [[not lv.virtual and (t.name in r.keep or i == 0) and t.name not in r.bypass for t in nest.tensors]
            for i, (lv, r) in enumerate(zip(arch.levels, rules))]
    may = [[not lv.virtual and t.name not in r.bypass for t in nest.tensors] for lv, r in zip(arch.levels, rules)]
    return must, may
