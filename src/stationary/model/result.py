"""What the model returns: per-level, per-tensor counts and energies, cycles, utilization — with units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TensorCounts:
    """One tensor at one storage level. Counts are totals over the utilized instances."""

    kept: bool
    reads: int = 0
    fills: int = 0
    updates: int = 0
    energy_pj: float = 0.0
    utilized_instances: int = 0
    reads_per_instance: int = 0
    fills_per_instance: int = 0
    updates_per_instance: int = 0
    energy_per_instance_pj: float = 0.0
    partition_size: int = 0  # words passing through one instance over the whole run
    utilized_capacity: int = 0  # words held by one instance (its tile)
    temporal_reductions_per_instance: int = 0

    def to_json(self) -> dict[str, Any]:
        if not self.kept:
            return {"kept": False}
        return {
            "kept": True, "reads": self.reads, "fills": self.fills, "updates": self.updates,
            "energy_pj": self.energy_pj, "utilized_instances": self.utilized_instances,
            "per_instance": {"reads": self.reads_per_instance, "fills": self.fills_per_instance,
                             "updates": self.updates_per_instance, "energy_pj": self.energy_per_instance_pj},
            "partition_size": self.partition_size, "utilized_capacity": self.utilized_capacity,
            "temporal_reductions_per_instance": self.temporal_reductions_per_instance,
        }


@dataclass(frozen=True)
class LevelResult:
    name: str
    instances: int
    utilized_instances: int
    block_size: int
    word_bits: int
    size_words: int | None
    cycles: int
    dynamic_energy_pj: float
    leak_energy_pj: float
    tensors: dict[str, TensorCounts]
    active_instances: int = 0  # instances in use, kept tensors or not: what leaks


    @property
    def energy_pj(self) -> float:
        return self.dynamic_energy_pj + self.leak_energy_pj

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "instances": self.instances, "utilized_instances": self.utilized_instances,
            "block_size": self.block_size, "word_bits": self.word_bits, "size_words": self.size_words,
            "cycles": self.cycles, "active_instances": self.active_instances, "leak_energy_pj": self.leak_energy_pj,
            "dynamic_energy_pj": self.dynamic_energy_pj, "energy_pj": self.energy_pj,
            "tensors": {k: v.to_json() for k, v in self.tensors.items()},
        }


@dataclass(frozen=True)
class Result:
    """The cost of one mapping: levels outermost first (virtual spatial levels omitted)."""

    macs: int
    cycles: int
    compute_cycles: int
    utilization: float
    energy_pj: float
    compute_energy_pj: float
    utilized_macs: int
    mac_instances: int
    levels: tuple[LevelResult, ...]
    virtual_levels: tuple[str, ...] = field(default=())
    area_um2: float = 0.0  # of the architecture (storage + MACs), from its spec or the area estimates

    @property
    def energy_per_mac_pj(self) -> float:
        return self.energy_pj / self.macs if self.macs else 0.0

    def level(self, name: str) -> LevelResult:
        return next(lv for lv in self.levels if lv.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "macs": self.macs, "cycles": self.cycles, "utilization": self.utilization,
            "energy_pj": self.energy_pj, "energy_per_mac_pj": self.energy_per_mac_pj,
            "compute_energy_pj": self.compute_energy_pj, "utilized_macs": self.utilized_macs,
            "mac_instances": self.mac_instances,
            "levels": [lv.to_json() for lv in self.levels],
            "virtual_spatial_levels": list(self.virtual_levels),
            "area_mm2": self.area_um2 / 1e6,
        }
