"""The same network on a baseline and on near-data variants: energy per level and per category, so a reader
sees where the savings come from (DRAM/vault, buffer, converters, compute) and where they do not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stationary.arch.load import load_arch
from stationary.arch.spec import Architecture, StorageLevel
from stationary.mapper.search import search
from stationary.mapping.mapping import Mapping
from stationary.model.result import Result
from stationary.workload.layer import Layer
from stationary.workload.loopnest import LoopNest
from stationary.workload.network import Network

VARIANTS = ("edram_buffer", "tetris_3d", "reram_crossbar")
CATEGORIES = ("DRAM", "buffer", "register files", "DAC", "ADC", "cell programming", "compute", "leakage/refresh")

Mapper = Callable[[LoopNest, Architecture], tuple[Mapping, Result]]


def level_category(level: StorageLevel) -> str:
    """Which bar of the breakdown a level's dynamic energy belongs to (converters are named by their level)."""
    upper = level.name.upper()
    if level.cls == "DRAM":
        return "DRAM"
    if "ADC" in upper:
        return "ADC"
    if "DAC" in upper:
        return "DAC"
    if "CROSSBAR" in upper:
        return "cell programming"
    return "register files" if level.cls == "regfile" else "buffer"


@dataclass
class NetworkCost:
    """One architecture's cost for a whole network (energies in pJ, summed over the MAC layers)."""

    arch: str
    macs: int = 0
    energy_pj: float = 0.0
    cycles: int = 0
    area_um2: float = 0.0
    clock_mhz: float = 0.0
    by_level_pj: dict[str, float] = field(default_factory=dict)
    by_category_pj: dict[str, float] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def energy_per_mac_pj(self) -> float:
        return self.energy_pj / self.macs if self.macs else 0.0

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.clock_mhz * 1e3) if self.clock_mhz else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "macs": self.macs, "energy_pj": self.energy_pj,
                "energy_per_mac_pj": self.energy_per_mac_pj, "cycles": self.cycles, "latency_ms": self.latency_ms,
                "area_mm2": self.area_um2 / 1e6, "by_level_pj": self.by_level_pj,
                "by_category_pj": self.by_category_pj, "layers": self.layers}


def searched(nest: LoopNest, arch: Architecture) -> tuple[Mapping, Result]:
    """The mapper's best (lowest-energy) mapping, scored exactly: every variant gets the same search."""
    found = search(nest, arch)
    return found.mapping, found.result


def network_cost(net: Network, arch: Architecture, mapper: Mapper = searched) -> NetworkCost:
    """Map every MAC layer (repeated shapes once) and sum energies by level and category."""
    cost = NetworkCost(arch.name, area_um2=arch.area_um2, clock_mhz=arch.clock_mhz,
                       by_category_pj=dict.fromkeys(CATEGORIES, 0.0))
    levels = {lv.name: lv for lv in arch.levels}
    cache: dict[Layer, Result] = {}
    for layer in net.mac_layers():
        if layer.shape not in cache:
            cache[layer.shape] = mapper(layer.loop_nest(), arch)[1]
        r = cache[layer.shape]
        cost.macs += r.macs
        cost.energy_pj += r.energy_pj
        cost.cycles += r.cycles
        cost.by_category_pj["compute"] += r.compute_energy_pj
        for lv in r.levels:
            cost.by_level_pj[lv.name] = cost.by_level_pj.get(lv.name, 0.0) + lv.energy_pj
            cost.by_category_pj[level_category(levels[lv.name])] += lv.dynamic_energy_pj
            cost.by_category_pj["leakage/refresh"] += lv.leak_energy_pj
        cost.layers.append({"layer": layer.name, "macs": r.macs, "energy_pj": r.energy_pj, "cycles": r.cycles,
                            "utilization": r.utilization})
    cost.by_level_pj["compute"] = cost.by_category_pj["compute"]
    return cost


def compare(net: Network, baseline: str = "eyeriss", variants: tuple[str, ...] = VARIANTS,
            mapper: Mapper = searched) -> list[NetworkCost]:
    """The network's cost on the baseline (first) and each variant, every architecture loaded by name or file."""
    return [network_cost(net, load_arch(name), mapper) for name in (baseline, *variants)]
