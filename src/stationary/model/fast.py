"""The fast model: closed-form counts for a whole batch of mappings at once, vectorized with NumPy.

It equals the loop walk (evaluate.py + nest_analysis.py, Timeloop's NestAnalysis with its extrapolation)
on every mapping, without walking the loops. Per storage level and tensor:

* tile T(s): the projection extent of the cumulative factors at and below level s;
* the walk sees a child tile once per simulated iteration of the temporal loops above it (iterations 0 and 1
  of each, the second weighted n - 1): a binary counter. A move whose lowest advancing loop is k shifts the
  tile by tau_k = u_k - sum_{i<k} u_i (u_i: loop i's step on each tensor axis) and happens with weight
  (n_k - 1) x prod_{i>k} n_i. Its new data (Timeloop's delta) is the slab of tau_k when k = 0 or tau_k = tau_0
  (the step the tile remembers), else the whole tile — so an irrelevant loop between a tile and a sliding loop
  forfeits the halo (zero-step rule), and a halo that survives a wrap by a coincidence of strides is kept.
  Words delivered D = T + sum_k weight_k x new_k;
* spatial fan-out below a level: the parent reads U x D, U = distinct child tiles (per axis, the distinct
  values of sum coef x index over the spatial loops; irrelevant spatial loops multicast); children get D;
* neighbour link transfers: on each of those moves a child whose new data is the box a mesh neighbour's new
  data was on the previous one takes it over the link. The differences of neighbours' box offsets come in
  closed form (one per carry pattern of the children's mixed radix), computed only for the rare rows whose box
  difference passes a cheap bound (within the span of the children's offsets, on the gcd lattice of their
  steps); only where one equals the move's box difference are children enumerated (at most the fan-out) to
  count linked children and multicast classes. The counter's shifts are found once per level, in problem
  dimensions, and shared by every tensor;
* read-write tensors: updates = content, reads = content − partition, fills = D − partition (0 at the
  outermost kept level); partitions divide only across spatial fan-outs; links add link / instances to the
  child's reads and fills, as Timeloop's tiling does;
* bypass: the nearest kept ancestor serves a bypassed level's children (content × U of each level passed);
* remainders (Timeloop 3's `D=n,r`, `MappingArrays.temporal_residual`): such rows take their own vectorized
  path (`_counts_imperfect`), the walk's imperfect simulation (iterations 0, 1 weighted n - 3, n - 2, n - 1 of
  every temporal loop, trip counts and tile extents set by which dims are at their last global iteration)
  enumerated per level as an inner block of loops (once per context and first status) and the outer
  sequence of blocks, its delta rule solved by scans (`_seq_new_data`, `_level_words`), the rules above
  shared; its cost grows with the products of min(n, 4) over the block's and the outer loops (a clear error
  past IMPERFECT_ITERATIONS).

docs/counting-rules.md gives the rules with worked examples; tests/model/test_fast.py checks every count
against the walk. Arrays use the architecture's order (outermost level first): `temporal` and `spatial` factors
(B, levels, dims), `spatial_x` (True: the dim's spatial factor is on mesh X), `permutation` (B, levels,
dims; dimension indices, innermost loop first), `keep` (B, levels, tensors) and optionally `spatial_order`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.costing import INT_LIMIT, Costing, Counts, FastResult
from stationary.model.evaluate import refuse_unequal_instances
from stationary.model.loops import multicast_off
from stationary.model.result import Result
from stationary.workload.loopnest import LoopNest

Array = np.ndarray


@dataclass(frozen=True)
class MappingArrays:
    """A batch of mappings as arrays (levels outermost first, as in `Architecture.levels`)."""

    temporal: Array  # int64 (B, L, D)
    spatial: Array  # int64 (B, L, D)
    spatial_x: Array  # bool (B, L, D)
    permutation: Array  # int64 (B, L, D), innermost first
    keep: Array  # bool (B, L, T)
    # int64 (B, L, D): spatial loop order, innermost first (it decides which children are mesh neighbours);
    # None: the mapper's order, X dims then Y dims, each in problem order (what row_to_mapping writes)
    spatial_order: Array | None = None
    # int64 (B, L, D): each temporal loop's residual trip count (Timeloop 3's `D=n,r`: the trips it runs when
    # every enclosing loop of its dim is at its final iteration); equal to `temporal` where it has none.
    # None: every factorization perfect
    temporal_residual: Array | None = None

    @property
    def size(self) -> int:
        return int(self.temporal.shape[0])

    def take(self, index: Array) -> MappingArrays:
        """A sub-batch (rows `index`)."""
        return MappingArrays(self.temporal[index], self.spatial[index], self.spatial_x[index],
                             self.permutation[index], self.keep[index],
                             None if self.spatial_order is None else self.spatial_order[index],
                             None if self.temporal_residual is None else self.temporal_residual[index])

    @staticmethod
    def concat(parts: list[MappingArrays]) -> MappingArrays:
        t, s, x, p, k = (np.concatenate([getattr(q, f) for q in parts]) for f in
                         ("temporal", "spatial", "spatial_x", "permutation", "keep"))
        order = None if all(q.spatial_order is None for q in parts) else np.concatenate(
            [q.spatial_orders() for q in parts])
        residual = None if all(q.temporal_residual is None for q in parts) else np.concatenate(
            [q.temporal_residuals() for q in parts])
        return MappingArrays(t, s, x, p, k, order, residual)

    def temporal_residuals(self) -> Array:
        """Each temporal loop's residual trip count (B, L, D), `temporal` where a loop has no remainder."""
        return self.temporal if self.temporal_residual is None else self.temporal_residual

    def imperfect_rows(self) -> Array:
        """bool (B,): the rows with some remainder."""
        if self.temporal_residual is None:
            return np.zeros(self.size, bool)
        return (self.temporal_residual != self.temporal).any(axis=(1, 2))

    def spatial_orders(self) -> Array:
        """The spatial loop order (B, L, D), innermost first, the default filled in."""
        if self.spatial_order is not None:
            return self.spatial_order
        n_dims = self.temporal.shape[2]
        # X dims first, then Y dims, each in problem order: a stable sort on "is on Y"
        return np.argsort(~self.spatial_x, axis=2, kind="stable") if n_dims else self.permutation.copy()


def mapping_arrays(mappings: list[Mapping], nest: LoopNest, arch: Architecture) -> MappingArrays:
    """Mapping objects -> arrays (for tests and for re-scoring mappings given in YAML)."""
    dims = nest.dims
    B, L, D, T = len(mappings), len(arch.levels), len(dims), len(nest.tensors)
    tf = np.ones((B, L, D), np.int64)
    sf = np.ones((B, L, D), np.int64)
    sx = np.ones((B, L, D), bool)
    perm = np.zeros((B, L, D), np.int64)
    sp_order = np.zeros((B, L, D), np.int64)
    keep = np.zeros((B, L, T), bool)
    residual = np.ones((B, L, D), np.int64)
    for b, m in enumerate(mappings):
        kept = m.keep_table(nest, arch)
        for i, lm in enumerate(m.levels):
            if lm.spatial_residual:
                raise StationaryError(
                    f"a remainder on a spatial loop ({arch.levels[i].name} spatial "
                    f"{', '.join(f'{d}={lm.spatial[d]},{r}' for d, r in lm.spatial_residual.items())}) leaves the "
                    f"instances unequal, which per-instance costing cannot count; put remainders on temporal loops",
                    field=f"{arch.levels[i].name}.spatial.factors")
            axis = lm.spatial_axis(dims)
            for k, d in enumerate(dims):
                tf[b, i, k] = lm.temporal.get(d, 1)
                residual[b, i, k] = lm.residual("temporal", d)
                sf[b, i, k] = lm.spatial.get(d, 1)
                sx[b, i, k] = axis[d] == "X"
            perm[b, i] = [dims.index(d) for d in lm.temporal_order(dims)]
            sp_order[b, i] = [dims.index(d) for d in lm.spatial_order(dims)]
            keep[b, i] = kept[i]
    return MappingArrays(tf, sf, sx, perm, keep, sp_order,
                         residual if (residual != tf).any() else None)


def row_to_mapping(arrays: MappingArrays, b: int, nest: LoopNest, arch: Architecture) -> Mapping:
    """Row b of a batch -> a Mapping (X dims first in the spatial permutation, then `split`)."""
    dims = nest.dims
    levels = []
    for i, _lv in enumerate(arch.levels):
        temporal = {d: int(arrays.temporal[b, i, k]) for k, d in enumerate(dims) if arrays.temporal[b, i, k] > 1}
        res = arrays.temporal_residuals()
        residual = {d: int(res[b, i, k]) for k, d in enumerate(dims) if res[b, i, k] != arrays.temporal[b, i, k]}
        spatial = {d: int(arrays.spatial[b, i, k]) for k, d in enumerate(dims) if arrays.spatial[b, i, k] > 1}
        order = [int(k) for k in arrays.spatial_orders()[b, i]]
        xs = [dims[k] for k in order if arrays.spatial_x[b, i, k]]
        ys = [dims[k] for k in order if not arrays.spatial_x[b, i, k]]
        perm = tuple(dims[int(k)] for k in arrays.permutation[b, i])
        kept = frozenset(t.name for j, t in enumerate(nest.tensors) if arrays.keep[b, i, j])
        others = frozenset(t.name for t in nest.tensors) - kept
        levels.append(LevelMapping(temporal=temporal, permutation=perm, spatial=spatial,
                                   spatial_permutation=tuple(xs + ys), split=len(xs),
                                   keep=kept, bypass=others, temporal_residual=residual))
    return Mapping(tuple(levels))


class _Walk(NamedTuple):
    """Every tensor's tile below a level under the temporal loops above it, as Timeloop's walk sees it: a
    binary counter over the loops (innermost first); move k (lowest advancing loop k) shifts the tile by tau_k.
    Batch-last layout (tensors, moves, then rows): NumPy's reductions and scans over the few moves then run on
    whole rows of the batch."""

    ext: Array  # (T, A, B) the tile's extent per tensor axis (1 on padded axes)
    tile: Array  # (T, B) its words
    ns: Array  # (K, B) trip counts of the loops above, innermost first
    tau_dims: Array  # (D + 1, K, B) the shift of move k per problem dimension (and a zero plane)
    suffix: Array  # (K + 1, B) products of the trip counts from k out
    weight: Array  # (K, B) how often move k happens: (n_k - 1) x the trip counts outside k
    kind: Array  # (T, K, B) new data of move k: 0 empty, 1 slab, 2 whole tile
    # the slab's axis, its width and the new data's low corner relative to the tile's on `axis` (0 on the
    # others), each (T, K, B); None where no link is counted (no fan-out below the level: nothing reads them)
    axis: Array | None
    step: Array | None
    low: Array | None
    words: Array  # (T, K, B) new words of move k

    def delivered(self) -> Array:
        """D (T, B): words delivered to one instance of the child over the run: the first tile, then per move k
        its new data, `weight` times."""
        return self.tile + (self.weight * self.words).sum(axis=1)


@dataclass(frozen=True)
class _Moves:
    """The temporal loops above one level as a binary counter, for every tensor at once: trip counts (K, B),
    the shift of move k on each problem dimension (D + 1, K, B, plane D zero; a tensor's shift on an axis is its
    coefficients times these, as the tile's position is linear in the dimension indices) and the suffix
    products (K + 1, B)."""

    ns: Array
    tau_dims: Array
    suffix: Array
    weight: Array  # (K, B): (n_k - 1) x suffix[k + 1], how often move k happens


class FastModel:
    """The closed-form model bound to one loop nest and one architecture (precomputed tables)."""

    def __init__(self, nest: LoopNest, arch: Architecture, update_energy: str = "update") -> None:
        self.nest, self.arch = nest, arch
        self.dims = nest.dims
        index = {d: i for i, d in enumerate(self.dims)}
        self.n_levels, self.n_dims, self.n_tensors = len(arch.levels), len(self.dims), len(nest.tensors)
        # per tensor: axes as [(coef, dim index)], relevance mask, axis of each dim (-1 none, -2 several)
        self.axes: list[list[list[tuple[int, int]]]] = []
        self.relevant = np.zeros((self.n_tensors, self.n_dims), bool)
        self.axis_of = np.full((self.n_tensors, self.n_dims), -1, np.int64)
        self.coef = np.zeros((self.n_tensors, self.n_dims), np.int64)
        for t, tensor in enumerate(nest.tensors):
            axes = [[(c, index[d]) for c, d in axis] for axis in tensor.axes]
            self.axes.append(axes)
            for a, axis in enumerate(axes):
                for c, d in axis:
                    if c < 0:
                        raise StationaryError(f"the fast model needs non-negative coefficients ({tensor.name})")
                    self.relevant[t, d] = True
                    self.axis_of[t, d] = a if self.axis_of[t, d] == -1 else -2
                    self.coef[t, d] = c
                if len(axis) > 2:
                    raise StationaryError(f"the fast model handles at most 2 dimensions per tensor axis "
                                          f"({tensor.name}); use the exact model")
        # per tensor: coefficient of each dim on each axis (A, D) the tile moves along: an axis whose dims all
        # have bound 1 keeps extent 1 and never moves, so the walk and the link comparisons leave it out (all
        # but one, when no axis moves: a one-word tile still passes over links)
        bound = [nest.bounds[d] for d in self.dims]
        self.coef_axes = []
        for axes in self.axes:
            moving = [axis for axis in axes if any(bound[d] > 1 for _, d in axis)] or axes[:1]
            self.coef_axes.append(np.array([[next((c for c, dd in axis if dd == d), 0) for d in range(self.n_dims)]
                                            for axis in moving], np.int64).reshape(-1, self.n_dims))
        # per tensor and moving axis: its (coef, dim) terms with a non-zero coefficient (at least one)
        self.axis_terms = [[[(int(c), d) for d, c in enumerate(row) if c] or [(0, 0)] for row in C]
                           for C in self.coef_axes]
        self._n_axes = [len(terms) for terms in self.axis_terms]
        self._max_axes = max(self._n_axes)  # `_walks` pads tensors' axes to it
        # the same coefficients as one (T, A, D) array, padded axes 0 (extent 1): `_extents` on few rows
        self._coef_pad = np.zeros((self.n_tensors, self._max_axes, self.n_dims), np.int64)
        for t, terms in enumerate(self.axis_terms):
            for a, ax in enumerate(terms):
                for c, d in ax:
                    self._coef_pad[t, a, d] = c
        # `_walks` on the per-dimension shifts (a zero plane D past the dims): per tensor and padded axis, the
        # one dimension whose shift it is (D where it has another coefficient or several terms: `_axis_fix`),
        # and per tensor its rows in the (tensor, axis) rows `_row_dim` (every tensor at least one)
        D = self.n_dims
        self._axis_dim = np.full((self._max_axes, self.n_tensors), D, np.int64)
        self._axis_fix: list[tuple[int, int, list[tuple[int, int]]]] = []  # (t, a, terms) computed apart
        row_dim: list[int] = []
        self._row_span: list[tuple[int, int]] = []  # each tensor's rows [lo, hi)
        self._row_fix: list[tuple[int, list[tuple[int, int]]]] = []  # (row, terms): several dims on one axis
        for t, terms in enumerate(self.axis_terms):
            lo = len(row_dim)
            for a, ax in enumerate(terms or [[(0, D)]]):
                if len(ax) > 1:
                    self._row_fix.append((len(row_dim), ax))
                (c, d), *_ = ax
                # one term: its move repeats the first move's iff the dimension's does (c != 0); none: a 0 plane
                row_dim.append(d if len(ax) == 1 and c else D)
                if a < len(terms):
                    if len(ax) == 1 and c == 1:
                        self._axis_dim[a, t] = d
                    elif c or len(ax) > 1:
                        self._axis_fix.append((t, a, ax))
            self._row_span.append((lo, len(row_dim)))
        self._row_dim = np.array(row_dim, np.int64)
        self._axisless = [t for t, n in enumerate(self._n_axes) if n == 0]
        # a tile is at most `box_factor` times the iterations it spans (per axis 1 + sum c (e - 1) <= sum c x prod e)
        self.box_factor = max(math.prod(max(1, sum(abs(c) for c, _ in axis)) for axis in axes)
                              for axes in self.axes)
        self.read_write = np.array([t.read_write for t in nest.tensors])
        self.positive = [all(c > 0 for axis in axes for c, _ in axis) for axes in self.axes]  # every coef > 0
        levels = arch.levels
        self.fanout = np.array([arch.fanout(i) for i in range(self.n_levels)], np.int64)  # (L, 2)
        self.costing = Costing(arch, update_energy)
        self.multicast_off = [[multicast_off(lv, t.name) for t in nest.tensors] for lv in levels]
        # (inner level j, tensor) pairs whose parent's network cannot multicast on some mesh axis
        self._no_multicast = [(j, t) for j in range(self.n_levels) for t in range(self.n_tensors)
                              if any(self.multicast_off[self.n_levels - 1 - j][t])]
        self.virtual = np.array([lv.virtual for lv in levels])

    def _scratch(self, name: str, shape: tuple[int, ...]) -> Array:
        """A reused int64 work array (contents undefined) for one evaluation's temporaries: fresh arrays of a
        batch's size cost page faults on every call. One per name and thread, shared by every model of the
        thread (an evaluation runs to its end before the thread starts another; the largest size kept, viewed
        in the shape asked); an array from here must not outlive the evaluation that asked for it (never in a
        returned count)."""
        store = work_arrays()
        need = math.prod(shape)
        buf = store.get(name)
        if buf is None or buf.size < need:  # grow only: batches of every size reuse one array's pages
            buf = store[name] = np.empty(need, np.int64)
        return buf[:need].reshape(shape)

    # ----- projections ---------------------------------------------------------------------------------
    def _axis_extents(self, t: int, ext: Array, dim_first: bool = False) -> list[Any]:
        """Tensor t's extent per axis (arrays; an axis with no dims would be the int 1) for per-dimension
        extents `ext`, (..., D), or (D, ...) when `dim_first` (each dimension's plane contiguous)."""
        at = (lambda d: ext[d]) if dim_first else (lambda d: ext[..., d])
        return [1 + sum(c * (at(d) - 1) for c, d in axis) for axis in self.axes[t]]

    def _tile(self, t: int, ext: Array, dim_first: bool = False) -> Array:
        """Tensor t's tile words for per-dimension extents `ext` (..., D), or (D, ...) when `dim_first`."""
        size = np.ones(ext.shape[1:] if dim_first else ext.shape[:-1], np.int64)
        for a in self._axis_extents(t, ext, dim_first):
            size = size * a
        return size

    def _extents(self, tiles: Array) -> Array:
        """Every tensor's tile extent per moving axis (T, A, N, B; 1 on padded axes) for per-dimension extents
        `tiles` (N, B, D): 1 + sum of coef x (extent - 1) over the axis's dims. Few rows: one integer matmul
        (call overhead is the cost); many: a loop over the axes' few terms (no multiply by zero coefficients)."""
        N, B, _ = tiles.shape
        if B <= SMALL_BATCH:
            flat = (tiles - 1) @ self._coef_pad.reshape(-1, self.n_dims).T  # (N, B, T x A)
            return 1 + flat.transpose(2, 0, 1).reshape(self.n_tensors, self._max_axes, N, B)
        ext = self._scratch("ext", (self.n_tensors, self._max_axes, N, B))  # lives as long as the evaluation
        ext.fill(1)
        planes = tiles.transpose(2, 0, 1)  # (D, N, B) views
        for t in range(self.n_tensors):
            for a, ax in enumerate(self.axis_terms[t]):
                if len(ax) == 1 and ax[0][0] == 1:
                    ext[t, a] = planes[ax[0][1]]
                elif ax[0][0]:
                    ext[t, a] += sum(c * (planes[d] - 1) for c, d in ax)
        return ext

    def _reads_per_delivery(self, t: int, j: int, sf: Array, sx: Array, below: Array) -> Array:
        """Parent reads per word delivered to each child tile below inner level j: the distinct child tiles,
        times the positions along every mesh axis the network cannot multicast tensor t on."""
        x_off, y_off = self.multicast_off[self.n_levels - 1 - j][t]
        if not (x_off or y_off):
            return self._distinct_children(t, sf, below)
        off = (sx & x_off) | (~sx & y_off)
        return np.prod(np.where(off, sf, 1), axis=1) * self._distinct_children(t, np.where(off, 1, sf), below)

    def _distinct_all(self, sf: Array, below: Array) -> Array:
        """`_distinct_children` of every tensor below every level at once, (L, T, B), from the spatial factors
        and the tile steps below each level, (B, L, D) each (1 where a level has no fan-out: one child)."""
        B, L, _ = sf.shape
        out = np.empty((L, self.n_tensors, B), np.int64)
        for t, axes in enumerate(self.axes):
            singles = [axis[0][1] for axis in axes if len(axis) == 1]
            u = np.prod(sf[:, :, singles], axis=2) if singles else np.ones((B, L), np.int64)
            for axis in axes:
                if len(axis) == 2:
                    u = u * self._pair_children(axis, sf, below)
            out[:, t] = u.T
        return out

    def _pair_children(self, axis: list[tuple[int, int]], sf: Array, below: Array) -> Array:
        """Distinct positions along an axis of two dimensions (c1 d1 + c2 d2) among n1 x n2 children with
        steps c1 below_d1 and c2 below_d2: the positions that coincide (a sliding window) count once."""
        (c1, d1), (c2, d2) = axis
        n1, n2 = sf[..., d1], sf[..., d2]
        a, b = c1 * below[..., d1], c2 * below[..., d2]
        g = np.gcd(a, b)
        a, b = a // g, b // g
        return n1 * n2 - np.maximum(0, n1 - b) * np.maximum(0, n2 - a)

    def _distinct_children(self, t: int, sf: Array, below: Array) -> Array:
        """U: distinct child tiles among one level's spatial instances (equal tiles are multicast)."""
        u = np.ones(sf.shape[0], np.int64)
        for axis in self.axes[t]:
            u = u * (sf[:, axis[0][1]] if len(axis) == 1 else self._pair_children(axis, sf, below))
        return u

    # ----- the model -----------------------------------------------------------------------------------
    def evaluate(self, m: MappingArrays) -> FastResult:
        """Counts, energy and cycles of every mapping in the batch. Rows repeated in a batch (a search proposes
        the same mapping again) are costed once and copied: every row's numbers depend on that row alone."""
        if m.size <= 1:  # nothing to repeat (no hash)
            return self.evaluate_rows(m)
        first, inverse = distinct_rows(m)
        if first.size == m.size:
            return self.evaluate_rows(m)
        return _expand(self.evaluate_rows(m.take(first)), inverse)

    def evaluate_rows(self, m: MappingArrays) -> FastResult:
        """`evaluate` on every row as given, repeated rows included (the uncached path). Rows with remainders
        (`D=n,r`) take their own vectorized path (`_counts_imperfect`); perfect rows never pay for it."""
        self._check_range(m)
        imperfect = m.imperfect_rows()
        if not imperfect.any():
            return self.costing.cost(self._counts(m))
        rows, perfect = np.flatnonzero(imperfect), np.flatnonzero(~imperfect)
        parts = [(rows, self._counts_imperfect(m.take(rows)))]
        if perfect.size:
            parts.append((perfect, self._counts(m.take(perfect))))
        return self.costing.cost(_merge_counts(parts, m.size))

    def _counts(self, m: MappingArrays) -> Counts:
        """The per-instance counts of perfect rows (the binary-counter closed forms)."""
        L, T = self.n_levels, self.n_tensors
        B = m.size
        tf, sf, perm, sx, keep, sp_order = _inner_first(m)
        cum_below = [np.ones((B, self.n_dims), np.int64)]
        cum_sp, cum_at = [], []
        for j in range(L):
            cum_sp.append(cum_below[j] * sf[:, j])
            cum_at.append(cum_sp[j] * tf[:, j])
            cum_below.append(cum_at[j])
        compute_cycles = np.prod(tf, axis=(1, 2))
        utilized_macs = np.prod(sf, axis=(1, 2))
        macs = compute_cycles * utilized_macs
        spread = np.prod(sf, axis=2)  # (B, L) instances used below each level
        replication = np.ones((B, L), np.int64)  # instances of each level in use
        for j in range(L - 2, -1, -1):
            replication[:, j] = replication[:, j + 1] * spread[:, j + 1]

        # the temporal loops above each level (the same for every tensor)
        moves = self._moves(tf, perm, cum_sp, spread[:, 0].max(initial=1) > 1)
        mac_walk = spread[:, 0].max(initial=1) > 1  # a MAC fan-out: the operands' walk at j = 0
        fan = [bool(spread[:, j].max(initial=1) > 1) for j in range(L)]  # some row fans out below level j
        # every tensor's tile extent per moving axis at every level (T, A, L, B; 1 on padded axes), and those
        # of the level's spatial tiles (one instance's share below it); their products are the tiles' words
        # (the axes that never move have extent 1)
        ext_both = self._extents(np.stack(cum_at + cum_sp))
        ext = ext_both[:, :, :L]
        tiles_all = ext.prod(axis=1)  # (T, L, B)
        # the moves of every tensor's tile below each level j (child level j - 1; one MAC's operand at j = 0)
        walks_at = [self._walks(j, moves[j], ext[:, :, j - 1] if j else np.ones_like(ext[:, :, 0]),
                                tiles_all[:, j - 1] if j else np.ones((T, B), np.int64), fan[j])
                    if j or mac_walk else None for j in range(L)]
        # per level, (T, B): words delivered to each child, distinct children (U), link transfers
        delivered = [np.broadcast_to(compute_cycles, (T, B))] + [w.delivered() for w in walks_at[1:] if w is not None]
        # without a fan-out every row has one child: U = 1 (the formula's value too, coefficients > 0)
        distinct = self._distinct_all(sf, np.stack(cum_below[:L], axis=1))
        for j, t in self._no_multicast:  # the rare levels whose network cannot multicast a tensor on an axis
            if fan[j] or not self.positive[t]:
                distinct[j][t] = self._reads_per_delivery(t, j, sf[:, j], sx[:, j], cum_below[j])
        # neighbour link transfers at each fan-out: words children take from a neighbour (link) and the
        # parent reads they save (saved)
        link_words, link_saved = np.zeros((2, L, T, B), np.int64)
        for j, w in enumerate(walks_at):
            if w is not None and fan[j]:
                self._links(j, w, sf, sx, sp_order, cum_below, spread, link_words[j], link_saved[j])
        sizes_sp = ext_both[:, :, L:].prod(axis=1)  # (T, L, B)
        part = [tiles_all[:, L - 1]]  # partitions, outermost level first
        for c in range(L - 2, -1, -1):
            part.append(np.where(spread[:, c + 1] > 1, part[-1] * tiles_all[:, c] // sizes_sp[:, c + 1], part[-1]))
        reads, fills, updates, tiles, partition = self._store(delivered, distinct, (link_words, link_saved),
                                                              tiles_all.transpose(1, 0, 2), part[::-1],
                                                              keep, spread, replication)
        rev = slice(None, None, -1)  # back to architecture order
        return Counts(reads, fills, updates, tiles, partition, keep[:, rev], replication[:, rev], compute_cycles,
                      macs, utilized_macs, self._spatial_fits(m))

    def _spatial_fits(self, m: MappingArrays) -> Array:
        """(B,) bool: every level's spatial factors on each mesh axis fit its fan-out there."""
        x_used = np.prod(np.where(m.spatial_x, m.spatial, 1), axis=2)
        y_used = np.prod(np.where(m.spatial_x, 1, m.spatial), axis=2)
        return np.asarray(((x_used <= self.fanout[None, :, 0]) & (y_used <= self.fanout[None, :, 1])).all(axis=1))

    def may_fit(self, m: MappingArrays) -> Array:
        """(B,) bool: False only where `evaluate` would report the row invalid, decided without the counts
        (spatial factors over a fan-out, kept tiles over a level's capacity, a tensor not kept outermost): the
        search scores only the other rows. Exact for perfect rows of a dense architecture; rows with remainders
        (their tiles are the walk's) and sparse architectures (compressed tiles) are left True."""
        if self.arch.sparsity is not None:
            return np.ones(m.size, bool)
        ok = self._spatial_fits(m)
        # every level's tile extents, batch last (D, L, B) so that each dimension's plane is contiguous
        f = np.ascontiguousarray((m.temporal.astype(np.int64) * m.spatial).transpose(2, 1, 0))
        at = np.cumprod(f[:, ::-1], axis=1)[:, ::-1]
        keep = m.keep.transpose(2, 1, 0)
        words = sum(np.where(keep[t], self._tile(t, at, dim_first=True), 0) for t in range(self.n_tensors))
        ok &= self.costing.tiles_fit(np.asarray(words).T) & self.costing.sourced(m.keep)
        return np.asarray(ok | m.imperfect_rows())

    def _store(self, delivered: Array | list[Array], distinct: Array | list[Array], links: tuple[Array, Array],
               size: Array | list[Array], part: Array | list[Array], keep: Array, spread: Array,
               replication: Array) -> tuple[Array, Array, Array, Array, Array]:
        """Every tensor's reads, fills, updates, tile and partition (B, L, T), levels in architecture order,
        from the words delivered to each inner level j's children, the distinct children, the link transfers
        (words, saved parent reads), tiles and partitions ((L, T, B), inner level first, or a list of (T, B)
        per inner level: all tensors at once): read-modify-write, bypass
        and peer accesses as Timeloop's tiling does (one rule for both counters' paths)."""
        L, T = self.n_levels, self.n_tensors
        B = spread.shape[0]
        rw = self.read_write[None, :, None]  # (1, T, 1)
        sp = spread.T[:, None, :]  # (L, 1, B)
        dl, ul = np.asarray(delivered), np.asarray(distinct)  # (L, T, B) each, inner level first
        link_w, link_s = links
        size, part = np.asarray(size), np.asarray(part)
        content = ul * dl - link_s
        weighted = sp * dl - link_w  # Σ words over children
        has_link = (link_w > 0).any(axis=0)  # (T, B)
        linked = bool(has_link.any())
        share = np.zeros((L, T, B), np.int64)
        share[:-1] = dl[1:]
        kept = keep.transpose(1, 2, 0)  # (L, T, B)
        # bypass: a masked level's content is served by its parent, multiplied by the parent's U (a recurrence
        # from the inner level out)
        eff = content.copy()
        eff_f = content.astype(np.float64)  # Timeloop's float path, where links make it fractional
        for c in range(L - 1):
            eff[c + 1] = np.where(kept[c], eff[c + 1], ul[c + 1] * eff[c])
            if linked:
                w = weighted[c + 1].astype(np.float64)
                scaled = content[c + 1] * (eff_f[c] * sp[c + 1] / np.where(w > 0, w, 1))
                eff_f[c + 1] = np.where(kept[c], eff_f[c + 1], np.where(w > 0, scaled, 0.0))
        # whether some level above keeps the tensor; the outermost keeper is filled by nobody
        above = np.zeros((L, T, B), bool)
        above[:-1] = np.logical_or.accumulate(kept[:0:-1], axis=0)[::-1]
        outermost = kept & ~above
        # read-write tensors: updates = content, reads = content - partition, fills = share - partition
        minus = np.where(rw, part, 0)
        r = eff - minus
        f = np.where(outermost, 0, share - minus)
        u = np.where(rw, eff, 0)
        if linked:
            # words each instance takes over links from its neighbours (the parent's fan-out), and its share of
            # the words the parent's children receive
            rep = np.maximum(replication.T, 1)[:, None, :]  # (L, 1, B)
            peer, share_f = np.zeros((L, T, B)), np.zeros((L, T, B))
            peer[:-1] = np.where(above[:-1], link_w[1:], 0) / rep[:-1]
            share_f[:-1] = weighted[1:] / sp[1:]
            r = np.where(has_link, _round(eff_f + peer - minus), r)
            f = np.where(has_link, np.where(outermost, 0, _round(share_f + peer - minus)), f)
            u = np.where(has_link & (rw > 0), _round(eff_f), u)
        # (B, L, T) each, levels in architecture order (outermost first), 0 where a level does not keep
        out = np.empty((5, B, L, T), np.int64)
        for i, value in enumerate((r, f, u, size, part)):
            np.multiply(value, kept, out=out[i].transpose(1, 2, 0)[::-1])
        return tuple(out)  # type: ignore[return-value]

    def _counts_imperfect(self, m: MappingArrays) -> Counts:
        """The per-instance counts of rows with remainders, exactly as the loop walk counts them (Timeloop 3's
        imperfect path, nest_analysis._temporal_imperfect): every row is checked by the walk's own rules first
        (coverage, `Mapping._check_residuals`; equal instances, `refuse_unequal_instances`), then costed in row
        chunks that bound the arrays of simulated iterations (`_plan`)."""
        for b in range(m.size):
            mapping = row_to_mapping(m, b, self.nest, self.arch)
            for d in self.dims:
                loops = mapping.dim_loops(d)
                if any(r < f for _, _, f, r in loops):
                    mapping._check_residuals(d, self.nest.bounds[d], loops, self.arch, None)
            refuse_unequal_instances(self.nest, self.arch, mapping)
        # the arrays per row grow with its simulated iterations (checked against the limit in `_plan`); about
        # the square root of their full product once split into blocks: rows are chunked on that estimate
        slots = np.minimum(m.temporal, 4).astype(np.float64)
        sims = 8 * np.sqrt(np.prod(slots, axis=(1, 2))) + 1
        order = np.argsort(sims, kind="stable")
        parts, start = [], 0
        while start < m.size:
            stop = start + 1
            while stop < m.size and (stop + 1 - start) * sims[order[stop]] <= IMPERFECT_CHUNK:
                stop += 1
            rows = order[start:stop]
            parts.append((rows, self._counts_imperfect_chunk(m.take(rows))))
            start = stop
        return _merge_counts(parts, m.size)

    def _counts_imperfect_chunk(self, m: MappingArrays) -> Counts:
        """`_counts_imperfect` on one chunk of rows (already checked). Per level, the child tile's invocations
        under the temporal loops above it are those the walk simulates (`_enumerate`: iterations 0, 1 (weighted
        n - 3), n - 2 and n - 1 of each loop, trip counts and tile extents decided by which dimensions are at
        their last global iteration), split into an inner block and the outer sequence of blocks (`_plan`);
        Timeloop's delta rule over them is solved in closed form (`_seq_new_data`, `_level_words`); multicast,
        links, bypass and read-modify-write are the perfect path's rules (`_link_words`, `_store`)."""
        L, T, D = self.n_levels, self.n_tensors, self.n_dims
        B = m.size
        tf, sf, perm, sx, keep, sp_order = _inner_first(m)
        tr = m.temporal_residuals()[:, ::-1].astype(np.int64)
        rows = np.arange(B)
        cum_below = [np.ones((B, D), np.int64)]
        cum_sp, cum_at, cov_at = [], [], []  # cov_at: values a dim's loops at and below a level cover
        cov = np.ones((B, D), np.int64)
        steps, t_inner = np.ones((B, D), np.int64), np.ones((B, D), np.int64)  # temporal iterations per dim
        for j in range(L):
            cum_sp.append(cum_below[j] * sf[:, j])
            cum_at.append(cum_sp[j] * tf[:, j])
            cum_below.append(cum_at[j])
            cov = cov + (sf[:, j] - 1) * cum_below[j] + (tr[:, j] - 1) * cum_sp[j]
            cov_at.append(cov)
            steps = steps + (tr[:, j] - 1) * t_inner
            t_inner = t_inner * tf[:, j]
        compute_cycles = np.prod(steps, axis=1)
        utilized_macs = np.prod(sf, axis=(1, 2))
        macs = np.full(B, self.nest.macs, np.int64)
        spread = np.prod(sf, axis=2)
        replication = np.ones((B, L), np.int64)
        for j in range(L - 2, -1, -1):
            replication[:, j] = replication[:, j + 1] * spread[:, j + 1]
        loop_n = np.take_along_axis(tf, perm, axis=2)
        loop_r = np.take_along_axis(tr, perm, axis=2)
        order = np.argsort(~(loop_n > 1), axis=2, kind="stable")
        perm = np.take_along_axis(perm, order, axis=2)
        loop_n = np.take_along_axis(loop_n, order, axis=2)
        loop_r = np.take_along_axis(loop_r, order, axis=2)
        n_loops = (loop_n > 1).sum(axis=2).max(axis=0) if B else np.zeros(L, np.int64)
        # a dimension with a loop above level j: its largest tile there spans the full factors, else the values
        # its loops cover (the walk's largest tile is the first one, every loop at iteration 0)
        outer = np.zeros((B, L, D), bool)
        for j in range(L - 2, -1, -1):
            outer[:, j] = outer[:, j + 1] | (tf[:, j + 1] > 1) | (sf[:, j + 1] > 1)
        bounds = np.array([self.nest.bounds[d] for d in self.dims], np.int64)
        seen = [bounds // np.prod(sf[:, j + 1:], axis=1) for j in range(L)]  # values per instance and dim

        mac_fan = spread[:, 0].max(initial=1) > 1
        plans = [self._plan(j, perm, loop_n, loop_r, n_loops, cum_sp, cum_at, cov_at, spread, rows)
                 if j or mac_fan else None for j in range(L)]
        zero = np.zeros(B, np.int64)
        stacked: list[list[Any]] = [[] for _ in range(6)]  # per tensor: delivered, distinct, link, saved, size, part
        for t in range(T):
            size = [self._tile(t, np.where(outer[:, j], cum_at[j], cov_at[j])) for j in range(L)]
            part = [self._tile(t, seen[j]) for j in range(L)]
            delivered: list[Array] = [compute_cycles]
            links: list[tuple[Array, Array]] = []
            for j, plan in enumerate(plans):
                if plan is None:
                    links.append((zero, zero))
                    continue
                words_in, (delta, same, words, weight) = self._level_words(t, j, plan)
                if j:
                    delivered.append(words_in)
                num = spread[:, j]
                same = same & (weight > 0) & (num > 1)[:, None]
                sel = np.flatnonzero(same.any(axis=1))
                links.append(self._link_words(t, j, sf, sx, sp_order, cum_below[j], num, sel, delta[sel],
                                              same[sel], words[sel], weight[sel]) if sel.size else (zero, zero))
            distinct = [self._reads_per_delivery(t, j, sf[:, j], sx[:, j], cum_below[j]) for j in range(L)]
            for into, per_level in zip(stacked, (delivered, distinct, [lk for lk, _ in links],
                                                 [sv for _, sv in links], size, part)):
                into.append(np.stack(per_level))
        delivered_, distinct_, link_, saved_, size_, part_ = (np.stack(x, axis=1) for x in stacked)  # (L, T, B)
        reads, fills, updates, tiles, partition = self._store(delivered_, distinct_, (link_, saved_), size_,
                                                              part_, keep, spread, replication)
        rev = slice(None, None, -1)
        return Counts(reads, fills, updates, tiles, partition, keep[:, rev], replication[:, rev], compute_cycles,
                      macs, utilized_macs, self._spatial_fits(m))

    def _plan(self, j: int, perm: Array, loop_n: Array, loop_r: Array, n_loops: Array, cum_sp: list[Array],
              cum_at: list[Array], cov_at: list[Array], spread: Array, rows: Array) -> dict[str, Any]:
        """The walk's invocations of the tile below inner level j, split in two: the innermost `a` temporal
        loops above it as one block enumerated once per context (the last-iteration flags the outer loops set
        on the dims where they change a trip count or an extent inside), and the outer loops' sequence of blocks
        (each with its context, origin and weight). The split minimises the simulated iterations."""
        B, D = rows.size, self.n_dims
        cols = [(lev, k) for lev in range(j, self.n_levels) for k in range(int(n_loops[lev]))]
        K = len(cols)

        def stack(get: Any) -> Array:
            return np.stack([get(lev, k) for lev, k in cols], 1) if K else np.zeros((B, 0), np.int64)

        ds = stack(lambda lev, k: perm[:, lev, k])
        ns = stack(lambda lev, k: loop_n[:, lev, k])
        rs = stack(lambda lev, k: loop_r[:, lev, k])
        vs = stack(lambda lev, k: cum_sp[lev][rows, perm[:, lev, k]])
        slots = np.minimum(ns, 4).astype(np.float64)
        adjacent = (spread[:, j] == 1) & (loop_n[:, j, 0] > 1) if n_loops[j] else np.zeros(B, bool)
        varies = (cov_at[j - 1] != cum_at[j - 1]) if j else np.zeros((B, D), bool)  # a dim's extent can shrink
        best: tuple[float, int, Array] | None = None
        for a in range(min(1, K), K + 1) if SPLIT is None else [min(K, max(min(1, K), SPLIT))]:
            inner_res = np.zeros((B, D), bool)
            np.logical_or.at(inner_res, (rows[:, None].repeat(a, 1), ds[:, :a]), rs[:, :a] < ns[:, :a])
            has_outer = np.zeros((B, D), bool)
            np.logical_or.at(has_outer, (rows[:, None].repeat(K - a, 1), ds[:, a:]), ns[:, a:] > 1)
            matter = has_outer & (inner_res | varies)
            contexts = 2 ** int(matter.sum(axis=1).max(initial=0))
            cost = float((np.prod(slots[:, a:], axis=1) + 2 * contexts * np.prod(slots[:, :a], axis=1)).max(
                initial=1))
            if best is None or cost < best[0]:
                best = (cost, a, matter)
        assert best is not None
        cost, a, matter = best
        if cost > IMPERFECT_ITERATIONS:
            raise StationaryError(
                f"a mapping with remainders needs {cost:.3g} simulated iterations in the fast model (limit "
                f"{IMPERFECT_ITERATIONS}: up to 4 per temporal loop, multiplied over an inner block of loops and "
                f"over the loops outside it, as the loop walk simulates them); cost it with the exact model "
                f"(`stationary model`) or use fewer loops", field="factors")
        M = int(matter.sum(axis=1).max(initial=0))
        Cc = 2 ** M
        # each row's deciding dims (padded with -1) and each context's flags on them (bit i: dim i final)
        mdims = np.where(np.arange(M)[None, :] < matter.sum(axis=1)[:, None],
                         np.argsort(~matter, axis=1, kind="stable")[:, :M], -1)
        bits = (np.arange(Cc)[:, None] >> np.arange(M)[None, :]) & 1  # (Cc, M)
        last0 = np.ones((B, Cc, D), bool)
        for i in range(M):
            has = mdims[:, i] >= 0
            r_, c_ = np.nonzero(has[:, None] & np.ones(Cc, bool)[None, :])
            last0[r_, c_, mdims[r_, i]] = bits[c_, i] == 1
        outer = _enumerate(ds[:, a:], ns[:, a:], rs[:, a:], vs[:, a:], np.ones((B, D), bool), np.zeros(B, bool))
        o_low, o_last, o_weight, _, o_valid = outer
        ctx = np.zeros(o_valid.shape, np.int64)
        for i in range(M):
            d = np.maximum(mdims[:, i], 0)
            flag = np.take_along_axis(o_last, d[:, None, None].repeat(o_last.shape[1], 1), axis=2)[..., 0]
            ctx += np.where((mdims[:, i] >= 0)[:, None] & flag, 1 << i, 0)
        rep = np.repeat(np.arange(B), Cc)
        inner = _enumerate(ds[rep, :a], ns[rep, :a], rs[rep, :a], vs[rep, :a], last0.reshape(B * Cc, D),
                           adjacent[rep])
        i_low, i_last, i_weight, i_acct, i_valid = inner
        i_ext = (np.where(i_last, cov_at[j - 1][rep][:, None, :], cum_at[j - 1][rep][:, None, :]) if j
                 else np.ones_like(i_low))
        return {"Cc": Cc, "o_low": o_low, "o_weight": o_weight, "o_valid": o_valid, "ctx": ctx, "i_low": i_low,
                "i_ext": i_ext, "i_weight": i_weight, "i_acct": i_acct, "i_valid": i_valid}

    def _project_axes(self, t: int, low_d: Array, ext_d: Array | None) -> tuple[Array, Array]:
        """Per-dim low corners and extents (..., D) -> tensor t's moving axes (..., A)."""
        C = self.coef_axes[t]
        low = np.zeros(low_d.shape[:-1] + (C.shape[0],), np.int64)
        ext = np.ones_like(low)
        for a in range(C.shape[0]):
            for c, d in self.axis_terms[t][a]:
                if c:
                    low[..., a] += c * low_d[..., d]
                    if ext_d is not None:
                        ext[..., a] += c * (ext_d[..., d] - 1)
        return low, ext

    def _level_words(self, t: int, j: int, plan: dict[str, Any]) -> tuple[Array, tuple[Array, Array, Array, Array]]:
        """Tensor t at the fan-out below inner level j: the words delivered to one child over the run (the
        accounted weights) and the link columns (delta (B, C, A), same (B, C), words, weight) of every pair of
        consecutive invocations, from the plan's blocks: each block is solved once per context and status of
        its first box-changing move (x), and the outer sequence's chain of statuses is solved by a scan over
        its events (the moves joining blocks, the blocks), each a map of the previous status to a constant,
        itself or its negation."""
        points = j == 0  # one MAC's operand: a point, new on every invocation (no delta state)
        Cc = plan["Cc"]
        o_valid, ctx, o_weight = plan["o_valid"], plan["ctx"], plan["o_weight"]
        B, NO = o_valid.shape
        i_valid, i_weight, i_acct = plan["i_valid"], plan["i_weight"], plan["i_acct"]
        R, NI = i_valid.shape
        low, ext = self._project_axes(t, plan["i_low"], plan["i_ext"])
        A = low.shape[2]
        origin, _ = self._project_axes(t, plan["o_low"], None)
        rr = np.arange(R)
        lp = i_valid.sum(axis=1) - 1  # each block's last invocation
        moves = _moves_of(low, ext, i_valid)
        moved = moves["moved"]
        has_nz = moved.any(axis=1)
        m1 = np.argmax(moved, axis=1)
        mL = NI - 1 - np.argmax(moved[:, ::-1], axis=1)
        t_all = moves["t"]
        summ: dict[str, Any] = {
            "has_nz": has_nz, "t_first": t_all[rr, m1], "zb": has_nz & (m1 > 1), "t_last": t_all[rr, mL],
            "za": has_nz & (mL < lp), "zonly": ~has_nz & (lp > 0), "single": lp == 0,
            "first_low": low[:, 0], "first_ext": ext[:, 0], "last_low": low[rr, lp], "last_ext": ext[rr, lp],
            "tile0": np.prod(ext[:, 0], axis=1), "p1_weight": i_weight[:, min(1, NI - 1)]}
        per_x = []
        for x in (False, True):
            words, nlow, next_, sub = _seq_new_data(low, ext, i_valid, moves, None if points else np.full(R, x),
                                                    points)
            per_x.append({
                "blk": (i_acct[:, 1:] * words[:, 1:]).sum(axis=1), "exit": sub[rr, mL] & has_nz,
                "p1_low": nlow[:, min(1, NI - 1)], "p1_ext": next_[:, min(1, NI - 1)],
                "p1_words": np.where(lp >= 1, words[:, min(1, NI - 1)], 0),
                "l_low": nlow[rr, lp], "l_ext": next_[rr, lp], "l_words": words[rr, lp],
                "in": (nlow, next_, words)})

        idx = np.arange(B)[:, None] * Cc + ctx  # (B, NO) each outer element's row of the inner arrays

        def per_elem(x_arr: Array | None, key: str) -> Array:
            """Block summary `key` for every outer element (its context; status x_arr): one gather, from the
            summaries of both statuses stacked when x_arr is given."""
            if x_arr is None:
                return summ[key][idx]
            return np.concatenate([per_x[0][key], per_x[1][key]])[idx + R * x_arr]

        # the joins: from the last box of block e - 1 to the first of block e (e >= 1)
        f_low = origin + per_elem(None, "first_low")
        f_ext = per_elem(None, "first_ext")
        l_low = origin + per_elem(None, "last_low")
        l_ext = per_elem(None, "last_ext")
        jv = o_valid[:, 1:]
        lo, hi, slo, shi = f_low[:, 1:], f_low[:, 1:] + f_ext[:, 1:], l_low[:, :-1], l_low[:, :-1] + l_ext[:, :-1]
        j_z = (lo == slo).all(axis=2) & (hi == shi).all(axis=2) & jv
        j_nz = ~j_z & jv
        t_j = lo - slo
        # events: [join e (none for e = 0), block e] for every element e, in order
        E = 2 * NO
        ev_nz = np.zeros((B, E), bool)
        ev_zonly = np.zeros((B, E), bool)
        ev_tf = np.zeros((B, E, A), np.int64)
        ev_tl = np.zeros((B, E, A), np.int64)
        ev_zb = np.zeros((B, E), bool)
        ev_za = np.zeros((B, E), bool)
        ev_nz[:, 2:2 * NO:2] = j_nz
        ev_zonly[:, 2:2 * NO:2] = j_z
        ev_tf[:, 2:2 * NO:2] = t_j
        ev_tl[:, 2:2 * NO:2] = t_j
        blk = slice(1, E, 2)
        ev_nz[:, blk] = per_elem(None, "has_nz") & o_valid
        ev_zonly[:, blk] = per_elem(None, "zonly") & o_valid
        ev_tf[:, blk] = per_elem(None, "t_first")
        ev_tl[:, blk] = per_elem(None, "t_last")
        ev_zb[:, blk] = per_elem(None, "zb")
        ev_za[:, blk] = per_elem(None, "za")
        pos = np.arange(E)
        last_nz = np.maximum.accumulate(np.where(ev_nz, pos[None, :], -1), axis=1)
        p = np.concatenate([np.full((B, 1), -1), last_nz[:, :-1]], axis=1)  # previous box-changing event
        tau = np.take_along_axis(ev_tl, np.maximum(p, 0)[:, :, None], axis=1)
        zc = np.cumsum(ev_zonly, axis=1)
        zc_before = np.concatenate([np.zeros((B, 1), np.int64), zc[:, :-1]], axis=1)
        zeta = (((zc_before - np.where(p >= 0, np.take_along_axis(zc, np.maximum(p, 0), axis=1), 0)) > 0)
                | (np.take_along_axis(ev_za, np.maximum(p, 0), axis=1) & (p >= 0)) | ev_zb)
        a_ = (tau == ev_tf).all(axis=2) & (p >= 0)
        b_ = ~zeta | (ev_tf == 0).all(axis=2)
        # exit maps: a join's exit is its own status; a block's is its exit for x = that status
        ex_f, ex_t = np.zeros((B, E), bool), np.zeros((B, E), bool)
        ex_f[:, 2::2] = False
        ex_t[:, 2::2] = True
        ex_f[:, blk] = per_elem(np.zeros((B, NO), bool), "exit")
        ex_t[:, blk] = per_elem(np.ones((B, NO), bool), "exit")
        fF = np.where(b_, ex_t, ex_f)  # the event's exit when the previous status is F (then s1 = b)
        fT = np.where(a_, ex_t, ex_f)
        const = ev_nz & (fF == fT)
        negate = ev_nz & fF & ~fT
        anchor = np.maximum.accumulate(np.where(const, pos[None, :], -1), axis=1)
        flips = np.cumsum(negate, axis=1)
        base = np.where(anchor >= 0, np.take_along_axis(fF, np.maximum(anchor, 0), axis=1), False)
        since: Array = flips - np.where(anchor >= 0, np.take_along_axis(flips, np.maximum(anchor, 0), axis=1), 0)
        exit_ = base ^ (since % 2 == 1)
        sigma = np.concatenate([np.zeros((B, 1), bool), exit_[:, :-1]], axis=1)  # status before each event
        s1 = np.where(sigma, a_, b_) & ev_nz
        if points:
            s1[:] = False
        x_e = s1[:, blk]
        s_j = s1[:, 2::2]
        # words of the joins (their new data) and of the blocks
        j_words, j_low, j_ext = _subtracted(lo, hi, slo, shi, s_j & j_nz, np.prod(f_ext[:, 1:], axis=2))
        if points:
            j_words, j_low, j_ext = jv.astype(np.int64), lo, f_ext[:, 1:]
        j_words = np.where(j_nz | (points & jv), j_words, 0)
        tile0 = per_elem(None, "tile0")[:, 0]
        blk_words = per_elem(x_e, "blk")
        delivered = tile0 + (j_words * o_weight[:, 1:]).sum(axis=1) + (blk_words * o_weight).sum(axis=1)
        # link columns: the joins, each block's first move, and the moves inside blocks (weighted per context/x)
        first_nd = (np.concatenate([f_low[:, :1], j_low], axis=1), np.concatenate([f_ext[:, :1], j_ext], axis=1),
                    np.concatenate([tile0[:, None], j_words], axis=1))  # each block's first box's new data
        single = per_elem(None, "single")
        l_nd_low = np.where(single[:, :, None], first_nd[0], origin + per_elem(x_e, "l_low"))
        l_nd_ext = np.where(single[:, :, None], first_nd[1], per_elem(x_e, "l_ext"))
        l_nd_w = np.where(single, first_nd[2], per_elem(x_e, "l_words"))
        cols_delta = [j_low - l_nd_low[:, :-1]]
        cols_same = [(j_words > 0) & (l_nd_w[:, :-1] > 0) & (j_ext == l_nd_ext[:, :-1]).all(axis=2) & jv]
        cols_words = [j_words]
        cols_weight = [o_weight[:, 1:]]
        p1_low = origin + per_elem(x_e, "p1_low")
        p1_w = per_elem(x_e, "p1_words")
        cols_delta.append(p1_low - first_nd[0])
        cols_same.append((p1_w > 0) & (first_nd[2] > 0) & (per_elem(x_e, "p1_ext") == first_nd[1]).all(axis=2)
                         & o_valid)
        cols_words.append(p1_w)
        cols_weight.append(o_weight * per_elem(None, "p1_weight"))
        if NI > 2:
            for xi in (0, 1):
                nlow, next_, words = per_x[xi]["in"]
                w_ctx = np.zeros((B, Cc), np.int64)
                np.add.at(w_ctx, (np.arange(B)[:, None].repeat(NO, 1), ctx),
                          np.where(o_valid & (x_e == bool(xi)), o_weight, 0))
                w_rows = w_ctx.reshape(-1)
                same_in = ((words[:, 2:] > 0) & (words[:, 1:-1] > 0) & (next_[:, 2:] == next_[:, 1:-1]).all(axis=2)
                           & (i_weight[:, 2:] > 0) & (w_rows > 0)[:, None])
                cols_delta.append((nlow[:, 2:] - nlow[:, 1:-1]).reshape(B, Cc * (NI - 2), A))
                cols_same.append(same_in.reshape(B, -1))
                cols_words.append(words[:, 2:].reshape(B, -1))
                cols_weight.append((i_weight[:, 2:] * w_rows[:, None]).reshape(B, -1))
        links = (np.concatenate(cols_delta, axis=1), np.concatenate(cols_same, axis=1),
                 np.concatenate(cols_words, axis=1), np.concatenate(cols_weight, axis=1))
        return delivered, links

    def _check_range(self, m: MappingArrays) -> None:
        """Refuse a batch whose counts could pass int64 (they would wrap to negative numbers).

        Every count (tile, deliveries, reads, fills, updates, over all instances) is at most the box factor
        times the iterations of the nest, the product of all factors; checked in floating point.
        """
        if not m.size:
            return
        iterations = (np.prod(m.temporal.astype(float), axis=(1, 2)) * np.prod(m.spatial.astype(float), axis=(1, 2))
                      * self.box_factor)
        worst = float(iterations.max())
        if not worst < INT_LIMIT:
            raise StationaryError(
                f"counts of this mapping reach about {worst:.3g}, beyond the fast model's 64-bit integers "
                f"(limit {INT_LIMIT:.3g}); the exact model (`stationary model`) counts in Python integers")

    def _walks(self, j: int, mv: _Moves | None, ext: Array, tile: Array, slabs: bool) -> _Walk:
        """The moves of every tensor's tile below inner level j (child level j - 1; at j = 0 one MAC's operand,
        whose moves are never subtracted) under the temporal loops above level j, and each move's new data, all
        tensors in one pass (their moves stacked on a tensor axis, one `_new_data` call). `ext`: the child
        tile's extent per tensor and moving axis (T, A, B; 1 on padded axes); `tile`: its words (T, B); `slabs`:
        keep each slab's axis, width and corner (the link count needs them)."""
        T, A, B = ext.shape
        if mv is None:
            ns, suffix, weight = np.ones((0, B), np.int64), np.ones((1, B), np.int64), np.zeros((0, B), np.int64)
            td = np.zeros((self.n_dims + 1, 0, B), np.int64)
        else:
            ns, suffix, weight, td = mv.ns, mv.suffix, mv.weight, mv.tau_dims
        K = ns.shape[0]

        # a move is subtracted (its slab is new) when it repeats the remembered step tau_0 (k = 0 always does)
        # on every axis of the tensor; any other move brings the whole tile
        if j == 0 or not K:
            kind = np.full((T, K, B), 2, np.int64)
            zeros = np.zeros((T, K, B), np.int64) if slabs else None
            return _Walk(ext, tile, ns, td, suffix, weight, kind, zeros, zeros, zeros,
                         np.broadcast_to(tile[:, None, :], (T, K, B)))
        rows = (td == td[:, :1])[self._row_dim]  # per (tensor, axis) row: does move k repeat move 0 there
        for r, terms in self._row_fix:
            ta = _combine(terms, td)
            rows[r] = ta == ta[:1]
        same = np.empty((T, K, B), bool)
        for t, (lo, hi) in enumerate(self._row_span):
            np.logical_and.reduce(rows[lo:hi], axis=0, out=same[t])
        sub = np.flatnonzero(same)  # flat (t, k, b) indices of (T, K, B)
        # the slab rules run on the subtracted moves only (every other move brings the whole tile)
        kind = self._scratch(f"kind{j}", (T * K * B,))
        kind.fill(2)
        words = self._scratch(f"words{j}", (T * K * B,))
        np.copyto(words.reshape(T, K, B), tile[:, None, :])
        slab: list[Array | None] = [None] * 3
        if slabs:
            for i in range(3):
                slab[i] = self._scratch(f"slab{i}.{j}", (T * K * B,))
                slab[i].fill(0)  # type: ignore[union-attr]
        if sub.size:
            t_, kb = np.divmod(sub, K * B)
            tb = t_ * B + kb % B  # flat (t, b)
            # each axis's shift and the tile's extent on the subtracted moves, (A, N) (0 and 1 on padded axes)
            new = _new_data(self._axis_shifts(td, t_, kb), np.take(ext.transpose(1, 0, 2).reshape(A, -1), tb, axis=1),
                            tile.reshape(-1)[tb])
            for whole, part in zip([kind, *slab, words], new):
                if whole is not None:
                    whole[sub] = part
        axis, step, low = (None if x is None else x.reshape(T, K, B) for x in slab)
        return _Walk(ext, tile, ns, td, suffix, weight, kind.reshape(T, K, B), axis, step, low, words.reshape(T, K, B))

    def _axis_shifts(self, td: Array, t_: Array, kb: Array) -> Array:
        """(A, N): tensor t_[n]'s shift on each of its (padded: 0) axes at flat (move, row) kb[n] of the
        per-dimension shifts `td` (D + 1, K, B); t_ ascending. One gather by flat index (C order, as
        `_new_data`'s sums want), the axes of another coefficient or several dimensions (`_axis_fix`) apart."""
        plane = td.shape[1] * td.shape[2]
        tv = td.reshape(-1)[np.take(self._axis_dim, t_, axis=1) * plane + kb]
        if self._axis_fix:
            seg = np.searchsorted(t_, np.arange(self.n_tensors + 1))
            for t, a, terms in self._axis_fix:
                lo, hi = seg[t], seg[t + 1]
                if hi > lo:
                    tv[a, lo:hi] = _combine(terms, {d: td.reshape(-1)[d * plane + kb[lo:hi]] for _, d in terms})
        return tv

    def _links(self, j: int, walk: _Walk, sf: Array, sx: Array, sp_order: Array, cum_below: list[Array],
               spread: Array, link: Array, saved: Array) -> None:
        """Neighbour link transfers at the fan-out below inner level j (Timeloop's ComputeNetworkLinkTransfers),
        every tensor at once: into `link` and `saved` (T, B), the words the children of one instance take over
        links and the parent reads that saves, per tensor and mapping.

        The walk invokes the fan-out once per simulated iteration of the temporal loops above it (iterations 0
        and 1 of each, weighted by n - 1): a binary counter over those loops, innermost bit first (`walk`).
        A child takes its new data over a link when a mesh neighbour's new data of the previous invocation is
        the same box; the fan-out uses links when that lowers the parent's reads. Three kinds of invocation
        occur (b = 1; b odd after a move k; b even, move k), each with a closed-form weight. Only the (tensor,
        row) pairs and kinds where a box difference passes `_reachable` go on to `_link_words` (it applies the
        same rule again: the pairs here are cut first in the walk's batch-last layout, cheaply).
        """
        T, A, B = walk.ext.shape
        K = walk.ns.shape[0]
        if K == 0 or A == 0:
            return
        # the invocation kinds as columns: [b = 1] + [b odd after move k, k >= 1] + [b even, move k >= 1];
        # descriptor K is the first invocation's (the whole tile)
        ks = np.arange(1, K)
        zeros_k = np.zeros(K - 1, np.int64)
        cur_i = np.concatenate([[0], zeros_k, ks])
        prev_i = np.concatenate([[K], ks, zeros_k])
        n0 = walk.ns[:1] - 1
        nk = walk.weight[1:]  # (n_k - 1) x the trip counts outside k
        weight = np.concatenate([n0, n0 * nk, nk])  # (C, B)
        # few rows: every tensor in one pass (calls are the cost); many: one tensor at a time (its arrays stay
        # in the cache)
        for t0, t1 in [(0, T)] if B <= SMALL_BATCH else [(t, t + 1) for t in range(T)]:
            self._links_of(t0, t1, j, walk, sf, sx, sp_order, cum_below[j], spread[:, j], cur_i, prev_i, weight,
                           link, saved)

    def _links_of(self, t0: int, t1: int, j: int, walk: _Walk, sf: Array, sx: Array, sp_order: Array,
                  below: Array, num: Array, cur_i: Array, prev_i: Array, weight: Array, link: Array,
                  saved: Array) -> None:
        """`_links` of tensors t0 .. t1 - 1 (their arrays stacked: T = t1 - t0 below)."""
        _, A, B = walk.ext.shape
        T, K = t1 - t0, walk.ns.shape[0]
        assert walk.axis is not None and walk.step is not None and walk.low is not None
        pad = np.zeros((T, 1, B), np.int64)
        kind = np.concatenate([walk.kind[t0:t1], pad + 2], axis=1)  # (T, K + 1, B)
        axis = np.concatenate([walk.axis[t0:t1], pad], axis=1)
        step = np.concatenate([walk.step[t0:t1], pad], axis=1)

        # a child links only in an invocation whose new data is of the same kind (and slab) as the previous
        # one's, and only when it has a neighbour (num > 1)
        def cols(x: Array, i: Array) -> Array:  # x[:, i], as a take (fancy indexing of a middle axis is slow)
            return np.take(x, i, axis=1)

        ck, pk = cols(kind, cur_i), cols(kind, prev_i)
        same = ((ck == pk) & (ck > 0) & ((ck == 2) | ((cols(axis, cur_i) == cols(axis, prev_i))
                                                      & (cols(step, cur_i) == cols(step, prev_i))))
                & ((weight > 0) & (num > 1)[None, :])[None])  # (T, C, B)
        for t in self._axisless:  # a tensor with no axis never links
            if t0 <= t < t1:
                same[t - t0] = False
        sel = np.flatnonzero(same.any(axis=1))  # flat (t - t0, b) pairs, tensor by tensor
        if not sel.size:
            return
        t_, b = np.divmod(sel, B)
        # per pair, the previous new data's box minus this one's, per (padded) axis (C, S); gathers by flat
        # index: no copy of the (T, K, B) arrays
        C, S = cur_i.size, sel.size
        moves = np.arange(K + 1)[:, None] * B  # (K + 1, 1)
        on_axis = axis.reshape(-1)[t_ * ((K + 1) * B) + b + moves]  # (K + 1, S)
        corner = np.zeros((K + 1, S), np.int64)
        corner[:K] = walk.low[t0:t1].reshape(-1)[t_ * (K * B) + b + moves[:K]]
        # each pair's shifts of every move (pair-major, so the tensors stay ascending), as (A, K, S)
        tau = self._axis_shifts(walk.tau_dims, np.repeat(t0 + t_, K), (b[:, None] + moves[:K, 0]).reshape(-1))
        tau = tau.reshape(A, S, K).transpose(0, 2, 1)
        # each invocation kind takes the shift of its current move (cur_i)
        cur_axis, cur_corner, prev_axis, prev_corner = on_axis[cur_i], corner[cur_i], on_axis[prev_i], corner[prev_i]
        delta = [tau[a][cur_i] + np.where(cur_axis == a, cur_corner, 0) - np.where(prev_axis == a, prev_corner, 0)
                 for a in range(A)]
        same = same.reshape(-1)[t_ * (C * B) + b + np.arange(C)[:, None] * B]  # (C, S)
        coef, of = (self._coef_pad[t0], None) if T == 1 else (self._coef_pad[t0:t1], t_)
        near = same & _reachable(coef, sf[b, j], below[b], delta, batch_last=True, tensor=of)
        keep = np.flatnonzero(near.any(axis=0))
        if not keep.size:
            return
        words = np.concatenate([walk.words[t0:t1], walk.tile[t0:t1, None, :]], axis=1)  # (T, K + 1, B)
        # the pairs that pass, tensor by tensor, on the tensor's own axes
        for t in np.unique(t_[keep]):
            mine = keep[t_[keep] == t]
            rows, n = b[mine], self._n_axes[t0 + t]
            link[t0 + t], saved[t0 + t] = self._link_words(
                t0 + t, j, sf, sx, sp_order, below, num, rows,
                np.stack([d[:, mine] for d in delta[:n]], axis=2).transpose(1, 0, 2), same[:, mine].T,
                words[t][:, rows][cur_i].T, weight[:, rows].T)

    def _link_words(self, t: int, j: int, sf: Array, sx: Array, sp_order: Array, below: Array, num: Array,
                    sel: Array, delta: Array, same: Array, words: Array, weight: Array) -> tuple[Array, Array]:
        """(link words, saved parent reads) per row of the batch at the fan-out below inner level j, from the
        invocation kinds (columns) of rows `sel`: `delta` (S, C, A) this invocation's new data box minus the
        previous one's, `same` (S, C) whether the two are alike and non-empty (a link is possible), `words`
        new words per child and `weight` how often the kind occurs. Shared by both counters' paths."""
        B = sf.shape[0]
        zero = np.zeros(B, np.int64)
        # a cheap necessary condition first (`_reachable`): the rare rows that pass it get the exact candidates
        near = same & _reachable(self.coef_axes[t], sf[sel, j], below[sel], delta)
        keep = np.flatnonzero(near.any(axis=1))
        if not keep.size:
            return zero, zero
        sel, delta, same, words, weight = sel[keep], delta[keep], same[keep], words[keep], weight[keep]
        # the candidates depend on the fan-out's spatial loops only: found once per distinct configuration
        first, config = _configurations(sf[sel, j], sp_order[sel, j], below[sel])
        rep = sel[first]
        cand, occurs = self._link_candidates(t, j, sf[rep, j], sp_order[rep, j], below[rep])
        hit = same & _contains(cand, occurs, config, delta)
        keep = np.flatnonzero(hit.any(axis=1))
        if not keep.size:
            return zero, zero
        sel, delta, hit, words, weight = sel[keep], delta[keep], hit[keep], words[keep], weight[keep]
        # the comparisons take (rows, most children) arrays: group the rows by children count (powers of
        # two), so one wide fan-out does not widen every row's arrays
        link, saved = zero.copy(), zero.copy()
        bucket = np.ceil(np.log2(num[sel])).astype(np.int64)
        for b in np.unique(bucket):
            g = bucket == b
            rows = sel[g]
            link[rows], saved[rows] = self._link_boxes(t, j, sf[rows], sx[rows], sp_order[rows], below[rows],
                                                       num[rows], delta[g], words[g], weight[g], hit[g])
        return link, saved

    def _link_candidates(self, t: int, j: int, sf_j: Array, order: Array, below: Array) -> tuple[Array, Array]:
        """The values off(i + s) - off(i) of the box offsets of children i and i + s at the fan-out below inner
        level j, for the mesh neighbours s = ±1 (X) and ±(mesh width) (Y), found without enumerating children:
        (rows, M, axes) candidates and (rows, M) whether each occurs. In the children's mixed radix (spatial loop
        p: e_p positions, step w_p) adding s adds its digits s_p with carries c_p in {0, 1}: off(i + s) - off(i)
        = sum_p (s_p + c_p - e_p c_(p+1)) w_p, one value per carry pattern (the mesh rows are not applied)."""
        C = self.coef_axes[t]
        ends = np.take_along_axis(sf_j, order, axis=1)  # (S, D), innermost spatial loop first
        step = C.T[order] * np.take_along_axis(below, order, axis=1)[:, :, None]  # (S, D, A)
        # loops of one position add no digit: drop them (stably, the others keep their order)
        act = np.argsort(ends <= 1, axis=1, kind="stable")
        ends = np.take_along_axis(ends, act, axis=1)
        step = np.take_along_axis(step, act[:, :, None], axis=1)
        P = max(1, int((ends > 1).sum(axis=1).max(initial=0)))
        ends, step = ends[:, :P], step[:, :P]
        radix = np.cumprod(ends, axis=1) // ends
        bits = (np.arange(2 ** (P - 1))[:, None] >> np.arange(P - 1)[None, :]) & 1  # carries into digits 1..P-1
        c_in = np.concatenate([np.zeros((bits.shape[0], 1), np.int64), bits], axis=1)  # (M, P)
        c_out = np.concatenate([bits, np.zeros((bits.shape[0], 1), np.int64)], axis=1)
        num = np.prod(ends, axis=1)
        h, v = (int(x) for x in self.fanout[self.n_levels - 1 - j])
        cands, oks = [], []
        for s in ([1] if h > 1 else []) + ([h] if v > 1 else []):
            digit = (s // radix) % ends  # (S, P)
            into = digit[:, None, :] + c_in[None]  # (S, M, P): s_p + c_p
            # a pattern occurs for some child iff every digit allows it: a carry out needs s_p + c_p >= 1, none
            # needs s_p + c_p <= e_p - 1 (the top digit never carries: i + s stays below the children count)
            ok = np.where(c_out[None] == 1, into >= 1, into <= ends[:, None, :] - 1).all(axis=2) & (s < num)[:, None]
            coeff = into - ends[:, None, :] * c_out[None]
            cand = np.zeros((ends.shape[0], coeff.shape[1], C.shape[0]), np.int64)
            for p in range(P):
                cand += coeff[:, :, p, None] * step[:, None, p, :]
            cands += [cand, -cand]
            oks += [ok, ok]
        if not cands:
            return np.zeros((ends.shape[0], 0, C.shape[0]), np.int64), np.zeros((ends.shape[0], 0), bool)
        return np.concatenate(cands, axis=1), np.concatenate(oks, axis=1)

    def _link_boxes(self, t: int, j: int, sf: Array, sx: Array, sp_order: Array, below: Array, num: Array,
                    delta: Array, words: Array, weight: Array, hit: Array) -> tuple[Array, Array]:
        """The per-child comparisons of `_links` on the rows that can link: per invocation kind (columns of
        `delta`: previous new data's box minus this one's; `words`: new words per child; `weight`; `hit`: rows
        where a neighbour difference equals delta), the children whose new data a mesh neighbour had, and the
        link words and saved parent reads when the fan-out uses links."""
        B = sf.shape[0]
        rows = np.arange(B)
        zero = np.zeros(B, np.int64)
        C = self.coef_axes[t]
        A = C.shape[0]
        nmax = int(num.max())
        # children: mixed radix over the group's spatial loops (innermost loop least significant)
        order = sp_order[:, j]  # (B, D)
        ends = sf[rows[:, None], j, order]  # (B, D)
        radix = np.cumprod(ends, axis=1) // ends
        i = np.arange(nmax)
        idx = (i[None, :, None] // radix[:, None, :]) % ends[:, None, :]  # (B, n, D)
        step = C.T[order] * below[rows[:, None], order][:, :, None]  # (B, D, A)
        off = np.zeros((B, nmax, A), np.int64)  # (B, n, A); a sum over dims (einsum's int path is slow)
        for d in range(idx.shape[2]):
            off += idx[:, :, d, None] * step[:, None, d, :]
        valid = i[None, :] < num[:, None]
        # multicast classes: equal boxes, split by mesh position where the network cannot multicast
        x_prod = np.prod(np.where(sx[:, j] & (sf[:, j] > 1), sf[:, j], 1), axis=1)
        x_off, y_off = self.multicast_off[self.n_levels - 1 - j][t]
        key = np.zeros((B, nmax), np.int64)
        for a in range(A):
            key = key * (int(off[:, :, a].max()) + 1) + off[:, :, a]
        key = key * nmax + (i[None, :] % x_prod[:, None] if x_off else 0)
        key = key * nmax + (i[None, :] // x_prod[:, None] if y_off else 0)

        def distinct(mask: Array, key: Array = key) -> Array:
            k = np.sort(np.where(mask, key, -1), axis=1)
            first = np.ones_like(k, bool)
            first[:, 1:] = k[:, 1:] != k[:, :-1]
            return (first & (k >= 0)).sum(axis=1)

        cls_all = distinct(valid)
        h, v = (int(x) for x in self.fanout[self.n_levels - 1 - j])
        neighbours = []
        if h > 1:
            neighbours += [(-1, i % h >= 1), (1, (i % h <= h - 2))]
        if v > 1:
            neighbours += [(-h, i >= h), (h, np.ones(nmax, bool))]
        nb_diff = []
        for shift, ok in neighbours:
            jn = i + shift
            inside = ok[None, :] & (jn >= 0)[None, :] & (jn[None, :] < num[:, None]) & valid
            nb_diff.append((inside, off[:, np.clip(jn, 0, nmax - 1)] - off))
        # one integer per box difference (exact while the radix^axes stays in int64), compared once per kind
        span = 2 * max([int(np.abs(d).max(initial=0)) for _, d in nb_diff] + [int(np.abs(delta).max(initial=0))]) + 1
        packed = span ** A < 2**62
        weights = np.array([span**a for a in range(A)], np.int64) if packed else np.zeros(A, np.int64)
        if packed:
            nb_diff = [(inside, diff @ weights) for inside, diff in nb_diff]

        link, saved = zero.copy(), zero.copy()
        for c in range(delta.shape[1]):
            same = hit[:, c]
            if not same.any():
                continue
            linked = np.zeros((B, nmax), bool)
            for inside, diff in nb_diff:
                if packed:
                    linked |= inside & (diff == (delta[:, c] @ weights)[:, None])
                else:
                    linked |= inside & (diff == delta[:, c, None, :]).all(axis=2)
            linked &= same[:, None]
            # rows with no linked child keep every class (rest = cls_all): sort only the others
            some = linked.any(axis=1)
            rest = cls_all.copy()
            if some.any():
                rest[some] = distinct(valid[some] & ~linked[some], key[some])
            use = rest < cls_all
            link += np.where(use, linked.sum(axis=1) * words[:, c] * weight[:, c], 0)
            saved += np.where(use, (cls_all - rest) * words[:, c] * weight[:, c], 0)
        return link, saved

    def _moves(self, tf: Array, perm: Array, cum_sp: list[Array], mac_fan: bool) -> list[_Moves | None]:
        """The binary counter of the temporal loops above each inner level j (those of levels j and above,
        innermost first; None where no row has one; at j = 0 only for a MAC fan-out): tau_k, the shift of a move
        whose lowest advancing loop is k (loop k steps by u_k, the loops inside it wrap: tau_k = u_k -
        sum_(i<k) u_i), per problem dimension, and the products of the trip counts from k out. Shared by every
        tensor (see `_Moves`). Loops of one trip move nothing and are left out; the loops above level j are a
        suffix of those above level 0, so the shifts come from one running sum over all of them (the sum below
        level j subtracted) and each level's counter is a gather. Columns past a row's last loop have one trip
        (weight 0 in every count). Scans run as loops over the few moves, each step on whole batch rows."""
        B, L, D = tf.shape
        # (B, L, D) flat positions of each level's loops in loop order, and their trip counts
        pos = (np.arange(B * L) * D).reshape(B, L, 1) + perm
        loop_n = tf.reshape(-1)[pos]
        active = loop_n > 1
        per_level = active.sum(axis=2)  # (B, L)
        total = per_level.sum(axis=1)
        K = int(total.max(initial=0))
        # every active loop, inner levels first, in loop order: (K + 1, B) flat, column K a pad (one trip, no step)
        r, c = np.nonzero(active.reshape(B, L * D))
        at = (np.arange(r.size) - np.concatenate([[0], np.cumsum(total)[:-1]])[r]) * B + r  # flat (k, b)
        src = pos.reshape(B, L * D)[r, c]
        ns, ds, vs = np.ones((K + 1) * B, np.int64), np.zeros((K + 1) * B, np.int64), np.zeros((K + 1) * B, np.int64)
        ns[at] = tf.reshape(-1)[src]
        ds[at] = perm.reshape(B, L * D)[r, c]
        vs[at] = np.stack(cum_sp, axis=1).reshape(-1)[src]  # each loop's step on its dim
        suffix = np.ones((K + 2, B), np.int64)
        for k in range(K, -1, -1):
            np.multiply(suffix[k + 1], ns[k * B:(k + 1) * B], out=suffix[k])
        start = np.zeros((B, L), np.int64)  # each row's first column of level j's loops
        np.cumsum(per_level[:, :-1], axis=1, out=start[:, 1:])
        rows = np.arange(B)
        out: list[_Moves | None] = []
        for j in range(L):
            k_j = int((total - start[:, j]).max(initial=0))
            if not k_j or not (j or mac_fan):
                out.append(None)
                continue
            flat = (np.minimum(start[None, :, j] + np.arange(k_j)[:, None], K) * B + rows).reshape(-1)
            # (k_j, D + 1, B): loop k's step on its dim, then its shift tau_k = 2 u_k - (u_0 + ... + u_k), in
            # place (the scan runs on contiguous (D + 1, B) planes); plane D stays 0 (the shift of an axis with
            # no dimension, `_walks`), then laid out (D + 1, k_j, B) for the walks
            u = self._scratch("u", (k_j, D + 1, B))  # the scan's work array, one for every level
            u.fill(0)
            slot = (np.arange(k_j)[:, None] * ((D + 1) * B) + rows).reshape(-1)  # flat (k, 0, b)
            u.reshape(-1)[slot + ds[flat] * B] = vs[flat]
            if B <= SMALL_BATCH:  # few rows: one (strided) scan call beats a call per move
                u[:] = 2 * u - np.cumsum(u, axis=0)
            else:
                run = np.zeros((D + 1, B), np.int64)
                for k in range(k_j):
                    run += u[k]
                    u[k] *= 2
                    u[k] -= run
            tau = self._scratch(f"tau{j}", (D + 1, k_j, B))  # lives as long as this evaluation's walks
            np.copyto(tau, u.transpose(1, 0, 2))
            sfx = np.ones((k_j + 1, B), np.int64)
            sfx[:k_j] = suffix.reshape(-1)[flat].reshape(k_j, B)
            ns_j = ns[flat].reshape(k_j, B)
            out.append(_Moves(ns_j, tau, sfx, (ns_j - 1) * sfx[1:]))
        return out

    def result(self, fr: FastResult, b: int) -> Result:
        """Row b of a fast result as a Result (the costing stage builds it, as for the exact model)."""
        return self.costing.result(fr, b, self.nest)


# odd 63-bit multipliers for `distinct_rows`' hash (fixed: the grouping, not the numbers, depends on them)
_ROW_HASH = np.random.default_rng(20261202).integers(1, 2**62, size=4096, dtype=np.int64) | 1


_WORK = threading.local()  # `FastModel._scratch`'s arrays, per thread


def work_arrays() -> dict[str, Array]:
    """This thread's work arrays of the fast model, by name: they stay allocated for the thread (tens of MiB after
    a network's search); `.clear()` releases them, tests fill them with garbage between calls."""
    return _WORK.__dict__


def distinct_rows(m: MappingArrays) -> tuple[Array, Array]:
    """The distinct mappings of a batch: (a first row of each, each row's index among them), exact (every
    array of the row compared)."""
    cols = [m.temporal, m.spatial, m.spatial_x, m.permutation, m.keep]
    if m.spatial_order is not None:
        cols.append(m.spatial_order)
    if m.temporal_residual is not None:
        cols.append(m.temporal_residual)
    every = np.arange(m.size)
    widths = [math.prod(c.shape[1:]) for c in cols]
    if not m.size or sum(widths) > _ROW_HASH.size:
        return every, every
    # rows grouped by a 64-bit hash (wrapping products), one array at a time (no copy of the whole batch)
    h = np.zeros(m.size, np.int64)
    start = 0
    for c, w in zip(cols, widths):
        h += c.reshape(m.size, -1).astype(np.int64, copy=False) @ _ROW_HASH[start:start + w]
        start += w
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if first.size == m.size:  # distinct hashes: distinct rows
        return first, inverse
    # rows that share a hash are checked word by word against their group's first row: a collision (rows that
    # hash alike but differ) keeps every row, so the grouping is exact
    dup = np.flatnonzero(first[inverse] != every)
    ref = first[inverse[dup]]
    if not all(np.array_equal(c[dup], c[ref]) for c in cols):
        return every, every
    return first, inverse


def _expand(fr: FastResult, inverse: Array) -> FastResult:
    """A result of the distinct rows back to the batch's rows (row b is distinct row inverse[b])."""
    return replace(fr, **{f.name: getattr(fr, f.name)[inverse] for f in fields(fr)
                          if isinstance(getattr(fr, f.name), np.ndarray)})


def _combine(terms: list[tuple[int, int]], planes: Array | dict[int, Array]) -> Array:
    """sum of c x planes[d] over an axis's (c, d) terms (a tensor axis's position from the dimensions'); planes:
    an array or the planes the terms name."""
    (c, d), *rest = terms
    out = planes[d] * c if c != 1 else planes[d].copy()
    for c2, d2 in rest:
        out += planes[d2] * c2 if c2 != 1 else planes[d2]
    return out


def _round(x: Array) -> Array:
    """floor(x + 0.5): how the walk (tiling.py) rounds its float counts, negative ones included."""
    return np.floor(x + 0.5).astype(np.int64)


def _configurations(sf: Array, order: Array, below: Array) -> tuple[Array, Array]:
    """Rows with the same spatial loops (factors > 1, their order and steps): (a first row of each configuration,
    each row's configuration number). The columns are packed into one integer when that fits in int64."""
    used = sf > 1
    pos = np.zeros_like(order)
    np.put_along_axis(pos, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    cols = np.concatenate([np.where(used, sf, 1), np.where(used, below, 0), np.where(used, pos, 0)], axis=1)
    low = cols.min(axis=0)
    radix = cols.max(axis=0, initial=0) - low + 1
    if math.prod(int(r) for r in radix) < 2**62:
        scale = np.cumprod(np.concatenate([[1], radix[:-1]]))
        _, first, config = np.unique((cols - low) @ scale, return_index=True, return_inverse=True)
    else:
        _, first, config = np.unique(cols, axis=0, return_index=True, return_inverse=True)
    return first, config.reshape(-1)


def _reachable(C: Array, sf_j: Array, below: Array, delta: Array | list[Array], batch_last: bool = False,
               tensor: Array | None = None) -> Array:
    """(rows, kinds): whether box difference delta[r, c] could be the offset difference of two children of the
    fan-out at all. Children offsets are sum_d i_d w_d (i_d < sf_d, w_d = C[:, d] x below_d >= 0), so a difference
    lies within sum_d (sf_d - 1) w_d on each axis and is a multiple there of the gcd of the used loops' w_d: a
    superset of `_link_candidates`, computed without carry patterns. `batch_last`: delta is given per axis as
    (kinds, rows) arrays and the answer is (kinds, rows). `tensor`: each row's tensor, C then holds every
    tensor's coefficients (T, A, D)."""
    def coefs(rows: Array) -> Array:  # (rows, A, D) the coefficients of each row's tensor
        return C[None] if tensor is None else C[tensor[rows]]

    reach = (sf_j - 1) * below  # (rows, D): span = C . reach per axis
    span = reach @ C.T if tensor is None else np.matmul(C[tensor], reach[:, :, None])[..., 0]  # (rows, A)
    if batch_last:
        axes, lim = list(delta), span.T
    else:
        assert isinstance(delta, np.ndarray)
        axes, lim = [delta[:, :, a] for a in range(delta.shape[2])], span.T[:, :, None]
    if not axes:
        return np.ones(delta.shape[:2], bool)  # type: ignore[union-attr]
    ok = np.ones(axes[0].shape, bool)
    for a, d in enumerate(axes):
        ok &= np.abs(d) <= lim[a]
    # the lattice test on the rows still in (the gcd is the costly part)
    live = np.flatnonzero(ok.any(axis=0 if batch_last else 1))
    if live.size:
        used = (sf_j[live] > 1)[:, None, :]
        w = coefs(live) * below[live][:, None, :]  # (live, A, D) each loop's step on each axis
        g = np.maximum(np.gcd.reduce(np.where(used, w, 0), axis=2), 1)  # no loop on an axis: span 0 forces 0
        for a, d in enumerate(axes):
            if batch_last:
                ok[:, live] &= d[:, live] % g[:, a] == 0
            else:
                ok[live] &= d[live] % g[:, a, None] == 0
    return ok


def _contains(cand: Array, occurs: Array, config: Array, delta: Array) -> Array:
    """(rows, kinds): whether row r's box difference delta[r, c] (A axes) is one of the candidates
    cand[config[r], m] that occur (occurs[config[r], m]); candidates are given per configuration."""
    A = delta.shape[2]
    big = max(int(np.abs(cand).max(initial=0)), int(np.abs(delta).max(initial=0)))
    span = 2 * big + 1
    if span**A >= 2**62:
        equal = (delta[:, :, None, :] == cand[config][:, None, :, :]).all(axis=3) & occurs[config][:, None, :]
        return equal.any(axis=2)
    # one integer per vector (exact: every component lies in [-big, big]); per configuration the distinct
    # candidates that occur, the rest set to a value no vector packs to
    w = np.array([span**a for a in range(A)], np.int64)
    none = np.iinfo(np.int64).min
    packed = np.sort(np.where(occurs, cand @ w, none), axis=1)
    packed[:, 1:] = np.where(packed[:, 1:] == packed[:, :-1], none, packed[:, 1:])
    packed = np.sort(packed, axis=1)
    width = int((packed != none).sum(axis=1).max(initial=0))
    packed = packed[:, packed.shape[1] - width:]
    return ((delta @ w)[:, :, None] == packed[config][:, None, :]).any(axis=2)


def _new_data(tv: Array, ext: Array, tile: Array) -> tuple[Array, Array, Array, Array, Array]:
    """Subtracted moves (they repeat the remembered step) by tv (A, N: the shift per tensor axis) of tiles with
    extents ext (A, N) and `tile` words (N,): what Timeloop's delta is — (kind 0 empty / 1 slab / 2 whole tile,
    axis, |step|, low corner of the box relative to the tile's on that axis, words), each (N,). A slab when the
    move shifts one axis by less than the tile's extent there, nothing when it does not move, else the whole
    tile (AAHR Subtract). The slab's axis, step and extent are sums over the axes, exact where one axis moves
    (the only rows that read them)."""
    moved = tv != 0
    nnz = moved.sum(axis=0)
    ta = np.abs(tv).sum(axis=0)
    ea = (moved * ext).sum(axis=0)
    slab = (nnz == 1) & (ta < ea)
    empty = nnz == 0
    kind = np.where(empty, 0, np.where(slab, 1, 2))
    axis = np.where(slab, (moved * np.arange(tv.shape[0])[:, None]).sum(axis=0), 0)
    low = np.where(slab & (ta > 0), ea - ta, 0)
    words = np.where(slab, tile // np.maximum(ea, 1) * ta, np.where(empty, 0, tile))
    return kind, axis, np.where(slab, ta, 0), low, words


# the imperfect path's simulated iterations (a level's blocks and outer sequence): at most this many per row
# (else a clear error: its arrays take about 100 bytes per iteration and dimension), and per chunk of rows
IMPERFECT_ITERATIONS = 1 << 20
IMPERFECT_CHUNK = 1 << 18
SMALL_BATCH = 64  # rows up to which `_moves` scans with np.cumsum (a strided scan; a loop over moves above)
SPLIT: int | None = None  # tests: force the inner block's loop count (None: the cheapest split)


def _inner_first(m: MappingArrays) -> tuple[Array, Array, Array, Array, Array, Array]:
    """The batch's temporal and spatial factors, permutations, mesh axes, keep flags and spatial orders with
    levels inner-first (j = 0 is the level next to the MACs), as both counters walk them."""
    return (m.temporal[:, ::-1].astype(np.int64), m.spatial[:, ::-1].astype(np.int64), m.permutation[:, ::-1],
            m.spatial_x[:, ::-1], m.keep[:, ::-1], m.spatial_orders()[:, ::-1])


def _merge_counts(parts: list[tuple[Array, Counts]], size: int) -> Counts:
    """Counts of row subsets (each with the batch rows it holds) back into one batch in row order."""
    out = {}
    for f in fields(Counts):
        first = getattr(parts[0][1], f.name)
        whole = np.zeros((size,) + first.shape[1:], first.dtype)
        for rows, c in parts:
            whole[rows] = getattr(c, f.name)
        out[f.name] = whole
    return Counts(**out)


def _enumerate(ds: Array, ns: Array, rs: Array, vs: Array, last0: Array,
               adjacent: Array) -> tuple[Array, Array, Array, Array, Array]:
    """The walk's simulated iterations of loops (R, K) (dims, trip counts, residual trip counts, steps on their
    dim; innermost first) as a mixed-radix counter of slots, outer loops most significant: a loop with t trips
    runs its slots as iterations 0, 1 (standing for 1 .. t - 3), t - 2, t - 1 (fewer when t < 4), and t is its
    residual when every loop of its dim outside it is final (`last0` (R, D): the dims final outside them all).
    Returns, valid iterations first and in order: low corner per dim (R, N, D), which dims are final at every
    loop (R, N, D), weight (R, N: the iterations each stands for), accounted weight (where `adjacent`, the first
    loop is next to the child: iteration 1 also stands for t - 2, Timeloop 3) and valid (R, N)."""
    R, K = ns.shape
    D = last0.shape[1]
    slots = np.minimum(ns, 4)
    radix = np.cumprod(slots, axis=1) // np.maximum(slots, 1)
    total = np.prod(slots, axis=1)
    N = int(total.max(initial=1))
    i = np.arange(N)
    valid = np.broadcast_to(i[None, :] < total[:, None], (R, N)).copy()
    last = np.repeat(last0[:, None, :], N, axis=1)
    low = np.zeros((R, N, D), np.int64)
    weight = np.ones((R, N), np.int64)
    acct = np.ones((R, N), np.int64)
    r2, i2 = np.arange(R)[:, None], i[None, :]
    for k in range(K - 1, -1, -1):
        d = ds[:, k, None]
        final = last[r2, i2, d]
        trips = np.where(final, rs[:, k, None], ns[:, k, None])
        s = (i2 // radix[:, k, None]) % slots[:, k, None]
        valid &= s < np.minimum(trips, 4)
        big = trips >= 4
        idx = np.where(big & (s >= 2), trips - 4 + s, s)
        w = np.where(big & (s == 1), trips - 3, 1)
        weight *= w
        if k == 0:
            w = np.where(adjacent[:, None] & big, np.where(s == 1, trips - 2, np.where(s == 2, 0, 1)), w)
        acct *= w
        last[r2, i2, d] = final & (idx == trips - 1)
        low[r2, i2, d] += idx * vs[:, k, None]
    o = np.argsort(~valid, axis=1, kind="stable")[:, :int(valid.sum(axis=1).max(initial=1))]
    v = np.take_along_axis(valid, o, axis=1)
    return (np.take_along_axis(low, o[:, :, None], axis=1), np.take_along_axis(last, o[:, :, None], axis=1),
            np.take_along_axis(weight, o, axis=1) * v, np.take_along_axis(acct, o, axis=1) * v, v)


def _moves_of(low: Array, ext: Array, valid: Array) -> dict[str, Array]:
    """The moves between consecutive boxes of each row's sequence (position m: from box m - 1 to box m;
    position 0 none): whether the box changes (`moved`) and its translation `t` (low corner difference)."""
    R, N, A = low.shape
    moved = np.zeros((R, N), bool)
    t = np.zeros((R, N, A), np.int64)
    if N > 1:
        same = (low[:, 1:] == low[:, :-1]).all(axis=2) & (ext[:, 1:] == ext[:, :-1]).all(axis=2)
        moved[:, 1:] = ~same & valid[:, 1:]
        t[:, 1:] = low[:, 1:] - low[:, :-1]
    return {"moved": moved, "t": t}


def _subtracted(lo: Array, hi: Array, slo: Array, shi: Array, sub: Array,
                tile: Array) -> tuple[Array, Array, Array]:
    """AAHR Subtract of box s from box a ((..., A) corners) where `sub`, else all of a: (words, new data's low
    corner, extent). Exact when the boxes overlap and differ on one axis, else the whole box."""
    disjoint = ((shi <= lo) | (slo >= hi)).any(axis=-1)
    differs = (lo != slo) | (hi != shi)
    one = ~disjoint & (differs.sum(axis=-1) == 1)
    ax = np.argmax(differs, axis=-1)[..., None]
    lo_a, hi_a = np.take_along_axis(lo, ax, axis=-1)[..., 0], np.take_along_axis(hi, ax, axis=-1)[..., 0]
    slo_a, shi_a = np.take_along_axis(slo, ax, axis=-1)[..., 0], np.take_along_axis(shi, ax, axis=-1)[..., 0]
    below = slo_a <= lo_a
    inside = shi_a <= hi_a
    new_lo = np.where(below & inside, shi_a, lo_a)
    new_hi = np.where(below, np.where(inside, hi_a, lo_a), slo_a)
    slab = sub & one
    words = np.where(slab, tile // np.maximum(hi_a - lo_a, 1) * (new_hi - new_lo), tile)
    on = (np.arange(lo.shape[-1]) == ax) & slab[..., None]
    return words, np.where(on, new_lo[..., None], lo), np.where(on, (new_hi - new_lo)[..., None], hi - lo)


def _seq_new_data(low: Array, ext: Array, valid: Array, moves: dict[str, Array], first: Array | None,
                  points: bool) -> tuple[Array, Array, Array, Array]:
    """Timeloop's delta rule (DeltaState.advance with the imperfect walk's `_advance_or_stay`) over each row's
    sequence of boxes (low corners and extents (R, N, A), `valid` (R, N) a prefix, `moves` from `_moves_of`):
    (new words (R, N), the new data's low corner and extent (R, N, A), whether each move was subtracted).
    Position 0's new data is the whole box; `first` (R,): the status of the first box-changing move, given
    (None: the sequence starts the walk, nothing remembered). `points`: every box is new (no delta state).

    A box equal to the previous one brings nothing; it keeps a remembered non-zero step and turns a forgotten
    one into zero. Any other move is subtracted (a slab) when the remembered step is unset or equals its
    translation t, else the whole box is new and the step is forgotten. Over the moves that change the box this
    is a chain sub(m) = sub(q) ? [t_q = t_m] : [no equal box between, or t_m = 0] (q the previous such move):
    each move maps the previous state to a constant, itself or its negation, so the chain is solved by a scan
    (the last constant, then the parity of negations since)."""
    R, N, A = low.shape
    tile = np.prod(ext, axis=2)
    moved, t = moves["moved"], moves["t"]
    sub = np.zeros((R, N), bool)
    if points or N == 1:
        return np.where(valid, tile, 0), low, ext, sub
    pos = np.arange(N)
    last_moved = np.maximum.accumulate(np.where(moved, pos[None, :], 0), axis=1)
    q = np.concatenate([np.zeros((R, 1), np.int64), last_moved[:, :-1]], axis=1)  # previous move (0: first box)
    tq = np.take_along_axis(t, q[:, :, None], axis=1)
    e1 = (tq == t).all(axis=2)
    e2 = (q == pos[None, :] - 1) | (t == 0).all(axis=2)
    const = moved & (e1 == e2)
    value = e1.copy()
    const[:, 0], value[:, 0] = True, False
    if first is not None:  # the first move's status is given: a constant there
        m1 = np.argmax(moved, axis=1)
        has = moved.any(axis=1)
        rr = np.flatnonzero(has)
        const[rr, m1[rr]] = True
        value[rr, m1[rr]] = first[rr]
    negate = (moved & ~const & ~e1 & e2).astype(np.int64)
    anchor = np.maximum.accumulate(np.where(const, pos[None, :], 0), axis=1)
    flips = np.cumsum(negate, axis=1)
    sub = ((np.take_along_axis(value, anchor, axis=1)
            ^ ((flips - np.take_along_axis(flips, anchor, axis=1)) % 2 == 1)) & moved)
    lo, hi = low[:, 1:], low[:, 1:] + ext[:, 1:]
    slo, shi = low[:, :-1], low[:, :-1] + ext[:, :-1]
    w, nl, ne = _subtracted(lo, hi, slo, shi, sub[:, 1:], tile[:, 1:])
    words = np.where(valid, tile, 0)
    words[:, 1:] = np.where(moved[:, 1:], w, 0)
    nlow, next_ = low.copy(), ext.copy()
    nlow[:, 1:], next_[:, 1:] = nl, ne
    return words, nlow, next_, sub
