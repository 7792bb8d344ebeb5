"""Energy lower bounds for partial factorizations (the branch and bound's inner nodes): some dimensions'
factor rows fixed, the others open. The layer bound (layer.py) restricted to the mappings of the subtree: the
cut below the outermost level is bounded over the single-level tilings whose extents on the fixed dimensions
are those of the resident level's tile, which those dimensions pin; on chip, a read-write tensor served from a
level with one MAC per instance reads back every update but those of the output copies the spatial factors
above that level can make, which the fixed dimensions pin (docs/mapper.md, "Exact search").
"""

from __future__ import annotations

import numpy as np

from stationary.mapper.bounds.layer import LayerTerms, rw_serve_pj
from stationary.mapper.space import MapSpace


def level_factors(space: MapSpace) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per dim, per factor row of the space: (cumulative factor at and below each level, spatial factor at
    each level), both (rows, L) — the extents every level's tile has on that dim."""
    L = space.n_levels
    cums, spatials = [], []
    for opts in space.options:
        cum = np.ones((len(opts), L), np.int64)
        sp = np.ones((len(opts), L), np.int64)
        for j, s in enumerate(space.slots):
            cum[:, :s.level + 1] *= opts[:, j:j + 1]
            if s.spatial:
                sp[:, s.level] *= opts[:, j]
        cums.append(cum)
        spatials.append(sp)
    return cums, spatials


class PartialBound:
    """The energy bound of every completion of a partial factorization whose fixed dims are `order[:k]`.

    For each way the cut below the outermost level can be crossed (a resident level c* and the tensors it
    holds, layer.py), the resident tile of any mapping of the subtree has, on a fixed dim d, the extent
    cum[c*][d] x the spatial factors of d between the cut and c* (the MACs: the spatial factors alone): the
    bound is the least weighted traffic over the fitting divisor tiles with those extents, looked up in a table
    reduced (minimum) over the open dims' extents. Everything else is the layer bound's (LayerTerms)."""

    def __init__(self, space: MapSpace, order: list[int], terms: LayerTerms, on_chip: bool = True) -> None:
        self.terms, self.order = terms, list(order)
        cums, spatials = level_factors(space)
        top, L = terms.real[0], space.n_levels
        self.cut = CutTables(terms, order)
        self.index: list[list[np.ndarray]] = []  # per option, per dim: tile class of its extent, per row
        for opt in terms.dram_cut:
            c = opt.c
            per_dim = []
            for d in range(space.n_dims):
                ext = cums[d][:, c] if c < L else np.ones(len(cums[d]), np.int64)
                per_dim.append(self.cut.class_index(d, ext * np.prod(spatials[d][:, top:c], axis=1)))
            self.index.append(per_dim)
        self.copies = _OutputCopies(terms, spatials, on_chip)

    def inner_pj(self, prefix: np.ndarray) -> np.ndarray:
        """(n, picks): the inner levels' serving energy of each pick of the layer bound for partial rows, valid
        for every completion (picks_inner, raised where the on-chip read-back bound of _OutputCopies bites)."""
        inner = np.repeat(self.terms.picks_inner[None, :], prefix.shape[0], axis=0)
        for j, t, serve in self.copies.serve_pj(prefix, self.order):
            inner += np.maximum(0.0, serve - self.terms.serve_pj[j, t])[:, None] * (self.terms.picks_level[:, t] == j)
        return inner

    def cut_energy_pj(self, prefix: np.ndarray) -> np.ndarray:
        """(n,) bound on the outermost level's cut energy for partial rows (factor row of order[j] in column
        j), valid for every completion."""
        n, k = prefix.shape
        return self.cut.energy_pj(k, [[self.index[o][self.order[j]][prefix[:, j]] for j in range(k)]
                                      for o in range(len(self.index))], n)

    def energy_pj(self, prefix: np.ndarray | None, cycles_lb: np.ndarray, cut_pj: np.ndarray | None = None,
                  inner_pj: np.ndarray | None = None) -> np.ndarray:
        """(n,) energy bound for partial rows whose completions all run at least `cycles_lb` cycles (leakage is
        linear in cycles); `cut_pj`, `inner_pj`: their cut and inner serving energy bounds when already known
        (with both, `prefix` is unused; without `prefix`, a missing `inner_pj` is the layer bound's)."""
        leak = np.maximum(self.terms.leak_floor_pj, self.terms.leak_per_cycle_pj * np.asarray(cycles_lb, float))
        if cut_pj is None:
            if prefix is None:
                raise ValueError("energy_pj needs the partial rows or their cut energy bounds")
            cut_pj = self.cut_energy_pj(prefix)
        if inner_pj is None and prefix is not None:
            inner_pj = self.inner_pj(prefix)
        return self.terms.energy_pj(cut_pj, leak, inner_pj)


class CutTables:
    """The cut below the outermost level restricted to resident tiles whose extents on the first k dims of
    `order` are fixed: per CutOption, the least traffic over its fitting tile classes, reduced (minimum) over
    the other dims' classes; a fixed dim's extent e (nominal: the first, full tile, remainders or not) lies in
    class ceil(bound / e) (tiles.py), so the bound holds for imperfect completions too."""

    def __init__(self, terms: LayerTerms, order: list[int]) -> None:
        self.terms, self.order = terms, list(order)
        tt = terms.bounder.traffic
        self.bounds = tt.bounds
        self.classes = [np.array(x, np.int64) for x in tt.per_dim]
        shape = tuple(len(x) for x in tt.per_dim)
        self.grids = [values.reshape(shape) for values in terms.dram_values]
        self.tables: dict[tuple[int, int], np.ndarray] = {}

    def class_index(self, d: int, ext: np.ndarray) -> np.ndarray:
        """Index in dim d's classes of the class of each extent (the first, full tile; > 0)."""
        ext = np.asarray(ext, np.int64)
        if (ext < 1).any():
            raise AssertionError("a resident tile extent is below 1")
        rep = -(-self.bounds[d] // -(-self.bounds[d] // ext))  # the smallest extent with the same trips
        idx = np.searchsorted(self.classes[d], rep)
        if not (self.classes[d][np.minimum(idx, len(self.classes[d]) - 1)] == rep).all():
            raise AssertionError("a resident tile extent has no tile class")
        return idx

    def _table(self, option: int, k: int) -> np.ndarray:
        """Least traffic of one option's fitting tiles per class of the first k dims of `order` (axes in that
        order), minimum over the other dims' classes."""
        key = (option, k)
        if key not in self.tables:
            grid = self.grids[option]
            fixed = self.order[:k]
            rest = tuple(d for d in range(grid.ndim) if d not in fixed)
            reduced = grid.min(axis=rest) if rest else grid
            # min keeps the fixed axes in nest order: put them in `order`
            nest_order = sorted(fixed)
            self.tables[key] = np.transpose(reduced, [nest_order.index(d) for d in fixed]) if k else reduced
        return self.tables[key]

    def energy_pj(self, k: int, index: list[list[np.ndarray]], n: int) -> np.ndarray:
        """(n,) cut energy bound when the first k dims of `order` have, per option, the classes `index[o][j]`
        (n each): the least over options, less the first write's read, never below the compulsory words."""
        low = np.full(n, np.inf)
        for o in range(len(self.grids)):
            table = self._table(o, k)
            low = np.minimum(low, float(table) if k == 0 else table[tuple(index[o][:k])])
        return np.maximum(low - self.terms.first_read_pj, self.terms.cut_floor_pj)


def cut_energy_at(terms: LayerTerms, fixed: list[int], extents: dict[int, list[int]]) -> float:
    """The partial cut bound of one mapping's prefix: dims `fixed` pinned to the extents `extents[c][d]` of
    each resident level c's tile (L: the MACs' spatial box) over the instances below one outermost instance."""
    cut = CutTables(terms, fixed)
    index = [[cut.class_index(d, np.array([extents[opt.c][d]])) for d in fixed] for opt in terms.dram_cut]
    return float(cut.energy_pj(len(fixed), index, 1)[0])


class _OutputCopies:
    """The read-back bound of a read-write tensor at a level with one MAC per instance, per partial row.

    There every MAC updates the tensor once and each update reads the word back except the first in the
    instance's partition (model/fast.py: reads = updates - partition). Per used instance the partition is the
    outputs divided, at each fan-out above, by the spatial factors of the dims that index the tensor (exactly
    for axes of one dim, floor division only lowers it), so over the used instances the partitions hold at
    most outputs x C words, C = the product, over the fan-outs above, of the spatial factors of the dims that
    do not index it: the copies of each output word. Fixed dims give their factor, open ones the largest any of
    their rows has; C never exceeds the level's instances (the layer bound's value)."""

    def __init__(self, terms: LayerTerms, spatials: list[np.ndarray], on: bool = True) -> None:
        arch, nest = terms.arch, terms.nest
        n_mac = arch.compute.instances
        self.terms = terms
        # per (level, rw tensor): (is the dim one that does not index the tensor, per-row copies above it)
        self.cases: list[tuple[int, int, np.ndarray, list[np.ndarray], np.ndarray]] = []
        if arch.sparsity is not None or not on:  # compressed counts: the layer bound's rule only
            return
        for t, tensor in enumerate(nest.tensors):
            if not tensor.read_write or not all(len(axis) == 1 for axis in tensor.axes):
                continue
            indexing = {d for axis in tensor.axes for c, d in axis if c >= 1}
            other = np.array([d not in indexing for d in nest.dims])
            for j in terms.real:
                lv = arch.levels[j]
                if lv.instances != n_mac or not terms.may[j][t]:
                    continue
                per_row = [np.prod(sp[:, :j], axis=1) for sp in spatials]
                most = np.array([int(r.max()) for r in per_row], np.int64)
                self.cases.append((j, t, other, per_row, most))

    def serve_pj(self, prefix: np.ndarray, order: list[int]) -> list[tuple[int, int, np.ndarray]]:
        """(level, tensor, (n,) serving energy) of every case for partial rows (column j: dim order[j])."""
        n, k = prefix.shape
        out = []
        levels = self.terms.arch.levels
        for j, t, other, per_row, most in self.cases:
            copies = np.ones(n, float)
            fixed = set(order[:k])
            for col, d in enumerate(order[:k]):
                if other[d]:
                    copies *= per_row[d][prefix[:, col]]
            for d in range(len(other)):
                if other[d] and d not in fixed:
                    copies *= most[d]
            copies = np.minimum(copies, levels[j].instances)
            out.append((j, t, np.asarray(rw_serve_pj(levels[j], float(self.terms.nest.macs), self.terms.outputs,
                                                     copies), float)))
        return out
