"""The Model noun: a pure function (loop nest, architecture, mapping) -> counts, energy, cycles.

Counts come from the exact nest analysis (Timeloop's rules, walked loop by loop in Python integers); the
costing stage (costing.py) turns them into energy, leakage, cycles, capacity checks, area and the Result,
exactly as it does for the vectorized counter.
"""

from __future__ import annotations

import numpy as np

from stationary.arch.spec import Architecture
from stationary.mapping.mapping import Mapping
from stationary.model.costing import Costing, Counts
from stationary.model.loops import build_loops
from stationary.model.nest_analysis import NestAnalysis
from stationary.model.result import Result
from stationary.model.tiling import collapse
from stationary.workload.loopnest import LoopNest


def evaluate(nest: LoopNest, arch: Architecture, mapping: Mapping, check_capacity: bool = True,
             update_energy: str = "update") -> Result:
    """Cost of running `nest` on `arch` with `mapping`. Raises StationaryError if a tile overflows a level.

    `update_energy` prices a read-modify-write update at the ERT's `update` (default) or `write` energy.
    """
    costing = Costing(arch, update_energy)
    mapping.validate(nest, arch)
    counts = exact_counts(nest, arch, mapping)
    fr = costing.cost(counts)
    if check_capacity:
        costing.check_capacity(fr, 0, nest)
    return costing.result(fr, 0, nest)


def exact_counts(nest: LoopNest, arch: Architecture, mapping: Mapping) -> Counts:
    """The loop walk's per-instance counts as a batch of one (object arrays of Python ints: no overflow)."""
    ll = build_loops(nest, arch, mapping)
    analysis = NestAnalysis(nest, ll).run()
    n_levels, n_tensors = len(arch.levels), len(nest.tensors)
    per_tensor = [collapse(analysis.tiles[t], n_levels, [ll.keep[s][t] for s in range(n_levels)],
                           tensor.read_write) for t, tensor in enumerate(nest.tensors)]
    shape = (1, n_levels, n_tensors)
    reads, fills, updates, tiles, partition = (np.zeros(shape, object) for _ in range(5))
    kept = np.zeros(shape, bool)
    instances = np.zeros((1, n_levels), object)
    for s in range(n_levels):
        i = n_levels - 1 - s  # architecture order
        # instances in use: the replication of any tensor's tile (0 outside every tensor's outermost kept level)
        instances[0, i] = max(per_tensor[t][s].replication for t in range(n_tensors))
        for t in range(n_tensors):
            c = per_tensor[t][s]
            kept[0, i, t] = ll.keep[s][t]
            if not ll.keep[s][t]:
                continue
            reads[0, i, t], fills[0, i, t], updates[0, i, t] = c.reads, c.fills, c.updates
            tiles[0, i, t], partition[0, i, t] = c.size, c.partition
    compute_cycles = analysis.computes_per_instance
    return Counts(reads, fills, updates, tiles, partition, kept, instances,
                  np.array([compute_cycles], object), np.array([compute_cycles * analysis.utilized_macs], object),
                  np.array([analysis.utilized_macs], object), np.ones(1, bool))
