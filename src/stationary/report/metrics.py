"""The survey's benchmarking template (Sze et al. 2017 Sec. VIII; eyeriss.mit.edu/benchmarking): model,
hardware and results of one network on one accelerator, as plain data with unit-bearing keys.

Every number is computed from the workload, the architecture spec and the mapper's per-layer results;
the only transcribed figures are the models' published accuracies (`PUBLISHED_TOP5_ERROR_PCT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stationary.arch.spec import Architecture
from stationary.mapper.network import LayerPlan
from stationary.workload.layer import LayerKind
from stationary.workload.network import Network
from stationary.workload.stats import network_stats

#: ImageNet top-5 error (%) as published in the survey's Table IV (docs/references.md §1); other models: n/a.
PUBLISHED_TOP5_ERROR_PCT = {"alexnet": 16.4, "overfeat": 14.2, "vgg16": 7.4, "googlenet": 6.7, "resnet50": 5.3}
ACCURACY_SOURCE = "ImageNet top-5 error, Sze et al. 2017 Table IV"


@dataclass(frozen=True)
class Densities:
    """Fraction of non-zero weights and input activations (1.0 = dense); non-zero MACs assume independence."""

    weights: float = 1.0
    inputs: float = 1.0

    def __post_init__(self) -> None:
        from stationary.errors import StationaryError

        for name in ("weights", "inputs"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise StationaryError(f"density must be in (0, 1], got {v!r}", field=f"densities.{name}")


def _span(values: list[int]) -> str:
    """'3-256' for a range, '6, 16' for two values, 'n/a' for none."""
    vals = sorted(set(values))
    if not vals:
        return "n/a"
    if len(vals) <= 3:
        return ", ".join(str(v) for v in vals)
    return f"{vals[0]}-{vals[-1]}"


def model_section(net: Network, model_name: str, densities: Densities | None = None) -> dict[str, Any]:
    """The template's model block: accuracy, layers, filter sizes, channels, weights, (non-zero) MACs."""
    stats = network_stats(net)
    convs = [layer for layer in net.layers if layer.kind == LayerKind.CONV]
    error = PUBLISHED_TOP5_ERROR_PCT.get(model_name.lower())
    filter_sizes = sorted({(layer.R, layer.S) for layer in convs})
    macs = sum(layer.macs for layer in net.mac_layers())
    section: dict[str, Any] = {
        "name": model_name,
        "accuracy": f"{error}% top-5 error" if error is not None else "n/a",
        "accuracy_source": ACCURACY_SOURCE if error is not None else None,
        "input_shape": list(net.input_shape),
        "batch": net.batch,
        "conv_layers": stats.conv_layers,
        "fc_layers": stats.fc_layers,
        "mac_layers": len(net.mac_layers()),
        "filter_sizes": ", ".join(f"{r}" if r == s else f"{r}x{s}" for r, s in filter_sizes) or "n/a",
        "channels": _span([layer.C * layer.G for layer in convs]),
        "filters": _span([layer.M * layer.G for layer in convs]),
        "weights": stats.weights,
        "macs": macs,
        "nonzero_macs": None,
        "weight_density": None,
        "input_density": None,
    }
    if densities is not None:
        section.update(nonzero_macs=round(macs * densities.weights * densities.inputs),
                       weight_density=densities.weights, input_density=densities.inputs)
    return section


def hardware_section(arch: Architecture) -> dict[str, Any]:
    """The template's hardware block: technology, MACs and width, clock, peak GMACS, on-chip memory, area."""
    on_chip_bytes = sum(lv.size_bytes * lv.instances for lv in arch.levels
                        if lv.size_bytes is not None and lv.cls != "DRAM" and not lv.virtual)
    area_mm2 = arch.area_um2 / 1e6
    macs = arch.compute.instances
    return {
        "name": arch.name,
        "technology": arch.technology or "n/a",
        "evaluation": "simulated (stationary analytical model)",
        "mac_units": macs,
        "array": f"{arch.compute.mesh_x}x{arch.compute.mesh_y}",
        "mac_bits": arch.compute.word_bits,
        "clock_mhz": arch.clock_mhz,
        "peak_gmacs": macs * arch.clock_mhz / 1e3,
        "on_chip_memory_bytes": on_chip_bytes,
        "memory_levels": [{"name": lv.name, "instances": lv.instances, "bytes_per_instance": lv.size_bytes,
                           "word_bits": lv.word_bits} for lv in arch.levels if not lv.virtual],
        "area_mm2": area_mm2,
        "area_per_mac_mm2": area_mm2 / macs,
    }


def dram_words(plan: LayerPlan, arch: Architecture) -> tuple[int, float]:
    """Off-chip words moved by one layer (reads + fills + updates at DRAM levels) and the same in bytes."""
    words, nbytes = 0, 0.0
    for lv in plan.found.result.levels:
        if lv.name not in {x.name for x in arch.levels if x.cls == "DRAM"}:
            continue
        for tc in lv.tensors.values():
            if tc.kept:
                n = tc.reads + tc.fills + tc.updates
                words += n
                nbytes += n * lv.word_bits / 8
    return words, nbytes


def layer_rows(plans: list[LayerPlan], arch: Architecture) -> list[dict[str, Any]]:
    """Per-layer results: energy by level and by tensor, cycles, utilization, DRAM traffic, intensity."""
    rows = []
    for p in plans:
        r = p.found.result
        by_tensor: dict[str, float] = {}
        for lv in r.levels:
            for name, tc in lv.tensors.items():
                by_tensor[name] = by_tensor.get(name, 0.0) + tc.energy_pj
        leak = sum(lv.leak_energy_pj for lv in r.levels)
        _, dram_bytes = dram_words(p, arch)
        rows.append({
            "name": p.layer.name, "kind": p.layer.kind.value, "macs": r.macs, "energy_pj": r.energy_pj,
            "cycles": r.cycles, "compute_cycles": r.compute_cycles, "utilization": r.utilization,
            "energy_per_mac_pj": r.energy_per_mac_pj,
            "energy_by_level_pj": {"MAC": r.compute_energy_pj, **{lv.name: lv.energy_pj for lv in r.levels}},
            "energy_by_tensor_pj": {**by_tensor, "leakage": leak, "MAC": r.compute_energy_pj},
            "dram_bytes": dram_bytes, "macs_per_dram_byte": r.macs / dram_bytes if dram_bytes else None,
            "gmacs": r.macs * arch.clock_mhz / r.cycles / 1e3 if r.cycles else 0.0,
            "same_shape_as_earlier": p.cached,
        })
    return rows


def results_section(plans: list[LayerPlan], arch: Architecture, batch: int, nonzero_macs: int | None
                    ) -> dict[str, Any]:
    """The template's results block: throughput, latency, energy and power (with DRAM), per-MAC figures."""
    macs = sum(p.found.result.macs for p in plans)
    energy_pj = sum(p.found.result.energy_pj for p in plans)
    cycles = sum(p.found.result.cycles for p in plans)  # layers run one after another
    dram_bytes = sum(dram_words(p, arch)[1] for p in plans)
    dram_names = {lv.name for lv in arch.levels if lv.cls == "DRAM"}
    dram_energy_pj = sum(lv.energy_pj for p in plans for lv in p.found.result.levels if lv.name in dram_names)
    by_level: dict[str, float] = {"MAC": sum(p.found.result.compute_energy_pj for p in plans)}
    for p in plans:
        for lv in p.found.result.levels:
            by_level[lv.name] = by_level.get(lv.name, 0.0) + lv.energy_pj
    latency_s = cycles / (arch.clock_mhz * 1e6) if cycles else 0.0
    return {
        "batch": batch,
        "cycles": cycles,
        "latency_ms": latency_s * 1e3,
        "throughput_inferences_per_s": batch / latency_s if latency_s else 0.0,
        "throughput_gmacs": macs / latency_s / 1e9 if latency_s else 0.0,
        "utilization": macs / (cycles * arch.compute.instances) if cycles else 0.0,
        "energy_pj": energy_pj,
        "energy_per_inference_uj": energy_pj / batch / 1e6,
        "dram_energy_pj": dram_energy_pj,
        "power_mw": energy_pj * 1e-12 / latency_s * 1e3 if latency_s else 0.0,  # includes off-chip accesses
        "energy_per_mac_pj": energy_pj / macs if macs else 0.0,
        "energy_per_nonzero_mac_pj": energy_pj / nonzero_macs if nonzero_macs else None,
        "gmacs_per_w": macs / energy_pj * 1e3 if energy_pj else 0.0,
        "dram_bytes": dram_bytes,
        "dram_bytes_per_mac": dram_bytes / macs if macs else 0.0,
        "energy_by_level_pj": by_level,
    }


def benchmark_report(net: Network, model_name: str, arch: Architecture, plans: list[LayerPlan], dataflow: str,
                     objective: str, densities: Densities | None = None) -> dict[str, Any]:
    """The full template (model, hardware, results) plus per-layer rows, as one JSON-ready dict."""
    model = model_section(net, model_name, densities)
    return {
        "model": model,
        "hardware": hardware_section(arch),
        "results": results_section(plans, arch, net.batch, model["nonzero_macs"]),
        "mapping": {"dataflow": dataflow, "objective": objective},
        "layers": layer_rows(plans, arch),
    }
