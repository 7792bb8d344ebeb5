"""Exact branch-and-bound search over the map space: every mapping is scored or cut by a rule that provably
keeps the optimum (capacity, utilization, equivalent loop orders, symmetric axis choices, and bounds). Depth
first over each dimension's factorizations, then per full factorization (a *group*: factors, mesh axes,
keeps) a lower bound over all its loop orders; groups that can still win are expanded into their order
classes and scored in batches by the fast model. Deterministic: no randomness anywhere. docs/mapper.md
proves each rule.

On an imperfect space (remainder rows, `MapSpace(imperfect=True)`) only the rules shown sound for such rows cut:
capacity (each level's largest tile: min(product of the factors at and below it, the bound) per dim), fan-out,
utilization, the cycles bound (MACs are exact, at most the used instances per cycle), the layer bound over tile
classes at the root and the partial bound's DRAM-cut term (docs/bounds.md §7); the partial bound's on-chip
partial-sum term and the canonical loop-order bound are not applied there (docs/mapper.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from stationary.errors import StationaryError
from stationary.mapper.bounds.layer import layer_terms
from stationary.mapper.bounds.partial import PartialBound, level_factors
from stationary.mapper.bounds.tiles import TileTraffic
from stationary.mapper.space import MAX_ORDERS, MapSpace, _classes
from stationary.model.fast import FastModel, FastResult, MappingArrays

if TYPE_CHECKING:
    from stationary.mapper.search import _Pool

CROSS_ROWS = 1 << 15  # partial assignments expanded (and capacity-checked) per NumPy block
DESCEND_ROWS = 1 << 10  # sibling partial assignments descended into together (re-cut against the incumbent first)
GROUP_ROWS = 1 << 13  # groups (factors, axes, keeps) bounded per fast-model call
SLACK = 1e-9  # a node is cut only when its bound exceeds the incumbent by this relative margin (rounding)


@dataclass(frozen=True)
class Budget:
    """When the search stops early: wall seconds and/or fast-model evaluations (None: no limit)."""

    seconds: float | None = None
    evaluations: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise StationaryError(f"the time budget must be a positive number of seconds, got {self.seconds}",
                                  field="--budget-s")
        if self.evaluations is not None and not self.evaluations >= 1:
            raise StationaryError(f"the evaluation budget must be a positive integer, got {self.evaluations}",
                                  field="--budget-evals")


@dataclass
class Outcome:
    """What the branch and bound did: scored leaves, cut nodes, whether it finished, its proven bounds."""

    evaluated: int  # leaf mappings scored by the fast model
    bound_evaluations: int  # fast-model rows spent on group bounds
    pruned: int  # nodes (partial assignments or groups) cut by capacity, utilization or bound
    complete: bool  # True: every mapping of the space was scored or cut
    sampled: bool  # True: some level had more than MAX_ORDERS order classes (a sample of them was searched)
    root_bound: float  # objective bound valid for every mapping of the space
    open_bound: float  # least objective bound over the nodes left open (inf when complete)
    pruned_partial: int = 0  # partial factorizations cut by their energy (objective) bound


class _Stop(Exception):
    """The budget is spent (internal)."""


@dataclass
class _Frame:
    """The open nodes of one level of the depth-first descent: its own rows not yet expanded (`rest` from
    `rest_from`, the row block in progress included) and the children not yet descended into (`kids` from
    `kids_from`; the block being descended into has a frame of its own). Objective bounds only."""

    rest: np.ndarray
    rest_from: int = 0
    kids: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kids_from: int = 0

    def least(self) -> float:
        """The least bound of the open nodes of this frame (inf when none is left)."""
        rest, kids = self.rest[self.rest_from:], self.kids[self.kids_from:]
        return min(float(rest.min()) if len(rest) else math.inf, float(kids.min()) if len(kids) else math.inf)


def objective_value(energy_pj: np.ndarray, cycles: np.ndarray, objective: str) -> np.ndarray:
    """The objective from (bounds on) energy and cycles: both are non-negative, so the product is monotone."""
    return {"energy": energy_pj, "cycles": cycles, "edp": energy_pj * cycles}[objective]


class BranchAndBound:
    """One exact search of `space` into `pool` (which already holds the seeding incumbent)."""

    def __init__(self, space: MapSpace, model: FastModel, pool: _Pool, objective: str, budget: Budget,
                 batch: int, root_energy_pj: float, partial_bound: bool = True, on_chip_bound: bool = True) -> None:
        self.space, self.model, self.pool, self.objective = space, model, pool, objective
        self.budget, self.batch = budget, max(1, batch)
        self.start = time.perf_counter()
        nest, arch = space.nest, space.arch
        D, T = space.n_dims, space.n_tensors
        self.traffic = TileTraffic(nest, space.imperfect)
        # per dim: cumulative factor at and below each level, spatial factor at each level (per option row)
        self.cum, self.spatial = level_factors(space)
        # a remainder row's factors may multiply past the bound: a tile never spans more than the bound
        self.cum = [np.minimum(c, nest.bounds[d]) for c, d in zip(self.cum, space.dims)]
        self.imperfect = space.imperfect
        # remainder rows: the layer bound over tile classes and the partial DRAM-cut term hold for them
        # (docs/bounds.md §7, tests/mapper/test_bounds_imperfect.py); the partial bound's on-chip partial-sum
        # term is only argued for them, so it stays off
        on_chip_bound = on_chip_bound and not space.imperfect
        self.min_cum = np.stack([c.min(axis=0) for c in self.cum], axis=1)  # (L, D)
        self.min_sp = np.stack([s.min(axis=0) for s in self.spatial], axis=1)  # (L, D)
        self.max_sp_total = np.array([int(s.prod(axis=1).max()) for s in self.spatial], np.int64)  # (D,)
        self.fan_total = np.array([fx * fy for fx, fy in space.fanout], np.int64)
        self.capacity = np.array([np.inf if (lv.size_words is None or lv.virtual) else lv.size_words
                                  for lv in arch.levels])
        self.must = space.keep_fixed & space.keep_value  # (L, T) tensors every mapping keeps there
        self.n_mac = arch.compute.instances
        self.macs = nest.macs
        # dims: those with most factorizations first (depth-first stays narrow where the choice is small)
        self.order = sorted(range(D), key=lambda k: (-nest.bounds[space.dims[k]], k))
        terms = layer_terms(nest, arch, space.imperfect, model.costing.update_energy)
        self.partial = PartialBound(space, self.order, terms, on_chip_bound) if partial_bound else None
        # windowed inputs/weights: each kept level holds (reads and fills) every element once, the innermost
        # keeper serves the MACs (layer.py's rule); off under sparsity, whose counts are compressed
        self.serve_pj, self.hold_pj = terms.serve_pj, terms.hold_pj
        # tensors whose counts the canonical order minimizes (no sliding-window axis: slab = tile, docs)
        self.plain = [t for t, tensor in enumerate(nest.tensors)
                      if all(sum(nest.bounds[d] > 1 for _, d in axis) < 2 for axis in tensor.axes)]
        self.windowed = [t for t in range(T) if t not in self.plain and not nest.tensors[t].read_write
                         and arch.sparsity is None]
        rel = self.traffic.relevant
        self.canonical = {t: np.array(sorted(range(D), key=lambda k: (bool(rel[t, k]), k)), np.int64)
                          for t in range(T)}
        self.pairs = space._pairs()
        self.classes: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        self.both = np.argwhere(space.allow_x & space.allow_y)  # (n, 2) (level, dim) with a free mesh axis
        # the space's largest spatial products, and the layer's cycles floor (each fan-out's mesh)
        cycles_root = self.macs / min(self.n_mac, int(np.prod(self.max_sp_total.astype(float))))
        self.cycles_root = float(max(math.ceil(cycles_root - 1e-9), terms.cycles_floor))
        if self.partial is not None:  # the partial bound of the empty prefix holds for the whole (constrained) space
            root_energy_pj = max(root_energy_pj, float(self.partial.energy_pj(np.zeros((1, 0), np.int64),
                                                                              np.array([self.cycles_root]))[0]))
        self.root_energy = root_energy_pj
        self.root_bound = float(objective_value(np.array(root_energy_pj), np.array(self.cycles_root), objective))
        self.evaluated = self.bound_evals = self.pruned = self.pruned_partial = 0
        self.sampled = False
        self.pending: list[MappingArrays] = []
        self.pending_rows = 0
        self.frames: list[_Frame] = []  # the descent's open nodes, outermost first
        self.open_least = math.inf  # their least bound when the budget stopped the search

    # ----- budget and incumbent -------------------------------------------------------------------------
    def _check_budget(self) -> None:
        b = self.budget
        if ((b.seconds is not None and time.perf_counter() - self.start > b.seconds)
                or (b.evaluations is not None and self.evaluated + self.bound_evals >= b.evaluations)):
            self.open_least = min((f.least() for f in self.frames), default=math.inf)
            raise _Stop

    def incumbent(self) -> float:
        pool = self.pool
        return float(pool.best_scores[0]) if pool.best_rows is not None and len(pool.best_scores) else math.inf

    def _cut(self, bound: np.ndarray, cycles_lb: np.ndarray, energy_lb: np.ndarray | None) -> np.ndarray:
        """True where a node provably holds nothing better than the incumbent (nor a new Pareto point)."""
        if self.pool.pareto:
            front = self.pool.front_ec
            if energy_lb is None or not len(front):
                return np.zeros(len(bound), bool)
            e = energy_lb[:, None] * (1 - SLACK)
            return np.asarray(((front[None, :, 0] <= e) & (front[None, :, 1] <= cycles_lb[:, None])).any(axis=1))
        return np.asarray(bound * (1 - SLACK) > self.incumbent())

    # ----- the search ---------------------------------------------------------------------------------
    def run(self) -> Outcome:
        """Search until every node is scored or cut (complete) or the budget ends it (open)."""
        complete = True
        try:
            if self.root_bound * (1 - SLACK) < self.incumbent() or self.pool.pareto:
                per = max(1, GROUP_ROWS >> len(self.space.free_keeps))  # factorizations per block of groups
                root = np.array([[self.root_bound, self.cycles_root, self.root_energy]])
                for full, bounds in self._factorizations(np.zeros((1, 0), np.int64), root):
                    for lo in range(0, len(full), per):
                        self.frames[-1].rest_from = lo
                        alive = self._alive(bounds[lo:lo + per])
                        if alive.any():
                            self._groups(full[lo:lo + per][alive])
                self._flush()
        except _Stop:
            complete = False
        proven_done = self.incumbent() <= self.root_bound * (1 + SLACK) and not self.pool.pareto
        complete = complete or proven_done
        # stopped: every mapping not scored lies under an open node (or was cut: no better than the incumbent)
        least = self.root_bound if self.pool.pareto else min(self.open_least, self.incumbent())
        return Outcome(self.evaluated, self.bound_evals, self.pruned, complete, self.sampled, self.root_bound,
                       math.inf if complete else max(self.root_bound, least), self.pruned_partial)

    def _factorizations(self, prefix: np.ndarray,
                        bounds: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Depth first over the dims in `self.order`: blocks of full factorizations (option index per dim, in
        nest dim order) that pass the capacity, fan-out, utilization and partial-bound cuts, with their bounds
        (objective, cycles, energy per row). Siblings are descended into best bound first, in chunks re-cut
        against the incumbent of the moment (it improves while earlier siblings are searched)."""
        k = prefix.shape[1]
        frame = _Frame(bounds[:, 0])
        self.frames.append(frame)
        if k == self.space.n_dims:
            full = np.zeros_like(prefix)
            full[:, self.order] = prefix
            yield full, bounds
            self.frames.pop()
            return
        n_opts = len(self.space.options[self.order[k]])
        step = max(1, CROSS_ROWS // n_opts)
        for lo in range(0, len(prefix), step):
            frame.rest_from, frame.kids = lo, np.zeros(0)
            self._check_budget()
            alive = self._alive(bounds[lo:lo + step])
            part = prefix[lo:lo + step][alive]
            if not len(part):
                continue
            child = np.concatenate([np.repeat(part, n_opts, axis=0),
                                    np.tile(np.arange(n_opts), len(part))[:, None]], axis=1)
            keep, child_bounds = self._feasible(child)
            self.pruned += int((~keep).sum())
            live = np.nonzero(keep)[0]
            live = live[np.lexsort((live, child_bounds[live, 0]))]  # best bound first, deterministic ties
            child, child_bounds = child[live], child_bounds[live]
            frame.rest_from, frame.kids = lo + step, child_bounds[:, 0]
            for c in range(0, len(child), DESCEND_ROWS):
                frame.kids_from = c + DESCEND_ROWS
                yield from self._factorizations(child[c:c + DESCEND_ROWS], child_bounds[c:c + DESCEND_ROWS])
        self.frames.pop()

    def _alive(self, bounds: np.ndarray) -> np.ndarray:
        """Rows (objective, cycles, energy bounds) not cut by the incumbent of the moment (counted as cut)."""
        cut = self._bound_cut(bounds)
        n = int(cut.sum())
        self.pruned += n
        self.pruned_partial += n
        return ~cut

    def _bound_cut(self, bounds: np.ndarray) -> np.ndarray:
        """True where a partial node's bounds prove it holds nothing better: the energy bound when partial
        bounds are on, the cycles bound for cycles and EDP (not for the Pareto front: no energy bound)."""
        if self.partial is None and (self.objective == "energy" or self.pool.pareto):
            return np.zeros(len(bounds), bool)
        return self._cut(bounds[:, 0], bounds[:, 1], bounds[:, 2] if self.partial is not None else None)

    def _feasible(self, prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ok, (objective, cycles, energy) bounds) of the rows of a partial assignment (dims self.order[:k]):
        ok where some completion may still be valid and better. Cut: footprints with every open dim at its smallest
        cumulative factor already overflow a level (capacity), spatial factors already exceed a fan-out, the
        most MACs any completion can use are too few (utilization minimum), or the partial bound (energy:
        bounds/partial.py, cycles at those most MACs) exceeds the incumbent."""
        n, k = prefix.shape
        L, D = self.space.n_levels, self.space.n_dims
        ext = np.broadcast_to(self.min_cum, (n, L, D)).copy()
        sp = np.broadcast_to(self.min_sp, (n, L, D)).copy()
        used = np.ones(n, float)
        for j in range(k):
            d = self.order[j]
            ext[:, :, d] = self.cum[d][prefix[:, j]]
            sp[:, :, d] = self.spatial[d][prefix[:, j]]
            used *= self.spatial[d][prefix[:, j]].prod(axis=1)
        for d in self.order[k:]:
            used *= self.max_sp_total[d]
        ok = (np.prod(sp, axis=2) <= self.fan_total[None, :]).all(axis=1)
        for i in range(L):
            if not np.isfinite(self.capacity[i]) or not self.must[i].any():
                continue
            words = np.zeros(n, np.int64)
            for t in np.nonzero(self.must[i])[0]:
                words = words + self.traffic.footprint(int(t), ext[:, i, :])
            ok &= words <= self.capacity[i]
        if self.space.min_macs > 1:
            ok &= used >= self.space.min_macs
        cycles = np.ceil(self.macs / np.minimum(used, self.n_mac) - 1e-9)
        energy = (self.partial.energy_pj(prefix, cycles) if self.partial is not None
                  else np.full(n, self.root_energy))
        energy = np.maximum(energy, self.root_energy)  # both bound every completion
        bounds = np.stack([objective_value(energy, cycles, self.objective), cycles, energy], axis=1)
        cut = ok & self._bound_cut(bounds)
        self.pruned_partial += int(cut.sum())
        return ok & ~cut, bounds

    # ----- groups: factors + axes + keeps ---------------------------------------------------------------
    def _groups(self, full: np.ndarray) -> None:
        """Expand full factorizations into groups (mesh axis of each live spatial dim, keep choices), bound
        each over all its loop orders, and expand those that can still win."""
        self._check_budget()
        sp = self.space
        n = len(full)
        L = sp.n_levels
        base = sp._assemble(full, np.zeros((n, L), np.int64), np.zeros((n, L, sp.n_dims), bool),
                            np.zeros((n, len(sp.free_keeps)), bool))
        # mesh axes: only dims with a spatial factor > 1 at a level with both axes open have a choice
        live = base.spatial[:, self.both[:, 0], self.both[:, 1]] > 1 if len(self.both) else np.zeros((n, 0), bool)
        rows, bits = [], []
        masks = np.unique(live, axis=0) if live.shape[1] else np.zeros((1, 0), bool)
        for mask in masks:
            members = np.nonzero((live == mask).all(axis=1))[0]
            free = np.nonzero(mask)[0]
            combos = _bits(len(free))
            b = np.zeros((len(combos), live.shape[1]), bool)
            b[:, free] = combos
            rows.append(np.repeat(members, len(combos)))
            bits.append(np.tile(b, (len(members), 1)))
        idx, axis_bits = np.concatenate(rows), np.concatenate(bits)
        sx = base.spatial_x[idx].copy()
        if len(self.both):
            sx[:, self.both[:, 0], self.both[:, 1]] = axis_bits
        K = len(sp.free_keeps)
        keep_combos = _bits(K)
        idx2 = np.repeat(np.arange(len(idx)), len(keep_combos))
        keep = base.keep[idx[idx2]].copy()
        kc = np.tile(keep_combos, (len(idx), 1))
        for j, (i, t) in enumerate(sp.free_keeps):
            keep[:, i, t] = kc[:, j]
        src = idx[idx2]
        groups = MappingArrays(base.temporal[src], base.spatial[src], sx[idx2], base.permutation[src], keep,
                               temporal_residual=None if base.temporal_residual is None
                               else base.temporal_residual[src])
        # the partial bound's cut energy of each group's factorization (it holds for every group of it)
        if self.partial is not None:
            by_order = full[:, self.order]
            cut, inner = self.partial.cut_energy_pj(by_order)[src], self.partial.inner_pj(by_order)[src]
        else:
            cut, inner = np.zeros(len(src)), np.zeros((len(src), 1))
        if sp.row_rules:
            ok = sp.legal(groups)
            self.pruned += int((~ok).sum())
            groups = groups.take(np.nonzero(ok)[0])
            cut, inner = cut[ok], inner[ok]
        for lo in range(0, groups.size, GROUP_ROWS):
            self._check_budget()
            block = np.arange(lo, min(groups.size, lo + GROUP_ROWS))
            self._bounded(groups.take(block), cut[block], inner[block])

    def _bounded(self, groups: MappingArrays, cut_pj: np.ndarray, inner_pj: np.ndarray) -> None:
        """Bound a block of groups (`cut_pj`, `inner_pj`: their factorizations' cut and inner serving energy
        bounds); expand, best first, each one that can still win."""
        energy_lb, cycles_lb, valid = self._bound(groups)
        if self.partial is not None:  # both bound every mapping of the group
            energy_lb = np.maximum(energy_lb, self.partial.energy_pj(None, cycles_lb, cut_pj, inner_pj))
        self.pruned += int((~valid).sum())
        bound = objective_value(energy_lb, cycles_lb, self.objective)
        live_rows = np.nonzero(valid)[0]
        live_rows = live_rows[np.lexsort((live_rows, bound[live_rows]))]  # best first, deterministic ties
        for g in live_rows:
            if self._cut(bound[g:g + 1], cycles_lb[g:g + 1], energy_lb[g:g + 1])[0]:
                self.pruned += 1
                continue
            self._orders(groups.take(np.array([g])))

    def _bound(self, groups: MappingArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(energy lower bound, cycles lower bound, valid) of every group over all loop orders: compute energy
        + leakage at the compute cycles + each plain tensor's energy under its canonical order (irrelevant
        loops innermost at every level, which minimizes every count of that tensor at once) + each windowed
        input's holding energy at the levels the group keeps it in (each element read and filled once, the
        innermost keeper serving the MACs)."""
        n, L = groups.size, self.space.n_levels
        # a group's validity does not depend on its loop orders: groups the cheap fit check proves invalid
        # (most of them) are not counted and get bounds 0 and 1 cycle, which nothing reads (they are cut as
        # invalid); the evaluations are still charged to the budget, so every result is the same
        plain = [] if self.imperfect else self.plain  # canonical orders: not shown minimal for remainder rows
        self.bound_evals += n * len(plain or [0])
        fit = np.flatnonzero(self.model.may_fit(groups))
        energy, cycles, valid = np.zeros(n), np.ones(n), np.zeros(n, bool)
        if not fit.size:
            return energy, cycles, valid
        rows = groups.take(fit)
        part = None
        first: FastResult | None = None
        for t in (plain or [0]):
            perm = np.broadcast_to(self.canonical[t], (rows.size, L, self.space.n_dims)).copy()
            fr = self.model.evaluate(MappingArrays(rows.temporal, rows.spatial, rows.spatial_x, perm,
                                                   rows.keep, temporal_residual=rows.temporal_residual))
            if first is None:
                first = fr
                cc = fr.compute_cycles.astype(float)
                leak = fr.leak_energy_pj.sum(axis=1) * cc / fr.cycles.astype(float)
                part = fr.compute_energy_pj + leak
            if t in plain:
                part = part + fr.tensor_energy_pj[:, :, t].sum(axis=1)
        assert first is not None and part is not None
        for t in ([] if self.imperfect else self.windowed):
            kept = rows.keep[:, :, t]
            inner = L - 1 - np.argmax(kept[:, ::-1], axis=1)  # the innermost keeper (the outermost always keeps)
            part = (part + (kept * self.hold_pj[None, :, t]).sum(axis=1) + self.serve_pj[inner, t]
                    - self.hold_pj[inner, t])
        energy[fit], cycles[fit], valid[fit] = part, first.compute_cycles.astype(float), first.valid
        return energy, cycles, valid

    def _orders(self, group: MappingArrays) -> None:
        """Every class of loop orders of one group (classes over the dims with a loop at each level), scored."""
        sp = self.space
        per_level = []
        for i in range(sp.n_levels):
            active = tuple(d for k, d in enumerate(sp.dims) if group.temporal[0, i, k] > 1)
            if (i, active) not in self.classes:
                r = sp.rules[i]
                inner = tuple(d for d in r.inner_order if d in sp.dims)
                outer = tuple(d for d in r.outer_order if d in sp.dims and d not in inner)
                free = tuple(d for d in active if d not in inner and d not in outer)
                if math.factorial(len(free)) > MAX_ORDERS:
                    self.sampled = True
                self.classes[(i, active)] = _classes(inner, free, outer, self.pairs, tuple(sp.dims))
            per_level.append(self.classes[(i, active)])
        radices = [len(c) for c in per_level]
        total = math.prod(radices)
        for lo in range(0, total, self.batch):
            idx = np.arange(lo, min(total, lo + self.batch), dtype=np.int64)
            perm = np.empty((len(idx), sp.n_levels, sp.n_dims), np.int64)
            for i, radix in enumerate(radices):
                perm[:, i] = per_level[i][idx % radix]
                idx = idx // radix
            m = len(perm)
            z = np.zeros(m, np.int64)
            self.pending.append(MappingArrays(group.temporal[z], group.spatial[z], group.spatial_x[z], perm,
                                              group.keep[z], temporal_residual=None if group.temporal_residual
                                              is None else group.temporal_residual[z]))
            self.pending_rows += m
            if self.pending_rows >= self.batch:
                self._flush()

    def _flush(self) -> None:
        """Score the buffered leaves (one fast-model batch) into the pool."""
        if not self.pending:
            return
        batch = MappingArrays.concat(self.pending)
        self.pending, self.pending_rows = [], 0
        self.pool.add(batch, self.model.evaluate(batch))
        self.evaluated += batch.size
        self._check_budget()


def _bits(m: int) -> np.ndarray:
    """Every assignment of m booleans, (2**m, m)."""
    return ((np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
