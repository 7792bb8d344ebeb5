"""Timeloop's nest analysis: walk the loop list, and for every loop and spatial instance record the tile
each tensor needs and the new data (delta) each invocation brings; spatial loops group equal deltas into
multicasts. This is an exact re-implementation of NestAnalysis (loop-analysis/nest-analysis.cpp) in the
legacy, non-ISL path, including its extrapolation: a temporal loop runs iterations 0 and 1 and scales
iteration 1 by n-1; a spatial loop simulates its first 3 instances and translates the rest.
With imperfect factors (a loop's residual trip count, used when every enclosing loop of its dimension is at its
final iteration) it follows Timeloop 3: a loop's trip count and tile (the residual mold) depend on the indices of
the loops outside it; a temporal loop runs iterations 0, 1 (scaled), n-2 and n-1; every spatial instance is
simulated (Timeloop 3 extrapolates from the first one and so misses a remainder under a spatial loop).
See docs/counting-rules.md for the rules with worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from stationary.model.aahr import Box, DeltaState, box_size, translation
from stationary.model.loops import LoopList
from stationary.workload.loopnest import LoopNest

Access = dict[tuple[int, int], float | Fraction]  # (multicast factor, scatter) -> words read from the parent


@dataclass
class _ElementState:
    access: list[Access]
    max_size: list[int]
    link: list[float]
    deltas: list[DeltaState]
    prev_spatial: dict[int, list[Box]] | None = None


@dataclass
class LoopTile:
    """What one loop contributes for one tensor, averaged over the instances simulated."""

    size: int
    access: Access
    link: float
    replication: int  # instances of this loop's tile (product of spatial loops outside it)
    fanout: int
    boundary: bool
    master: bool


@dataclass
class NestResult:
    tiles: list[list[LoopTile]]  # tiles[tensor][k]: temporal and master-spatial loops, innermost first
    computes_per_instance: int
    utilized_macs: int
    all_computes: int = 0  # MACs over every simulated instance (all instances when imperfect)


class NestAnalysis:
    """One run of the analysis over one loop list."""

    def __init__(self, nest: LoopNest, ll: LoopList) -> None:
        self.loops = ll.loops
        self.n = len(self.loops)
        dims = nest.dims
        index = {d: i for i, d in enumerate(dims)}
        self.proj = [[[(index[d], c) for c, d in axis] for axis in t.axes] for t in nest.tensors]
        self.nt = len(nest.tensors)
        self.fanout_x, self.fanout_y = ll.fanout_x, ll.fanout_y
        self.no_multicast = ll.no_multicast
        self.boundary = [False] * self.n
        for b in ll.boundaries:
            self.boundary[b] = True
        self.level_of = [lp.level for lp in self.loops]
        # InitNumSpatialElems / InitSpatialFanouts
        self.spatial_elems = [1] * self.n
        self.master = [False] * self.n
        prod, prev_spatial = 1, False
        for L in range(self.n - 1, -1, -1):
            self.spatial_elems[L] = prod
            if self.loops[L].spatial:
                self.master[L] = not prev_spatial
                prod *= self.loops[L].end
                prev_spatial = True
            else:
                prev_spatial = False
        self.fanout = [1] * self.n
        for L in range(self.n - 1, -1, -1):
            if not self.loops[L].spatial:
                continue
            if not self.master[L]:
                self.fanout[L] = 0
                continue
            inner, scale = L, 1
            while self.loops[inner].spatial:
                if inner > 0:
                    inner -= 1
                else:
                    scale = self.loops[0].end
                    break
            self.fanout[L] = self.spatial_elems[inner] // self.spatial_elems[L] * scale
        # InitPerLevelDimScales
        cur = [1] * len(dims)
        self.vstride: list[list[int]] = []
        self.mold_high: list[list[int]] = []
        for lp in self.loops:
            self.vstride.append(list(cur))
            cur[lp.dim] *= lp.end
            self.mold_high.append([c - 1 for c in cur])
        self.imperfect = any(lp.residual_end != lp.end for lp in self.loops)
        cur_res = [1] * len(dims)
        self.mold_high_residual: list[list[int]] = []
        cur = [1] * len(dims)
        for lp in self.loops:  # InitPerLevelDimScales, residual molds: every loop inside at its residual
            cur_res[lp.dim] += cur[lp.dim] * (lp.residual_end - 1)
            cur[lp.dim] *= lp.end
            self.mold_high_residual.append([c - 1 for c in cur_res])
        self.index = [0] * self.n
        self.transform = [0] * len(dims)
        self.live: list[dict[tuple[int, ...], _ElementState]] = [{} for _ in range(self.n)]
        self.stamp: list[int] = []
        self.epochs = 1
        self.spatial_id = 0
        self.computes = 0
        self.all_computes = 0  # over every simulated instance (all of them when imperfect)

    # ----- helpers --------------------------------------------------------------------------------------
    def _last_global(self, L: int, dim: int) -> bool:
        """IsLastGlobalIteration_: every loop at L or outside it on `dim` is at its final iteration."""
        for k in range(L, self.n):
            lp = self.loops[k]
            if lp.dim == dim and self.index[k] + 1 < lp.residual_end:
                return False
        return True

    def _trips(self, L: int) -> int:
        lp = self.loops[L]
        if lp.residual_end != lp.end and self._last_global(L + 1, lp.dim):
            return lp.residual_end
        return lp.end

    def _state(self, L: int, key: tuple[int, ...]) -> _ElementState:
        st = self.live[L].get(key)
        if st is None:
            st = _ElementState([{} for _ in range(self.nt)], [0] * self.nt, [0.0] * self.nt,
                               [DeltaState() for _ in range(self.nt)])
            self.live[L][key] = st
        return st

    def _project(self, low: list[int], high: list[int]) -> list[Box]:
        out: list[Box] = []
        for axes in self.proj:
            lo, hi = [], []
            for terms in axes:
                a = b = 0
                for d, c in terms:
                    if c < 0:
                        a += high[d] * c
                        b += low[d] * c
                    else:
                        a += low[d] * c
                        b += high[d] * c
                lo.append(a)
                hi.append(b + 1)
            out.append((tuple(lo), tuple(hi)))
        return out

    # ----- the walk -----------------------------------------------------------------------------------
    def run(self) -> NestResult:
        self._deltas(self.n - 1)
        innermost = self.loops[0]
        # every spatial loop counts, including inner ones of a group at the MAC fan-out (their fanout is 0)
        utilized = self.spatial_elems[0] * (innermost.end if innermost.spatial else 1)
        return NestResult(self._collect(), self.computes, utilized, self.all_computes)

    def _deltas(self, L: int) -> list[Box]:
        """ComputeDeltas: the new data loop L's tile needs on this invocation, per tensor."""
        if self.boundary[L]:
            self.stamp.append(0)
        st = self._state(L, tuple(self.stamp[:-1]))
        if self.loops[L].spatial:
            self._spatial(L)
        else:
            self._temporal(L, st)
        if self.imperfect:
            high = [t + (r if self._last_global(L + 1, d) else m) for d, (t, m, r) in
                    enumerate(zip(self.transform, self.mold_high[L], self.mold_high_residual[L]))]
        else:
            high = [t + m for t, m in zip(self.transform, self.mold_high[L])]
        boxes = self._project(list(self.transform), high)
        if self.boundary[L] or self.master[L]:
            for t in range(self.nt):
                st.max_size[t] = max(st.max_size[t], box_size(boxes[t]))
        if self.imperfect:  # a residual can make a loop run once: a tile that stays put needs no new data
            delta = [_advance_or_stay(st.deltas[t], boxes[t]) for t in range(self.nt)]
        else:
            delta = [st.deltas[t].advance(boxes[t]) for t in range(self.nt)]
        if self.boundary[L]:
            self.stamp.pop()
        return delta

    def _temporal(self, L: int, st: _ElementState) -> None:
        lp = self.loops[L]
        if self.imperfect:
            self._temporal_imperfect(L, st)
            return
        if L == 0:
            self._compute(lp.end * self.epochs, st)
            return
        d, step, saved = lp.dim, self.vstride[L][lp.dim], self.transform[lp.dim]
        sizes: list[tuple[list[int], int]] = [([box_size(x) for x in self._deltas(L - 1)], 1)]
        self.transform[d] += step
        if lp.end >= 2:  # gExtrapolateUniformTemporal: iteration 1 stands for iterations 1..n-1
            rest = lp.end - 1
            outer_epochs = self.epochs
            self.epochs *= rest
            sizes.append(([box_size(x) for x in self._deltas(L - 1)], rest))
            self.epochs = outer_epochs
        self.transform[d] = saved
        if self.boundary[L - 1]:
            for t in range(self.nt):
                words = sum(s[t] * k for s, k in sizes)
                st.access[t][(1, 1)] = st.access[t].get((1, 1), 0) + words * self.epochs

    def _compute(self, body: int, st: _ElementState) -> None:
        """The innermost loop's `body` MACs: one operand word of every tensor each (the MAC level's accesses)."""
        self.all_computes += body
        if self.spatial_id == 0:
            self.computes += body
        for t in range(self.nt):
            st.access[t][(1, 1)] = st.access[t].get((1, 1), 0) + body

    def _temporal_imperfect(self, L: int, st: _ElementState) -> None:
        """Timeloop 3's temporal step with residuals: iterations 0, 1..n-3 (one run scaled), n-2, n-1."""
        trips = self._trips(L)
        if L == 0:
            self._compute(trips * self.epochs, st)
            return
        d = self.loops[L].dim
        step, saved = self.vstride[L][d], self.transform[d]
        sizes: list[tuple[list[int], int]] = []

        def run(scale: int) -> list[int]:
            outer = self.epochs
            self.epochs *= scale
            got = [box_size(x) for x in self._deltas(L - 1)]
            self.epochs = outer
            self.transform[d] += step * scale
            self.index[L] += scale
            return got

        self.index[L] = 0
        sizes.append((run(1), 1))
        if trips >= 4:
            sizes.append((run(trips - 3), trips - 3))
        if trips >= 3:
            got = run(1)
            if trips >= 4:  # its delta is measured from iteration 1: iteration 1's delta stands for it
                sizes[-1] = (sizes[-1][0], sizes[-1][1] + 1)
            else:
                sizes.append((got, 1))
        if trips >= 2:
            sizes.append((run(1), 1))
        self.transform[d] = saved
        self.index[L] = 0
        if self.boundary[L - 1]:
            for t in range(self.nt):
                words = sum(s[t] * k for s, k in sizes)
                st.access[t][(1, 1)] = st.access[t].get((1, 1), 0) + words * self.epochs

    def _spatial(self, L: int) -> None:
        num = self.fanout[L]
        self.spatial_id *= num
        deltas: dict[int, list[Box]] = {}
        self._fill(L, deltas, 0)
        self.spatial_id //= num
        st = self._state(L, tuple(self.stamp[:-1]))
        without = self._multicast(L, deltas, [set(deltas) for _ in range(self.nt)])
        unaccounted = [set(deltas) for _ in range(self.nt)]
        links = self._link_transfers(L, deltas, unaccounted, st)
        with_links = self._multicast(L, deltas, unaccounted)
        for t in range(self.nt):
            if sum(with_links[t].values()) < sum(without[t].values()):
                st.link[t] += links[t]
                use = with_links[t]
            else:
                use = without[t]
            for k, v in use.items():
                st.access[t][k] = st.access[t].get(k, 0) + v

    def _fill(self, L: int, deltas: dict[int, list[Box]], base: int) -> None:
        """FillSpatialDeltas: one delta per child instance (only 3 simulated per loop, the rest translated)."""
        lp = self.loops[L]
        base *= lp.end
        trips = self._trips(L)
        if L == 0:
            if base == 0 and self.spatial_id == 0:
                self.computes += self.epochs
            self.all_computes += self.epochs * trips
            for i in range(trips):
                self.index[0] = i
                pt = list(self.transform)
                pt[lp.dim] += i * self.vstride[0][lp.dim]
                deltas[base + i] = self._project(pt, pt)
            self.index[0] = 0
            return
        d, step, saved, sid = lp.dim, self.vstride[L][lp.dim], self.transform[lp.dim], self.spatial_id
        if self.loops[L - 1].spatial:
            for i in range(trips):
                self.index[L] = i
                self._fill(L - 1, deltas, base + i)
                self.transform[d] += step
        else:
            run = trips if self.imperfect else min(3, lp.end)
            second = last = -1
            for i in range(run):
                idx = base + i
                self.spatial_id = sid + idx
                self.stamp[-1] = idx
                self.index[L] = i
                deltas[idx] = self._deltas(L - 1)
                self.transform[d] += step
                second, last = last, idx
            if run < lp.end and not self.imperfect:
                moves = []
                for t in range(self.nt):
                    a, b = deltas[second][t], deltas[last][t]
                    moves.append(translation(a, b) if (a is not None and b is not None) else None)
                prev = last
                for i in range(run, lp.end):
                    row: list[Box] = []
                    for t in range(self.nt):
                        x, m = deltas[prev][t], moves[t]
                        row.append(x if (x is None or m is None) else
                                   (tuple(p + q for p, q in zip(x[0], m)), tuple(p + q for p, q in zip(x[1], m))))
                    deltas[base + i] = row
                    prev = base + i
        self.transform[d] = saved
        self.index[L] = 0
        self.spatial_id = sid

    def _multicast(self, L: int, deltas: dict[int, list[Box]], unaccounted: list[set[int]]) -> list[Access]:
        """ComputeAccurateMulticastedAccesses: equal deltas of several children cost the parent one read —
        unless the network cannot multicast that tensor along a mesh axis: then children at different
        positions on that axis are never grouped (a child's index is y x (X loops' product) + x)."""
        out: list[Access] = []
        keys = sorted(deltas)
        off = self.no_multicast[self.level_of[L]] if self.no_multicast else None
        x_prod, k = 1, L
        while k >= 0 and self.loops[k].spatial:
            if self.loops[k].kind == "X":
                x_prod *= self.loops[k].end
            k -= 1
        for t in range(self.nt):
            groups: dict[int, tuple[float, int]] = {}
            left = unaccounted[t]
            x_off, y_off = off[t] if off else (False, False)
            classes: dict[tuple, int] = {}  # equal deltas, in order of their first child (one pass, not pairwise)
            for i in keys:
                if i in left:
                    left.discard(i)
                    key = (deltas[i][t], i % x_prod if x_off else -1, i // x_prod if y_off else -1)
                    classes[key] = classes.get(key, 0) + 1
            for (delta, _, _), m in classes.items():
                size = box_size(delta)
                if size > 0:
                    acc, scatter = groups.get(m, (0, 0))
                    groups[m] = (acc + size * self.epochs, scatter + 1)
            out.append({(m, sc): acc for m, (acc, sc) in groups.items()})
        return out

    def _link_transfers(self, L: int, cur: dict[int, list[Box]], unaccounted: list[set[int]],
                        st: _ElementState) -> list[float]:
        """ComputeNetworkLinkTransfers: data a neighbour held on the previous invocation comes over a link."""
        s = self.level_of[L]
        h, v = self.fanout_x[s], self.fanout_y[s]
        prev = st.prev_spatial or {}
        reuse: set[tuple[int, int]] = set()

        def compare(ci: int, pi: int) -> None:
            if ci not in cur or pi not in prev:
                return
            for t in range(self.nt):
                if cur[ci][t] is not None and box_size(cur[ci][t]) > 0 and cur[ci][t] == prev[pi][t]:
                    reuse.add((ci, t))

        def lin(x: int, y: int) -> int:
            return y * h + x

        if v > 1:
            for x in range(h):
                for y in range(1, v):
                    compare(lin(x, y), lin(x, y - 1))
            for x in range(h):
                for y in range(v - 1):
                    compare(lin(x, y), lin(x, y + 1))
        if h > 1:
            for y in range(v):
                for x in range(1, h):
                    compare(lin(x, y), lin(x - 1, y))
            for y in range(v):
                for x in range(h - 1):
                    compare(lin(x, y), lin(x + 1, y))
        links = [0.0] * self.nt
        for i in cur:
            for t in range(self.nt):
                if (i, t) in reuse:
                    links[t] += box_size(cur[i][t]) * self.epochs
                    unaccounted[t].discard(i)
        st.prev_spatial = dict(cur)
        return links

    def _collect(self) -> list[list[LoopTile]]:
        """CollectWorkingSets: per tensor, one tile per temporal loop and master spatial loop."""
        tiles: list[list[LoopTile]] = [[] for _ in range(self.nt)]
        for L in range(self.n):
            if self.loops[L].spatial and not self.master[L]:
                continue
            states = list(self.live[L].values())
            k = len(states)
            for t in range(self.nt):
                acc: Access = {}
                for s in states:
                    for key, val in s.access[t].items():
                        acc[key] = acc.get(key, 0) + val
                tiles[t].append(LoopTile(  # imperfect: exact averages, and the largest tile of any instance
                    size=(max(s.max_size[t] for s in states) if self.imperfect
                          else sum(s.max_size[t] for s in states) // k),
                    access={key: (Fraction(val) / k if self.imperfect else val / k) for key, val in acc.items()},
                    link=sum(s.link[t] for s in states) // k,
                    replication=self.spatial_elems[L], fanout=self.fanout[L],
                    boundary=self.boundary[L], master=self.master[L]))
        return tiles


def _advance_or_stay(state: DeltaState, cur: Box) -> Box:
    """The reuse rule (DeltaState.advance), except that a tile which has not moved brings nothing and leaves the
    remembered step alone: with a remainder of 1 a loop runs once, so a tile can stay put after moving (Timeloop
    3.0.3 agrees on its cases; the stride-change reset would refetch it)."""
    if state.last is not None and state.last == cur and state.stride is not None and any(state.stride):
        return None  # a zero step after a non-zero one: only a loop cut to one iteration by its remainder
    return state.advance(cur)
