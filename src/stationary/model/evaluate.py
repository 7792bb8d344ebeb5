"""The Model noun: a pure function (loop nest, architecture, mapping) -> counts, energy, cycles.

Counts come from the exact nest analysis (Timeloop's rules); energy is Σ ceil(count / block size) x energy
per access on per-instance counts, times utilized instances, plus leakage and MAC energy; cycles are the
compute cycles stretched by any level whose bandwidth cannot keep up.
"""

from __future__ import annotations

import math

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import Mapping
from stationary.model.loops import build_loops
from stationary.model.nest_analysis import NestAnalysis
from stationary.model.result import LevelResult, Result, TensorCounts
from stationary.model.tiling import LevelCounts, collapse
from stationary.workload.loopnest import LoopNest


def evaluate(nest: LoopNest, arch: Architecture, mapping: Mapping, check_capacity: bool = True) -> Result:
    """Cost of running `nest` on `arch` with `mapping`. Raises StationaryError if a tile overflows a level."""
    mapping.validate(nest, arch)
    ll = build_loops(nest, arch, mapping)
    analysis = NestAnalysis(nest, ll).run()
    n_levels = len(arch.levels)
    per_tensor = [collapse(analysis.tiles[t], n_levels, [ll.keep[s][t] for s in range(n_levels)],
                           tensor.read_write) for t, tensor in enumerate(nest.tensors)]
    compute_cycles = analysis.computes_per_instance
    macs = compute_cycles * analysis.utilized_macs
    if check_capacity:
        _check_capacity(nest, arch, ll.keep, per_tensor)

    pending = []
    cycles = compute_cycles
    for s in range(n_levels - 1, -1, -1):  # outermost first
        lv = arch.levels[n_levels - 1 - s]
        if lv.virtual:
            continue
        tensors: dict[str, TensorCounts] = {}
        read_words = write_words = 0
        utilized = 0
        # leakage is charged on every instance the mapping touches, kept tensors or not (buffer.cpp)
        touched = max(per_tensor[t][s].replication for t in range(len(nest.tensors)))
        for t, tensor in enumerate(nest.tensors):
            c = per_tensor[t][s]
            if not ll.keep[s][t]:
                tensors[tensor.name] = TensorCounts(kept=False)
                continue
            bs = lv.block_size
            e = (_ceil(c.reads, bs) * lv.energy.read_pj + _ceil(c.fills, bs) * lv.energy.write_pj
                 + _ceil(c.updates, bs) * lv.energy.update_pj)
            k = c.replication
            utilized = max(utilized, k)
            tensors[tensor.name] = TensorCounts(
                kept=True, reads=c.reads * k, fills=c.fills * k, updates=c.updates * k, energy_pj=e * k,
                utilized_instances=k, reads_per_instance=c.reads, fills_per_instance=c.fills,
                updates_per_instance=c.updates, energy_per_instance_pj=e, partition_size=c.partition,
                utilized_capacity=c.size, temporal_reductions_per_instance=c.temporal_reductions)
            read_words += c.reads
            write_words += c.fills + c.updates
        level_cycles = _level_cycles(compute_cycles, read_words, write_words, lv.read_bandwidth,
                                     lv.write_bandwidth)
        cycles = max(cycles, level_cycles)
        pending.append((lv, utilized, touched, level_cycles, tensors))

    levels = []
    for lv, utilized, touched, level_cycles, tensors in pending:
        dynamic = sum(tc.energy_pj for tc in tensors.values())
        levels.append(LevelResult(lv.name, lv.instances, utilized, lv.block_size, lv.word_bits, lv.size_words,
                                  level_cycles, dynamic, lv.energy.leak_pj * cycles * touched, tensors, touched))
    compute_energy = macs * arch.compute.energy_pj
    total = compute_energy + sum(lv.energy_pj for lv in levels)
    return Result(
        macs=macs, cycles=cycles, compute_cycles=compute_cycles,
        utilization=macs / (cycles * arch.compute.instances) if cycles else 0.0,
        energy_pj=total, compute_energy_pj=compute_energy, utilized_macs=analysis.utilized_macs,
        mac_instances=arch.compute.instances, levels=tuple(levels),
        virtual_levels=tuple(lv.name for lv in arch.levels if lv.virtual), area_um2=arch.area_um2,
    )


def _ceil(count: int, block: int) -> int:
    return -(-count // block)


def _level_cycles(compute_cycles: int, reads: int, writes: int, read_bw: float | None,
                  write_bw: float | None) -> int:
    """Cycles a level needs: compute cycles, stretched when its per-instance traffic exceeds its bandwidth."""
    if not compute_cycles:
        return 0
    slowdown = 1.0
    if read_bw is not None and read_bw < reads / compute_cycles:
        slowdown = min(slowdown, read_bw / (reads / compute_cycles))
    if write_bw is not None and write_bw < writes / compute_cycles:
        slowdown = min(slowdown, write_bw / (writes / compute_cycles))
    return math.ceil(compute_cycles / slowdown)


def _check_capacity(nest: LoopNest, arch: Architecture, keep: tuple[tuple[bool, ...], ...],
                    per_tensor: list[list[LevelCounts]]) -> None:
    n_levels = len(arch.levels)
    for s in range(n_levels):
        lv = arch.levels[n_levels - 1 - s]
        if lv.size_words is None or lv.virtual:
            continue
        used = {tensor.name: per_tensor[t][s].size for t, tensor in enumerate(nest.tensors) if keep[s][t]}
        if sum(used.values()) > lv.size_words:
            detail = ", ".join(f"{k} {v}" for k, v in used.items())
            raise StationaryError(
                f"tiles overflow level {lv.name}: {sum(used.values())} words ({detail}) > capacity "
                f"{lv.size_words} words", field=f"{lv.name}.capacity")
