"""Whole networks: the best mapping per MAC layer (searched once per distinct layer shape), totals and
per-layer breakdowns. Layers run in a process pool when more than one job is asked for; every layer's search
is seeded from the run's seed, so results do not depend on the executor."""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.bounds.certificate import Optimality, certify, combine
from stationary.mapper.bounds.layer import LayerBound, layer_bound
from stationary.mapper.search import SearchOptions, SearchResult, search
from stationary.mapping.constraints import Constraint
from stationary.mapping.dataflows import dataflow_constraints
from stationary.model.result import Result
from stationary.parallel import capped_jobs, worker_pool
from stationary.workload.layer import Layer
from stationary.workload.network import Network


@dataclass(frozen=True)
class LayerPlan:
    """One layer's best mapping, its exact cost and its optimality certificate."""

    layer: Layer
    found: SearchResult
    cached: bool  # True when an identical shape earlier in the network was searched instead

    @property
    def optimality(self) -> Optimality:
        """What is proven about this layer's result (computed with its search, in the same worker)."""
        cert = getattr(self.found, "optimality", None)
        if cert is None:
            raise StationaryError(f"layer {self.layer.name}: its search result carries no certificate")
        return cert


@dataclass
class CertifiedResult(SearchResult):
    """A search result with its optimality certificate (what a network's layer search returns)."""

    optimality: Optimality | None = None


def _search_layer(args: tuple[Layer, Architecture, str, list[Constraint], SearchOptions]) -> SearchResult:
    layer, arch, dataflow, extra, options = args
    nest = layer.loop_nest()
    constraints = dataflow_constraints(dataflow, nest, arch) + extra
    found = search(nest, arch, constraints, options)
    fields = {f.name: getattr(found, f.name) for f in dataclass_fields(SearchResult)}
    cert = certify(found, nest, arch, constraints,
                   found.bound or _layer_bound(layer.shape, arch, options.imperfect, options.update_energy),
                   options.objective)
    return CertifiedResult(**fields, optimality=cert)


@functools.lru_cache(maxsize=256)
def _layer_bound(layer: Layer, arch: Architecture, imperfect: bool, update_energy: str) -> LayerBound:
    """A shape's lower bound on an architecture over the map space searched (perfect factorizations, or
    imperfect ones too) with updates priced as the search's, once per process (dataflow comparisons reuse it)."""
    return layer_bound(layer.loop_nest(), arch, imperfect=imperfect, update_energy=update_energy)


def default_jobs() -> int:
    """Worker processes: one per core, at most 8 (ResNet-50 on Eyeriss: 23 s with 1, 13 s with 2 on 2 cores)."""
    return max(1, min(os.cpu_count() or 1, 8))


def map_network(net: Network, arch: Architecture, dataflow: str = "free", options: SearchOptions | None = None,
                constraints: list[Constraint] | None = None, jobs: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[LayerPlan]:
    """Best mapping for every MAC layer of `net` (one search per distinct shape)."""
    opts = options or SearchOptions()
    layers = net.mac_layers()
    unique: dict[Layer, int] = {}
    for layer in layers:
        unique.setdefault(layer.shape, len(unique))
    work = [(layer, arch, dataflow, list(constraints or []), opts) for layer in
            {x.shape: x for x in reversed(layers)}.values()]
    work.sort(key=lambda w: unique[w[0].shape])
    jobs = capped_jobs(jobs, default_jobs())
    results: list[SearchResult] = []
    if jobs > 1 and len(work) >= 4:  # a pool: ~0.05 s to start where workers fork (Linux), ~1 s where they spawn
        # np.unique imports numpy.ma on its first call (25-40 ms); import it once here, before the workers fork,
        # rather than once in every worker
        importlib.import_module("numpy.ma")
        with worker_pool(jobs) as pool:
            for k, r in enumerate(pool.map(_search_layer, work)):
                results.append(r)
                if progress:
                    progress(k + 1, len(work))
    else:
        for k, w in enumerate(work):
            results.append(_search_layer(w))
            if progress:
                progress(k + 1, len(work))
    plans, seen = [], set()
    for layer in layers:
        key = layer.shape
        plans.append(LayerPlan(layer, results[unique[key]], key in seen))
        seen.add(key)
    return plans


def network_totals(plans: list[LayerPlan]) -> dict[str, Any]:
    """Network totals with units: energy, cycles (layers run one after another), MACs, searched shapes."""
    energy = sum(p.found.result.energy_pj for p in plans)
    macs = sum(p.found.result.macs for p in plans)
    cycles = sum(p.found.result.cycles for p in plans)
    return {"energy_pj": energy, "cycles": cycles, "macs": macs,
            "energy_per_mac_pj": energy / macs if macs else 0.0,
            "layers": len(plans), "distinct_shapes": sum(not p.cached for p in plans),
            "evaluated": sum(p.found.evaluated for p in plans if not p.cached),
            "search_seconds": sum(p.found.seconds for p in plans if not p.cached),
            "optimality": network_optimality(plans).to_json()}


def network_optimality(plans: list[LayerPlan]) -> Optimality:
    """The network's certificate: "optimal" only if every layer is; bounds and energies add up."""
    return combine([(p.optimality, p.found.result.energy_pj, float(p.found.result.cycles), not p.cached)
                    for p in plans])


def dram_words(result: Result) -> dict[str, int]:
    """Words moved across the outermost level (DRAM) per tensor: reads, fills and write-backs."""
    top = result.levels[0]
    return {name: tc.reads + tc.fills + tc.updates for name, tc in top.tensors.items() if tc.kept}


def network_performance(plans: list[LayerPlan], arch: Architecture, clock_mhz: float | None = None) -> dict[str, Any]:
    """Time, frame rate, DRAM traffic and power of the plans run back to back at `clock_mhz` (default: arch's).

    `power_mw` counts every modelled joule (DRAM included); `on_chip_power_mw` leaves out the outermost level,
    as a chip's measured core power does.
    """
    clock = arch.clock_mhz if clock_mhz is None else clock_mhz
    if not clock > 0:
        raise StationaryError(f"clock must be a positive number of MHz, got {clock}", field="--clock-mhz")
    cycles = sum(p.found.result.cycles for p in plans)
    energy = sum(p.found.result.energy_pj for p in plans)
    dram_energy = sum(p.found.result.levels[0].energy_pj for p in plans)
    words = sum(sum(dram_words(p.found.result).values()) for p in plans)
    seconds = cycles / (clock * 1e6)
    batch = plans[0].layer.N if plans else 1
    top_bits = arch.levels[0].word_bits
    return {"clock_mhz": clock, "seconds": seconds, "fps": batch / seconds if seconds else 0.0,
            "dram_bytes": words * top_bits / 8, "dram_energy_pj": dram_energy,
            "power_mw": energy / seconds * 1e-9 if seconds else 0.0,
            "on_chip_power_mw": (energy - dram_energy) / seconds * 1e-9 if seconds else 0.0}


LAYER_SETS = ("conv", "fc", "all")


def select_layers(net: Network, which: str = "all") -> Network:
    """The network's CONV layers, FC layers, or all of them (a subset is unwired: layers run back to back)."""
    from stationary.workload.layer import LayerKind

    if which not in LAYER_SETS:
        raise StationaryError(f"--layers must be one of {', '.join(LAYER_SETS)}, got {which!r}", field="--layers")
    if which == "all":
        return net
    kind = LayerKind.CONV if which == "conv" else LayerKind.FC
    return replace(net, layers=tuple(replace(x, inputs=()) for x in net.layers if x.kind == kind))
