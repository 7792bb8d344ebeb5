"""Single-level tilings of a loop nest, scored exactly and vectorized over every divisor tile shape.

A single-level tiling keeps a tile (extent e_d per dimension, e_d dividing the bound) in a buffer and runs
one outer loop per dimension (trip count N_d = bound_d / e_d) in some order. For tensor t, with r the
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

import itertools
import math
from dataclasses import dataclass

import numpy as np

from stationary.mapper.space import divisors
from stationary.workload.loopnest import LoopNest

#: Tile shapes scored per NumPy chunk (keeps memory bounded on layers with many divisor tiles).
CHUNK = 65_536


@dataclass(frozen=True)
class Prefix:
    """One class of loop orders: per tensor, its first indexing dim r (-1: none) and the dims inside it."""

    first: tuple[int, ...]  # per tensor: dim index of r, or -1 when no outer loop indexes the tensor
    free: tuple[frozenset[int], ...]  # per tensor: dims placed inside r (not indexing the tensor)


def order_prefixes(relevant: np.ndarray, active: list[int]) -> list[Prefix]:
    """Every distinct (first indexing dim, dims inside it) assignment over the orders of `active` dims.

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
    return list(out.values())


class TileTraffic:
    """Footprints and minimum delivered words of every divisor tile shape of one loop nest."""

    def __init__(self, nest: LoopNest) -> None:
        self.nest = nest
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
        self.prefixes = order_prefixes(self.relevant, active)
        self.per_dim = [list(divisors(int(b))) for b in self.bounds]
        self.n_tiles = math.prod(len(x) for x in self.per_dim)

    def tile_chunks(self) -> list[np.ndarray]:
        """All divisor tile shapes as (n, D) extents, in chunks of at most CHUNK rows."""
        grids = list(itertools.product(*self.per_dim)) if self.n_tiles <= CHUNK else None
        if grids is not None:
            return [np.array(grids, np.int64).reshape(-1, len(self.dims))]
        chunks: list[np.ndarray] = []
        it = itertools.product(*self.per_dim)
        while True:
            block = list(itertools.islice(it, CHUNK))
            if not block:
                return chunks
            chunks.append(np.array(block, np.int64))

    def footprint(self, t: int, ext: np.ndarray) -> np.ndarray:
        """Words of tensor t's tile (a box over its axes, gaps of strides included, as the model counts)."""
        size = np.ones(ext.shape[0], np.int64)
        for axis in self.axes[t]:
            size = size * (1 + sum(c * (ext[:, d] - 1) for c, d in axis))
        return size

    def distinct_footprint(self, t: int, ext: np.ndarray) -> np.ndarray:
        """A lower bound on the distinct words of tensor t's tile (exact for axes of one or two dims): what a
        union of smaller tiles spread over several instances occupies at least."""
        size = np.ones(ext.shape[0], np.int64)
        for axis in self.axes[t]:
            terms = [(c, d) for c, d in axis if c > 0]
            if len(terms) == 1:
                size = size * ext[:, terms[0][1]]
            elif len(terms) == 2:
                (c1, d1), (c2, d2) = terms
                g = math.gcd(c1, c2)
                a, b = c1 // g, c2 // g
                n1, n2 = ext[:, d1], ext[:, d2]
                size = size * (n1 * n2 - np.maximum(0, n1 - b) * np.maximum(0, n2 - a))
            elif terms:
                size = size * np.max(np.stack([ext[:, d] for _, d in terms]), axis=0)
        return size

    def delivered(self, ext: np.ndarray) -> list[list[np.ndarray]]:
        """D[p][t]: words of tensor t delivered to the tile under order prefix p, per tile shape (float64, exact:
        every count is far below 2**53). Prefixes share their (first dim, dims inside) per tensor: each is
        computed once."""
        n = self.bounds[None, :] // ext
        total = np.prod(n, axis=1)
        tiles = [self.footprint(t, ext) for t in range(len(self.axes))]
        slabs = [self._slabs(t, ext, tiles[t]) for t in range(len(self.axes))]
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
        return out

    def _slabs(self, t: int, ext: np.ndarray, tile: np.ndarray) -> np.ndarray:
        """(n, D): the new words when dim d's loop moves tensor t's tile by one step."""
        slab = np.repeat(tile[:, None], len(self.dims), axis=1)
        uses = [sum(d == k for axis in self.axes[t] for _, k in axis) for d in range(len(self.dims))]
        for axis in self.axes[t]:
            axis_ext = 1 + sum(c * (ext[:, d] - 1) for c, d in axis)
            for c, d in axis:
                if uses[d] == 1 and c > 0:  # a dim on several axes moves the box diagonally: no halo kept
                    slab[:, d] = tile // axis_ext * np.minimum(c * ext[:, d], axis_ext)
        return slab
