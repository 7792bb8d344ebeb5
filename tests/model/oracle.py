"""A brute-force oracle, independent of both counters: enumerate every visit of every tile of small nests and
count each word that crosses each level.

It builds the loops itself from the Mapping (no nest analysis, no closed forms): level i's tile spans the
loops of levels i and below; the spatial loops above it name the instance, the temporal loops above it the
visit. A tile whose box changes between visits of one instance is delivered again (its size in words); the
parent reads one copy per distinct box among the children under one of its instances that change together
(multicast; for outputs, spatial reduction); the MACs read one word per operand per cycle, equal words
multicast. Read-write tensors elide the first read of each word (reads = content - partition, fills =
delivered - partition; a partition, as in Timeloop, is the box spanned by as many values of each dimension as
one instance sees over the run), the outermost kept level is never filled. Boxes are exact here because the layers
it is used on have no sliding window (each tensor axis has one dimension with a bound above 1): then two
boxes are equal or disjoint, and "new words" is the whole box, as in Timeloop.

Imperfect factors (Timeloop 3 residuals): each loop is run iteration by iteration, with its residual trip
count when every enclosing loop of its dimension is at its final iteration; a tile's extent along a dimension
is then the values its own loops visit (their residuals applying where the enclosing loops are final).
Per-instance counts are totals over the utilized instances (a Fraction where unequal instances leave one);
the partition reported is the largest instance's; cycles add temporal iterations and take the slowest
spatial instance, enumerated one by one.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from stationary.arch.spec import Architecture
from stationary.mapping.mapping import Mapping
from stationary.model.costing import Counts
from stationary.workload.loopnest import LoopNest


def _loops(nest: LoopNest, mapping: Mapping) -> list[tuple[int, str, int, int, int]]:
    """(level, kind, dim index, trip count, residual trip count), outermost loop first; kind 'T' or 'S'.
    Levels: arch order; within a level the temporal loops enclose the spatial ones (Timeloop's order)."""
    dims = nest.dims
    out = []
    for i, lm in enumerate(mapping.levels):
        for d in reversed(lm.temporal_order(dims)):  # temporal_order is innermost first
            if lm.temporal.get(d, 1) > 1:
                out.append((i, "T", dims.index(d), lm.temporal[d], lm.temporal_residual.get(d, lm.temporal[d])))
        for d in dims:
            if lm.spatial.get(d, 1) > 1:
                out.append((i, "S", dims.index(d), lm.spatial[d], lm.spatial_residual.get(d, lm.spatial[d])))
    return out


def _walk(loops: list, ks: list[int], k: int, final: tuple[bool, ...], idx: dict[int, int]):
    """Every iteration of loops ks[k:], outermost first: yields (indices by loop, `final` flags per dim)."""
    if k == len(ks):
        yield dict(idx), final
        return
    _, _, d, n, r = loops[ks[k]]
    trips = r if final[d] else n
    for j in range(trips):
        idx[ks[k]] = j
        yield from _walk(loops, ks, k + 1, final[:d] + (final[d] and j == trips - 1,) + final[d + 1:], idx)
    del idx[ks[k]]


def _cycles(loops: list, k: int, final: tuple[bool, ...]) -> int:
    """Steps of loops k.. (outermost first): a temporal loop adds its iterations, a spatial one its slowest."""
    if k == len(loops):
        return 1
    _, kind, d, n, r = loops[k]
    trips = r if final[d] else n
    each = [_cycles(loops, k + 1, final[:d] + (final[d] and j == trips - 1,) + final[d + 1:]) for j in range(trips)]
    return max(each) if kind == "S" else sum(each)


def oracle_counts(nest: LoopNest, arch: Architecture, mapping: Mapping) -> Counts:
    """Counts (per instance, architecture order) by enumeration; totals divided by the utilized instances."""
    dims = nest.dims
    n_levels, n_dims, n_tensors = len(arch.levels), len(dims), len(nest.tensors)
    loops = _loops(nest, mapping)
    keep = mapping.keep_table(nest, arch)
    # stride of each loop on its dimension: the product of the trip counts of the loops inside it on that dim
    stride = []
    for k, (_, _, d, _, _) in enumerate(loops):
        stride.append(math.prod(n for (_, _, d2, n, _) in loops[k + 1:] if d2 == d))

    def extent(i: int, final: tuple[bool, ...]) -> list[int]:
        """Per dim, how many values level i's tile spans (its own loops: levels >= i in arch order), every
        iteration of them enumerated; `final`: whether the loops outside are all at their final iteration."""
        inner = [k for k, lp in enumerate(loops) if lp[0] >= i]
        ext = []
        for d in range(n_dims):
            mine = [k for k in inner if loops[k][2] == d]
            seen = {sum(idx[k] * stride[k] for k in mine) for idx, _ in _walk(loops, mine, 0, final, {})}
            ext.append(len(seen))
        return ext

    def box(t: int, origin: list[int], ext: list[int]) -> tuple:
        lo, hi = [], []
        for axis in nest.tensors[t].axes:
            a = sum(c * origin[dims.index(d)] for c, d in axis)
            b = sum(c * (origin[dims.index(d)] + ext[dims.index(d)] - 1) for c, d in axis)
            lo.append(a)
            hi.append(b + 1)
        return tuple(lo), tuple(hi)

    def size(b: tuple) -> int:
        return math.prod(h - lo for lo, h in zip(*b))

    def visits(i: int):
        """(instance -> (origin, extent)) of level i's tiles per visit, in time order (i = n_levels: the MACs)."""
        above = [k for k, lp in enumerate(loops) if lp[0] < i]
        temporal = [k for k in above if loops[k][1] == "T"]
        spatial = [k for k in above if loops[k][1] == "S"]
        by_time: dict[tuple, dict[tuple, tuple[list[int], list[int]]]] = {}
        ext_of: dict[tuple, list[int]] = {}
        for idx, final in _walk(loops, above, 0, (True,) * n_dims, {}):
            origin = [0] * n_dims
            for k, v in idx.items():
                origin[loops[k][2]] += v * stride[k]
            if final not in ext_of:
                ext_of[final] = extent(i, final) if i < n_levels else [1] * n_dims
            tv, sv = tuple(idx[k] for k in temporal), tuple(idx[k] for k in spatial)
            by_time.setdefault(tv, {})[sv] = (origin, ext_of[final])
        for tv in sorted(by_time):
            yield by_time[tv], spatial

    instances = [math.prod(n for (lvl, kind, _, n, _) in loops if kind == "S" and lvl < i) for i in range(n_levels)]
    compute_cycles = _cycles(loops, 0, (True,) * n_dims)
    utilized_macs = math.prod(n for (_, kind, _, n, _) in loops if kind == "S")
    shape = (1, n_levels, n_tensors)
    reads, fills, updates, tiles_w, partition = (np.zeros(shape, object) for _ in range(5))
    for t, tensor in enumerate(nest.tensors):
        kept = [i for i in range(n_levels) if keep[i][t]]  # outermost first
        part, largest = {}, {}
        for i in kept:  # partition per instance (summed over instances): the box of the values each dim takes
            seen: dict[tuple, list[set]] = {}
            biggest = 0
            for tiles, _ in visits(i):
                for sv, (origin, ext) in tiles.items():
                    biggest = max(biggest, size(box(t, [0] * n_dims, ext)))
                    values = seen.setdefault(sv, [set() for _ in range(n_dims)])
                    for d in range(n_dims):
                        values[d].update(range(origin[d], origin[d] + ext[d]))
            sizes = [size(box(t, [0] * n_dims, [len(v) for v in values])) for values in seen.values()]
            part[i], largest[i] = sum(sizes), max(sizes)
            tiles_w[0, i, t] = biggest
        chain = kept + [n_levels]  # n_levels: the MACs consume from the innermost kept level
        for p, ch in zip(chain, chain[1:]):
            n_parent_spatial = sum(1 for (lvl, kind, _, _, _) in loops if kind == "S" and lvl < p)
            prev: dict[tuple, tuple] = {}
            content = delivered = 0
            for tiles, _spatial in visits(ch):
                groups: set[tuple] = set()
                for sv, (origin, ext) in tiles.items():
                    b = box(t, origin, ext)
                    if ch == n_levels or prev.get(sv) != b:  # MACs read every cycle
                        delivered += size(b)
                        groups.add((sv[:n_parent_spatial], b))  # same parent instance, same box: one read
                    prev[sv] = b
                content += sum(size(b) for _, b in groups)
            if tensor.read_write:
                updates[0, p, t] = content
                reads[0, p, t] = content - part[p]
                if ch < n_levels:
                    fills[0, ch, t] = delivered - part[ch]
            else:
                reads[0, p, t] = content
                if ch < n_levels:
                    fills[0, ch, t] = delivered
        for i in kept:
            partition[0, i, t] = largest[i]
    kept_arr = np.array([[list(row) for row in keep]], bool)
    for i in range(n_levels):
        for t in range(n_tensors):
            if keep[i][t]:
                for x in (reads, fills, updates):
                    x[0, i, t] = _per_instance(x[0, i, t], instances[i])
    inst = np.array([[instances[i] if any(keep[j][t] for j in range(i + 1) for t in range(n_tensors)) else 0
                      for i in range(n_levels)]], object)
    macs = sum(1 for _ in _walk(loops, list(range(len(loops))), 0, (True,) * n_dims, {}))
    return Counts(reads, fills, updates, tiles_w, partition, kept_arr, inst, np.array([compute_cycles], object),
                  np.array([macs], object), np.array([utilized_macs], object),
                  np.ones(1, bool))


def _per_instance(total: int, instances: int) -> int | Fraction:
    """A total over equal instances; with residuals instances may differ: then an exact Fraction."""
    return total // instances if total % instances == 0 else Fraction(total, instances)
