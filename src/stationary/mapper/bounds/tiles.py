"""Single-level tilings of a loop nest, scored vectorized over every tile class, perfect or imperfect.

A single-level tiling keeps a tile (extent e_d per dimension) in a buffer and runs one outer loop per dimension
(N_d = ceil(bound_d / e_d) trips) in some order; when e_d does not divide the bound (a Timeloop 3 remainder,
docs/counting-rules.md §9) the last tile along d is narrower. Tiles are enumerated as *classes*, one per
distinct N_d, represented by the smallest extent with that N_d, ceil(bound_d / N_d) (every divisor is one):
it fits wherever any extent of its class fits, and the traffic is scored at the mean width bound_d / N_d,
which no tiling of the class goes below (docs/bounds.md §1). For tensor t, with r the
innermost outer loop that indexes t (trip count > 1; loops inside r do not index t and leave its tile in
place), the words delivered into the buffer over the run are

    D_t = (product of N_d over the loops outside r) x (T_t + (N_r - 1) x slab_t(r))

where T_t is the tile's footprint (a box, as the model counts it) and slab_t(r) is the new part of the
tile when r moves it: the whole tile, unless r slides a window along an axis it shares with another
dimension (an input row `stride*P + dilation*R`), where the halo stays. This is the model's closed form
(model/fast.py) without its zero-step rule (which only adds traffic), so it is a lower bound on what the
model counts for any mapping with that tile (docs/bounds.md).

Only the innermost loops up to each tensor's first indexing loop change D_t, so orders are enumerated as
*prefixes* (distinct dims until every tensor has met an indexing dim): a few dozen instead of D! orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stationary.mapper.space import divisors
from stationary.workload.loopnest import LoopNest

#: Tile classes scored per NumPy chunk (keeps memory bounded on layers with many tiles).
CHUNK = 32_768


@dataclass(frozen=True)
class Prefix:
    """One class of loop orders: per tensor, its first indexing dim r (-1: none) and the dims inside it."""

    first: tuple[int, ...]  # per tensor: dim index of r, or -1 when no outer loop indexes the tensor
    free: tuple[frozenset[int], ...]  # per tensor: dims placed inside r (not indexing the tensor)


def order_prefixes(relevant: np.ndarray, active: list[int]) -> list[Prefix]:
    """The distinct (first indexing dim, dims inside it) assignments over the orders of `active` dims, less
    the dominated ones: a prefix whose every tensor has the same first dim as another's and a subset of its
    dims inside never delivers fewer words (more dims inside the first indexing loop only divide the outer
    trips), so the minimum over the rest is the minimum over all.

    `relevant[t, d]` says whether tensor t is indexed by dim d."""
    n_t = relevant.shape[0]
    out: dict[tuple, Prefix] = {}

    def walk(prefix: list[int], first: list[int]) -> None:
        pending = [t for t in range(n_t) if first[t] == -1 and relevant[t, active].any()]
        unused = [d for d in active if d not in prefix]
        if not pending or not unused:
            free = tuple(frozenset(prefix[:prefix.index(first[t])]) if first[t] >= 0 else frozenset(prefix)
                         for t in range(n_t))
            key = (tuple(first), free)
            out.setdefault(key, Prefix(tuple(first), free))
            return
        for d in unused:
            nxt = [d if (f == -1 and relevant[t, d]) else f for t, f in enumerate(first)]
            walk(prefix + [d], nxt)

    walk([], [-1] * n_t)
    found = list(out.values())

    def below(p: Prefix, q: Prefix) -> bool:  # q delivers at most p's words for every tensor and tile
        return p is not q and p.first == q.first and all(
            f == -1 or a <= b for f, a, b in zip(p.first, p.free, q.free))

    return [p for p in found if not any(below(p, q) for q in found)]


def tile_classes(bound: int) -> tuple[int, ...]:
    """The extents ceil(bound / N), ascending, for every trip count N some extent gives (N = ceil(bound / e)):
    one representative per class, the smallest, so every divisor of `bound` is one."""
    return tuple(sorted({-(-bound // n) for n in range(1, bound + 1)}))


def trips(bounds: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """Trip counts ceil(bound / e) of the outer loops, per tile and dim (the last tile partial)."""
    return -(-bounds[None, :] // ext)


def narrowest(bounds: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The narrowest width any tile of class n (n trips) can have: the last tile of the widest extent,
    bound - (n - 1) x floor((bound - 1) / (n - 1)); the bound itself when n = 1."""
    b = np.broadcast_to(bounds[None, :], n.shape)
    widest = np.where(n > 1, (b - 1) // np.maximum(n - 1, 1), b)
    return np.where(n > 1, b - (n - 1) * widest, b)


def whole_words(x: float | np.ndarray) -> np.ndarray:
    """The least whole number of words at least `x`, a lower bound on a word count scored in floats (mean
    widths make it fractional): ceil, less a relative 1e-9 so that float rounding never lifts it a word."""
    x = np.asarray(x, float)
    return np.ceil(x - 1e-9 * np.maximum(1.0, np.abs(x))).astype(np.int64)


class TileTraffic:
    """Footprints and minimum delivered words of every tile class of one loop nest (`per_dim`: each dim's class
    representatives, ascending; the divisors among them are the perfect tilings). `imperfect=False` scores the
    divisor tiles alone, each at its own width: a bound of the perfect map space only (the mappers' default
    space), several times fewer tiles on layers with awkward sizes."""

    def __init__(self, nest: LoopNest, imperfect: bool = True) -> None:
        self.nest = nest
        self.imperfect = imperfect
        self.dims = nest.dims
        index = {d: k for k, d in enumerate(self.dims)}
        self.bounds = np.array([nest.bounds[d] for d in self.dims], np.int64)
        self.axes = [[[(c, index[d]) for c, d in axis] for axis in t.axes] for t in nest.tensors]
        self.relevant = np.zeros((len(nest.tensors), len(self.dims)), bool)
        for t, axes in enumerate(self.axes):
            for axis in axes:
                for _, d in axis:
                    self.relevant[t, d] = True
        self.read_write = [t.read_write for t in nest.tensors]
        active = [k for k, b in enumerate(self.bounds) if b > 1]
        # per tensor: no tile's box holds a stride gap (each axis at most two active dims, with unit
        # coefficients), so any union of its boxes has as many words as distinct elements
        self.gapless = [all(len(terms) <= 2 and all(c == 1 for c, _ in terms)
                            for axis in axes for terms in [[(c, d) for c, d in axis if c > 0 and d in active]])
                        for axes in self.axes]
        # per tensor whose every axis has at most one active dim: the axes with unit coefficients, whose
        # boxes count exactly the distinct elements of the true boxes (stride gaps skipped); else None
        self.spread = [None if any(sum(c > 0 and d in active for c, d in axis) > 1 for axis in axes) else
                       [[(min(c, 1), d) for c, d in axis] for axis in axes] for axes in self.axes]
        self.prefixes = order_prefixes(self.relevant, active)
        self.per_dim = [list(tile_classes(int(b)) if imperfect else divisors(int(b))) for b in self.bounds]
        self.n_tiles = math.prod(len(x) for x in self.per_dim)

    def _narrowest(self, n: np.ndarray, ext: np.ndarray) -> np.ndarray:
        """The narrowest width a tile of each row's class can have (`narrowest`); a divisor tile's own extent
        when only perfect tilings are bounded."""
        return narrowest(self.bounds, n) if self.imperfect else ext

    def tile_chunks(self) -> list[np.ndarray]:
        """Every tile class as (n, D) representative extents, in chunks of at most CHUNK rows, in grid order
        (the last dim fastest, as itertools.product)."""
        classes = [np.array(x, np.int64) for x in self.per_dim]
        shape = tuple(len(x) for x in classes)
        chunks = []
        for start in range(0, self.n_tiles, CHUNK):
            idx = np.unravel_index(np.arange(start, min(start + CHUNK, self.n_tiles)), shape)
            chunks.append(np.stack([c[i] for c, i in zip(classes, idx)], axis=1).reshape(-1, len(shape)))
        return chunks

    def footprint(self, t: int, ext: np.ndarray, axes: list[list[tuple[int, int]]] | None = None) -> np.ndarray:
        """Words of tensor t's tile (a box over its axes, gaps of strides included, as the model counts; over
        `axes` when given); of float extents (mean widths), the affine formula at them."""
        size = np.ones(ext.shape[0], ext.dtype)
        for axis in self.axes[t] if axes is None else axes:
            size = size * (1 + sum(c * (ext[:, d] - 1) for c, d in axis))
        return size

    def mean_distinct(self, t: int, ext: np.ndarray) -> np.ndarray:
        """A lower bound on the mean, over the trips of the outer loops, of the distinct words of tensor t's
        tile, for the classes of representatives `ext`: axes of one dim (linear) and of three or more (their
        maximum, convex) at the mean widths, axes of two dims (neither) at the narrowest widths."""
        n = trips(self.bounds, ext)
        mean = self.bounds[None, :] / n
        low = self._narrowest(n, ext)
        size = np.ones(ext.shape[0])
        for axis in self.axes[t]:
            terms = [(c, d) for c, d in axis if c > 0]
            size = size * self._distinct_axis(terms, low if len(terms) == 2 else mean)
        return size

    def distinct_footprint(self, t: int, ext: np.ndarray) -> np.ndarray:
        """A lower bound on the distinct words of tensor t's tile (exact for axes of one or two dims): what a
        union of smaller tiles spread over several instances occupies at least."""
        size = np.ones(ext.shape[0], np.int64)
        for axis in self.axes[t]:
            size = size * self._distinct_axis([(c, d) for c, d in axis if c > 0], ext)
        return size

    @staticmethod
    def _distinct_axis(terms: list[tuple[int, int]], ext: np.ndarray) -> np.ndarray | int:
        """A lower bound on the distinct values of one axis (sum of c x index over `terms`) over the tile."""
        if len(terms) == 1:
            return ext[:, terms[0][1]]
        if len(terms) == 2:
            (c1, d1), (c2, d2) = terms
            g = math.gcd(c1, c2)
            a, b = c1 // g, c2 // g
            n1, n2 = ext[:, d1], ext[:, d2]
            return n1 * n2 - np.maximum(0, n1 - b) * np.maximum(0, n2 - a)
        if terms:
            return np.max(np.stack([ext[:, d] for _, d in terms]), axis=0)
        return 1

    def delivered(self, ext: np.ndarray, distinct: bool = False) -> np.ndarray:
        """D[p, t]: words of tensor t delivered to the tile under order prefix p, per tile class (float64; for a
        divisor tile whose halo term is exact, the count itself). The formula at the class's mean widths
        bound / N: the least any tiling of the class delivers (docs/bounds.md §1). `distinct`: the distinct
        elements instead of the boxes, for the tensors with `spread` axes (0 for the others), what any union of
        smaller boxes inside the tile brings at least. Prefixes share their (first dim, dims inside) per
        tensor: each is computed once."""
        n = trips(self.bounds, ext)
        mean = self.bounds[None, :] / n
        low = self._narrowest(n, ext)
        total = np.prod(n, axis=1)
        axes = [self.spread[t] if distinct else self.axes[t] for t in range(len(self.axes))]
        none = np.zeros(ext.shape[0])
        tiles = [none if a is None else self.footprint(t, mean, a) for t, a in enumerate(axes)]
        slabs = [np.zeros((ext.shape[0], len(self.dims))) if a is None else self._slabs(t, mean, low, tiles[t], a)
                 for t, a in enumerate(axes)]
        memo: dict[tuple[int, int, frozenset[int]], np.ndarray] = {}
        out = []
        for p in self.prefixes:
            row = []
            for t, (r, free) in enumerate(zip(p.first, p.free)):
                key = (t, r, free if r >= 0 else frozenset())
                if key not in memo:
                    if r < 0:
                        memo[key] = tiles[t].astype(float)
                    else:
                        inside = np.prod(n[:, sorted(free)], axis=1) if free else 1
                        outer = total // (inside * n[:, r])
                        memo[key] = (outer * (tiles[t] + (n[:, r] - 1) * slabs[t][:, r])).astype(float)
                row.append(memo[key])
            out.append(row)
        return np.array(out, float).reshape(len(self.prefixes), len(self.axes), ext.shape[0])

    def _slabs(self, t: int, mean: np.ndarray, low: np.ndarray, tile: np.ndarray,
               axes: list[list[tuple[int, int]]]) -> np.ndarray:
        """(n, D): the new words when dim d's loop moves tensor t's tile (mean widths) by one step: along an
        axis c·d + rest, c·(e_d - 1) + min(c, window of rest) per step, the window taken at the narrowest
        widths (min is concave: its mean over unequal tiles is at least its value there, not at the mean)."""
        slab = np.repeat(tile[:, None], len(self.dims), axis=1)
        uses = [sum(d == k for axis in axes for _, k in axis) for d in range(len(self.dims))]
        for axis in axes:
            axis_ext = 1 + sum(c * (mean[:, d] - 1) for c, d in axis)
            for c, d in axis:
                if uses[d] == 1 and c > 0:  # a dim on several axes moves the box diagonally: no halo kept
                    window = 1 + sum(c2 * (low[:, d2] - 1) for c2, d2 in axis if d2 != d)
                    slab[:, d] = tile / axis_ext * (c * (mean[:, d] - 1) + np.minimum(c, window))
        return slab
