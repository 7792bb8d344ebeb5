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
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from stationary.arch.spec import Architecture
from stationary.mapping.mapping import Mapping
from stationary.model.costing import Counts
from stationary.workload.loopnest import LoopNest


def _loops(nest: LoopNest, mapping: Mapping) -> list[tuple[int, str, int, int]]:
    """(level, kind, dim index, trip count), outermost loop first; kind 'T' or 'S'. Levels: arch order."""
    dims = nest.dims
    out = []
    for i, lm in enumerate(mapping.levels):
        for d in dims:
            if lm.spatial.get(d, 1) > 1:
                out.append((i, "S", dims.index(d), lm.spatial[d]))
        for d in reversed(lm.temporal_order(dims)):  # temporal_order is innermost first
            if lm.temporal.get(d, 1) > 1:
                out.append((i, "T", dims.index(d), lm.temporal[d]))
    return out


def oracle_counts(nest: LoopNest, arch: Architecture, mapping: Mapping) -> Counts:
    """Counts (per instance, architecture order) by enumeration; totals divided by the utilized instances."""
    dims = nest.dims
    n_levels, n_dims, n_tensors = len(arch.levels), len(dims), len(nest.tensors)
    loops = _loops(nest, mapping)
    keep = mapping.keep_table(nest, arch)
    # stride of each loop on its dimension: the product of the trip counts of the loops inside it on that dim
    stride = []
    for k, (_, _, d, _) in enumerate(loops):
        stride.append(math.prod(n for (_, _, d2, n) in loops[k + 1:] if d2 == d))

    def extent(i: int) -> list[int]:
        """Per dim, the span of level i's tile (loops of levels >= i in arch order, i.e. at or below it)."""
        ext = [1] * n_dims
        for lvl, _, d, n in loops:
            if lvl >= i:
                ext[d] *= n
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
        """(visit, instance -> origin) of level i's tiles, visits in time order (i = n_levels: the MACs)."""
        above = [k for k, (lvl, _, _, _) in enumerate(loops) if lvl < i]
        temporal = [k for k in above if loops[k][1] == "T"]
        spatial = [k for k in above if loops[k][1] == "S"]
        for tv in itertools.product(*(range(loops[k][3]) for k in temporal)):
            tiles = {}
            for sv in itertools.product(*(range(loops[k][3]) for k in spatial)):
                origin = [0] * n_dims
                for k, v in zip(temporal + spatial, tv + sv):
                    origin[loops[k][2]] += v * stride[k]
                tiles[sv] = origin
            yield tiles, spatial

    instances = [math.prod(n for (lvl, kind, _, n) in loops if kind == "S" and lvl < i) for i in range(n_levels)]
    compute_cycles = math.prod(n for (_, kind, _, n) in loops if kind == "T")
    utilized_macs = math.prod(n for (_, kind, _, n) in loops if kind == "S")
    shape = (1, n_levels, n_tensors)
    reads, fills, updates, tiles_w, partition = (np.zeros(shape, object) for _ in range(5))
    for t, tensor in enumerate(nest.tensors):
        kept = [i for i in range(n_levels) if keep[i][t]]  # outermost first
        part = {}
        for i in kept:  # partition per instance (summed over instances): the box of the values each dim takes
            ext = extent(i)
            seen: dict[tuple, list[set]] = {}
            for tiles, _ in visits(i):
                for sv, origin in tiles.items():
                    values = seen.setdefault(sv, [set() for _ in range(n_dims)])
                    for d in range(n_dims):
                        values[d].update(range(origin[d], origin[d] + ext[d]))
            part[i] = sum(size(box(t, [0] * n_dims, [len(v) for v in values])) for values in seen.values())
            tiles_w[0, i, t] = size(box(t, [0] * n_dims, ext))
        chain = kept + [n_levels]  # n_levels: the MACs consume from the innermost kept level
        for p, ch in zip(chain, chain[1:]):
            ext = extent(ch) if ch < n_levels else [1] * n_dims
            n_parent_spatial = sum(1 for (lvl, kind, _, _) in loops if kind == "S" and lvl < p)
            prev: dict[tuple, tuple] = {}
            content = delivered = 0
            for tiles, _spatial in visits(ch):
                groups: set[tuple] = set()
                for sv, origin in tiles.items():
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
            partition[0, i, t] = _per_instance(part[i], instances[i])
    kept_arr = np.array([[list(row) for row in keep]], bool)
    for i in range(n_levels):
        for t in range(n_tensors):
            if keep[i][t]:
                for x in (reads, fills, updates):
                    x[0, i, t] = _per_instance(x[0, i, t], instances[i])
    inst = np.array([[instances[i] if any(keep[j][t] for j in range(i + 1) for t in range(n_tensors)) else 0
                      for i in range(n_levels)]], object)
    return Counts(reads, fills, updates, tiles_w, partition, kept_arr, inst, np.array([compute_cycles], object),
                  np.array([compute_cycles * utilized_macs], object), np.array([utilized_macs], object),
                  np.ones(1, bool))


def _per_instance(total: int, instances: int) -> int:
    assert total % instances == 0, (total, instances)  # perfect factorizations are symmetric across instances
    return total // instances
