"""The one costing stage: counts per level, tensor and action -> energy, leakage, cycles, capacity, area, Result.

Every counter (the vectorized closed forms in fast.py, the loop walk in evaluate.py) produces `Counts` and
hands them here, so the rules after counting exist once: energy is Σ ceil(count / block size) × energy per
access on per-instance counts, times utilized instances; leakage is per cycle on every instance in use at or
below a tensor's outermost kept level (or on every instance: `leak_instances: all`); cycles are the compute
cycles stretched by any level whose bandwidth cannot keep up; a mapping is valid when its spatial factors fit
and every kept tile fits its level; the area is the architecture's. Arrays are batched (B rows) in
architecture order (outermost level first). Counts may be int64 (the fast model, range-checked) or Python
ints in object arrays (the exact model: never wraps).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from stationary.arch.spec import ActionEnergy, Architecture
from stationary.errors import StationaryError
from stationary.model import sparsity
from stationary.model.result import LevelResult, Result, TensorCounts
from stationary.schema import short_repr
from stationary.workload.loopnest import LoopNest

Array = np.ndarray


class UpdateEnergy(StrEnum):
    """How a read-modify-write update is priced: at the ERT's `update` energy (the Timeloop of the exercises) or
    at its `write` energy (Timeloop 3.0.3). The counts are the same."""

    UPDATE = "update"
    WRITE = "write"


#: Which instances of a level leak: those the mapping uses (Timeloop's buffer.cpp; idle ones power-gated) or all.
LEAK_INSTANCES = ("used", "all")
#: The tensor axis of `Counts` for a layer's loop nest (workload/layer.py builds its tensors in this order).
TENSOR_ORDER = ("Weights", "Inputs", "Outputs")


def check_update_energy(value: str) -> UpdateEnergy:
    """The UpdateEnergy named `value`, or a StationaryError naming the choices."""
    try:
        return UpdateEnergy(value)
    except ValueError:
        raise StationaryError(f"unknown update energy {short_repr(value)}; choose one of "
                              f"{', '.join(UpdateEnergy)}", field="update_energy") from None


def update_pj(energy: ActionEnergy, convention: UpdateEnergy) -> float:
    """The energy of one read-modify-write update under `convention` (the ERT's `update` or `write` energy)."""
    return energy.write_pj if convention == UpdateEnergy.WRITE else energy.update_pj


def priced(arch: Architecture, update_energy: UpdateEnergy | str) -> Architecture:
    """`arch` with each level's update energy set to what `update_energy` prices it at, so that what costs the
    counts otherwise than this module (the lower bounds) prices updates as the model does."""
    convention = check_update_energy(update_energy)
    if convention == UpdateEnergy.UPDATE:
        return arch
    return replace(arch, levels=tuple(replace(lv, energy=replace(lv.energy, update_pj=update_pj(lv.energy, convention)))
                                      for lv in arch.levels))


@dataclass(frozen=True)
class Counts:
    """What a counter produces for a batch of mappings: per-instance counts (B, L, T), architecture order."""

    reads: Array
    fills: Array
    updates: Array
    tile_words: Array  # tile held by one instance (0 where not kept)
    partition_words: Array  # words of a tensor passing through one instance over the run (0 where not kept)
    kept: Array  # bool
    instances: Array  # (B, L) utilized instances of each level (product of the spatial factors above it)
    compute_cycles: Array  # (B,)
    macs: Array  # (B,)
    utilized_macs: Array  # (B,) MAC units in use
    spatial_fits: Array  # (B,) bool: the spatial factors fit every fan-out


@dataclass(frozen=True)
class FastResult:
    """Costs per instance (B, L, T) in architecture order, and per-mapping totals with units."""

    reads: Array
    fills: Array
    updates: Array
    tile_words: Array  # (B, L, T) tile held by one instance (0 where not kept)
    utilized_instances: Array  # (B, L)
    tensor_energy_pj: Array  # (B, L, T) dynamic energy over utilized instances
    leak_energy_pj: Array  # (B, L)
    compute_energy_pj: Array  # (B,)
    energy_pj: Array  # (B,)
    cycles: Array  # (B,)
    compute_cycles: Array  # (B,)
    macs: Array  # (B,)
    utilization: Array  # (B,)
    valid: Array  # (B,) bool: spatial factors fit the fan-outs and tiles fit their levels
    partition_words: Array  # (B, L, T) words of a tensor passing through one instance over the run
    level_cycles: Array  # (B, L) compute cycles stretched by each level's bandwidth
    kept: Array  # (B, L, T) bool
    active_instances: Array  # (B, L) instances in use (what leaks), kept tensors or not
    tensor_energy_per_instance_pj: Array | None = None  # (B, L, T) dynamic energy of one instance
    utilized_macs: Array | None = None  # (B,)
    fits_capacity: Array | None = None  # (B,) bool: every kept tile fits its level
    area_um2: float = 0.0  # of the architecture

    @property
    def edp_pj_cycles(self) -> Array:
        return self.energy_pj * self.cycles


class Costing:
    """The costing rules bound to one architecture (its per-level tables as arrays)."""

    def __init__(self, arch: Architecture, update_energy: UpdateEnergy | str = UpdateEnergy.UPDATE) -> None:
        self.arch = arch
        self.update_energy = check_update_energy(update_energy)
        levels = arch.levels
        self.n_levels = len(levels)
        self.block = np.array([lv.block_size for lv in levels], np.int64)
        self.e_read = np.array([lv.energy.read_pj for lv in levels])
        self.e_fill = np.array([lv.energy.write_pj for lv in levels])
        self.e_update = np.array([update_pj(lv.energy, self.update_energy) for lv in levels])
        self.e_leak = np.array([lv.energy.leak_pj for lv in levels])
        self.capacity = np.array([np.inf if lv.size_words is None else lv.size_words for lv in levels])
        for lv in levels:
            if lv.leak_instances not in LEAK_INSTANCES:
                raise StationaryError(f"level {lv.name}: leak_instances must be one of {', '.join(LEAK_INSTANCES)}, "
                                      f"got {short_repr(lv.leak_instances)}", field=f"{lv.name}.leak_instances")
        self.leak_all = np.array([lv.leak_instances == "all" for lv in levels])
        self.instances = np.array([lv.instances for lv in levels], np.int64)
        self.outermost = next((i for i, lv in enumerate(levels) if not lv.virtual), 0)  # the real backing store

    def tiles_fit(self, level_words: Array) -> Array:
        """(B,) bool: every level's kept words (`level_words` (B, L): its kept tiles summed) fit its capacity."""
        return np.asarray((_floats(level_words) <= self.capacity[None, :]).all(axis=1))

    def sourced(self, keep: Array) -> Array:
        """(B,) bool: every tensor is kept at the outermost real level (`keep` (B, L, T)); else it has no source."""
        return np.asarray(keep[:, self.outermost].all(axis=1))

    def cost(self, c: Counts, tensors: tuple[str, ...] = TENSOR_ORDER) -> FastResult:
        """Energy (ceil per block, × utilized instances), leakage, bandwidth-stretched cycles, validity.

        An architecture with `sparsity` first has its dense counts turned into compressed/gated ones
        (model/sparsity.py); `tensors` names the counts' tensor axis (a layer's Weights, Inputs, Outputs).
        """
        mac_energy_count: Array = c.macs
        if self.arch.sparsity is not None:
            if len(tensors) != c.reads.shape[2]:
                raise StationaryError(f"sparsity needs the counts' tensor names: {len(tensors)} names for "
                                      f"{c.reads.shape[2]} tensors", field="sparsity")
            c, mac_energy_count = sparsity.apply(c, self.arch.sparsity, tuple(lv.name for lv in self.arch.levels),
                                                 tuple(lv.word_bits for lv in self.arch.levels), tensors)
        keep = c.kept
        bs = self.block[None, :, None]

        def vec(x: Array) -> Array:
            return -(-x // bs)

        per_instance = _floats(vec(c.reads) * self.e_read[None, :, None] + vec(c.fills) * self.e_fill[None, :, None]
                               + vec(c.updates) * self.e_update[None, :, None])
        per_instance = np.where(keep, per_instance, 0.0)
        tensor_energy = per_instance * _floats(c.instances)[:, :, None]
        utilized = np.where(keep.any(axis=2), c.instances, 0)
        cycles = c.compute_cycles.copy()
        level_cycles = np.repeat(c.compute_cycles[:, None], self.n_levels, axis=1)
        cc = _floats(c.compute_cycles)
        for i, lv in enumerate(self.arch.levels):
            if lv.virtual or (lv.read_bandwidth is None and lv.write_bandwidth is None):
                continue
            rd = _floats(c.reads[:, i].sum(axis=1)) / cc
            wr = _floats((c.fills[:, i] + c.updates[:, i]).sum(axis=1)) / cc
            slow = np.ones_like(cc)
            if lv.read_bandwidth is not None:
                slow = np.where(lv.read_bandwidth < rd, np.minimum(slow, lv.read_bandwidth / np.maximum(rd, 1e-300)),
                                slow)
            if lv.write_bandwidth is not None:
                slow = np.where(lv.write_bandwidth < wr,
                                np.minimum(slow, lv.write_bandwidth / np.maximum(wr, 1e-300)), slow)
            stretched = np.ceil(cc / slow)
            if c.compute_cycles.dtype == object:  # exact counts: Python ints, no range limit
                level_cycles[:, i] = [int(x) for x in stretched]
            else:
                if not (stretched < INT_LIMIT).all():
                    raise StationaryError(f"level {lv.name}: its bandwidth stretches the cycles past 64-bit "
                                          f"integers ({float(stretched.max()):.3g})", field=f"{lv.name}.bandwidth")
                level_cycles[:, i] = stretched.astype(np.int64)
            cycles = np.maximum(cycles, level_cycles[:, i])
        # leakage counts every instance in use at or below a tensor's outermost kept level, kept or not
        touched = np.logical_or.accumulate(keep, axis=1).any(axis=2)
        active = np.where(touched, c.instances, 0)
        active = np.where(self.leak_all[None, :], self.instances[None, :], active)  # no power gating
        leak = self.e_leak[None, :] * _floats(cycles)[:, None] * _floats(active)
        compute_energy = _floats(mac_energy_count) * self.arch.compute.energy_pj
        energy = compute_energy + tensor_energy.sum(axis=(1, 2)) + leak.sum(axis=1)
        fits_capacity = self.tiles_fit(c.tile_words.sum(axis=2))
        valid = c.spatial_fits & fits_capacity & self.sourced(keep)
        utilization = _floats(c.macs) / (_floats(cycles) * self.arch.compute.instances)
        return FastResult(c.reads, c.fills, c.updates, c.tile_words, utilized, tensor_energy, leak, compute_energy,
                          energy, cycles, c.compute_cycles, c.macs, utilization, valid, c.partition_words,
                          level_cycles, keep, active, per_instance, c.utilized_macs, fits_capacity,
                          self.arch.area_um2)

    def check_capacity(self, fr: FastResult, b: int, nest: LoopNest) -> None:
        """Raise, naming the level and its tiles, when row b's kept tiles overflow a level."""
        for i, lv in enumerate(self.arch.levels):
            if lv.size_words is None or lv.virtual:
                continue
            used = {t.name: int(fr.tile_words[b, i, k]) for k, t in enumerate(nest.tensors) if fr.kept[b, i, k]}
            if sum(used.values()) > lv.size_words:
                detail = ", ".join(f"{k} {v}" for k, v in used.items())
                raise StationaryError(
                    f"tiles overflow level {lv.name}: {sum(used.values())} words ({detail}) > capacity "
                    f"{lv.size_words} words", field=f"{lv.name}.capacity")

    def result(self, fr: FastResult, b: int, nest: LoopNest) -> Result:
        """Row b as a Result (levels outermost first, virtual spatial levels omitted)."""
        levels = []
        for i, lv in enumerate(self.arch.levels):
            if lv.virtual:
                continue
            tensors = {}
            k = int(fr.utilized_instances[b, i])
            for t, tensor in enumerate(nest.tensors):
                if not fr.kept[b, i, t]:
                    tensors[tensor.name] = TensorCounts(kept=False)
                    continue
                r, f, u = (int(x[b, i, t]) for x in (fr.reads, fr.fills, fr.updates))
                e = float(fr.tensor_energy_pj[b, i, t])
                e1 = (float(fr.tensor_energy_per_instance_pj[b, i, t]) if fr.tensor_energy_per_instance_pj is not None
                      else (e / k if k else 0.0))
                tensors[tensor.name] = TensorCounts(
                    kept=True, reads=r * k, fills=f * k, updates=u * k, energy_pj=e, utilized_instances=k,
                    reads_per_instance=r, fills_per_instance=f, updates_per_instance=u,
                    energy_per_instance_pj=e1, partition_size=int(fr.partition_words[b, i, t]),
                    utilized_capacity=int(fr.tile_words[b, i, t]),
                    temporal_reductions_per_instance=r if tensor.read_write else 0)
            dynamic = float(fr.tensor_energy_pj[b, i].sum())
            levels.append(LevelResult(lv.name, lv.instances, k, lv.block_size, lv.word_bits, lv.size_words,
                                      int(fr.level_cycles[b, i]), dynamic, float(fr.leak_energy_pj[b, i]), tensors,
                                      int(fr.active_instances[b, i])))
        macs, compute_cycles = int(fr.macs[b]), int(fr.compute_cycles[b])
        utilized_macs = (int(fr.utilized_macs[b]) if fr.utilized_macs is not None
                         else macs // max(1, compute_cycles))
        return Result(macs=macs, cycles=int(fr.cycles[b]), compute_cycles=compute_cycles,
                      utilization=float(fr.utilization[b]), energy_pj=float(fr.energy_pj[b]),
                      compute_energy_pj=float(fr.compute_energy_pj[b]), utilized_macs=utilized_macs,
                      mac_instances=self.arch.compute.instances, levels=tuple(levels),
                      virtual_levels=tuple(lv.name for lv in self.arch.levels if lv.virtual),
                      area_um2=self.arch.area_um2)


INT_LIMIT = float(2**62)  # int64 counts stay below this so no product or sum of two of them wraps


def _floats(x: Array) -> Array:
    """float64 view of counts (object arrays of Python ints included)."""
    return x if x.dtype == np.float64 else x.astype(np.float64)
