"""The Model noun: a pure function (loop nest, architecture, mapping) -> counts, energy, cycles.

Counts come from the exact nest analysis (Timeloop's rules, walked loop by loop in Python integers); the
costing stage (costing.py) turns them into energy, leakage, cycles, capacity checks, area and the Result,
exactly as it does for the vectorized counter.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import Mapping
from stationary.model.costing import Costing, Counts
from stationary.model.loops import LoopList, build_loops, instance_dim_counts, step_counts
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
    n_levels = len(arch.levels)
    n_tensors = len(nest.tensors)
    means: list[list[int | Fraction]] | None = None
    largest = None
    if mapping.has_residuals():  # the last tiles are partial: each instance's partition, exactly
        refuse_unequal_instances(nest, arch, mapping)
        means, largest = partitions(nest, ll, n_levels)
    per_tensor = [collapse(analysis.tiles[t], n_levels, [ll.keep[s][t] for s in range(n_levels)],
                           tensor.read_write, None if means is None else [means[s][t] for s in range(n_levels)])
                  for t, tensor in enumerate(nest.tensors)]
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
            for name, arr, v in (("reads", reads, c.reads), ("fills", fills, c.fills), ("updates", updates, c.updates)):
                if isinstance(v, Fraction):  # imperfect factors: instances differ and their mean is no integer
                    raise StationaryError(
                        f"level {arch.levels[i].name}: {tensor_name(nest, t)} {name} differ across its "
                        f"{per_tensor[t][s].replication} instances (mean {float(v):.6g} per instance), which "
                        f"per-instance costing cannot express exactly; choose remainders that keep instances "
                        f"equal (a remainder under a spatial loop of its dimension gives unequal instances)",
                        field=f"{arch.levels[i].name}.factors")
                arr[0, i, t] = v
            tiles[0, i, t] = c.size
            partition[0, i, t] = c.partition if largest is None else largest[s][t]
    compute_cycles, macs = analysis.computes_per_instance, analysis.computes_per_instance * analysis.utilized_macs
    if mapping.has_residuals():  # instances and iterations differ: count the steps and MACs exactly
        compute_cycles, macs = step_counts(ll)
        assert macs == analysis.all_computes == nest.macs, (macs, analysis.all_computes, nest.macs)
    return Counts(reads, fills, updates, tiles, partition, kept, instances,
                  np.array([compute_cycles], object), np.array([macs], object),
                  np.array([analysis.utilized_macs], object), np.ones(1, bool))


def tensor_name(nest: LoopNest, t: int) -> str:
    return nest.tensors[t].name


def partitions(nest: LoopNest, ll: LoopList, n_levels: int) -> tuple[list[list[int | Fraction]], list[list[int]]]:
    """Per inner level and tensor: the mean partition over the level's instances (what first-read elision
    subtracts) and the largest (what is reported), from the values of each dimension each instance sees."""
    bounds = [nest.bounds[d] for d in nest.dims]
    means: list[list[int | Fraction]] = []
    largest: list[list[int]] = []
    for s in range(n_levels):
        counts = instance_dim_counts(ll, bounds, s)
        row_mean: list[int | Fraction] = []
        row_max: list[int] = []
        for tensor in nest.tensors:
            sizes = [math.prod(sum(abs(c) * (n[nest.dims.index(d)] - 1) for c, d in axis) + 1 for axis in tensor.axes)
                     for n in counts]
            mean = Fraction(sum(sizes), len(sizes))
            row_mean.append(mean.numerator if mean.denominator == 1 else mean)
            row_max.append(max(sizes))
        means.append(row_mean)
        largest.append(row_max)
    return means, largest


def refuse_unequal_instances(nest: LoopNest, arch: Architecture, mapping: Mapping) -> None:
    """The model costs per instance x instances, so every instance must do the same work: a remainder may sit
    only on a temporal loop with no spatial loop of its dimension outside it. A remainder on a spatial loop
    (some instances idle in the last iteration) or under one (the last instances do less, Timeloop 3.0.3's
    imp3 case) is refused, naming the level and dimension."""
    for d in nest.dims:
        spatial_outside = None
        for i, kind, f, r in mapping.dim_loops(d):
            name = arch.levels[i].name
            if r < f and (kind == "spatial" or spatial_outside is not None):
                where = (f"on the spatial loop {name} {d}={f},{r}" if kind == "spatial" else
                         f"on {name} temporal {d}={f},{r} under the spatial loop {spatial_outside} of {d}")
                raise StationaryError(
                    f"a remainder {where} leaves the instances of a level unequal, which per-instance costing "
                    f"cannot count exactly; put remainders on temporal loops with no spatial loop of {d} "
                    f"outside them", field=f"{name}.{kind}.factors")
            if kind == "spatial":
                spatial_outside = f"{name} {d}={f}"
