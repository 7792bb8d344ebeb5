"""NVDLA (nvdla.org primer, "Example Area and Performance"): int8 ResNet-50 frame rate at 1 GHz for 7
configurations, each a shipped preset `nvdla_<MACs>` (MAC array atomic-C x atomic-K, convolution buffer, DRAM
bandwidth as the DRAM level's read and write bandwidth in words per cycle).

Every point is computed through the path `stationary evaluate resnet50 --arch nvdla_<MACs> --dataflow ws
--batch 1 --layers all --objective cycles --budget N --json` runs: all CONV and FC layers, batch 1, the mapper's
fastest weight-stationary mapping per layer (the primer's figures are throughput of configurations optimized for
ResNet-50; energy is not checked). Nothing here is fitted to the frame rates.
"""

from __future__ import annotations

from typing import Any

from stationary.arch.load import load_arch
from stationary.mapper.network import map_network, network_performance, network_totals, select_layers
from stationary.mapper.search import SearchOptions
from stationary.validate.points import Point
from stationary.workload.zoo import get_model

SOURCE = "NVDLA primer, Example Area and Performance (nvdla.org/primer.html; docs/references.md §8)"
GROUP = "NVDLA, int8 ResNet-50 at 1 GHz"
GOAL_REL = 0.15
MODEL, DATAFLOW, LAYERS, BATCH, OBJECTIVE = "resnet50", "ws", "all", 1, "cycles"
NVDLA_BUDGET = 2_000  # fast-model evaluations per distinct layer shape (7 configurations x 21 shapes)
# MACs -> (convolution buffer KB, DRAM GB/s, ResNet-50 frames/s), the primer's table
PRIMER = {2048: (512, 20.0, 269.0), 1024: (256, 15.0, 153.0), 512: (256, 10.0, 93.0), 256: (256, 5.0, 46.0),
          128: (256, 2.0, 20.0), 64: (128, 1.0, 7.3), 32: (128, 0.5, 3.6)}


def preset(macs: int) -> str:
    """The shipped preset of one primer row."""
    return f"nvdla_{macs}"


def nvdla_options(options: SearchOptions) -> SearchOptions:
    """What `stationary evaluate --objective cycles --seed S --budget NVDLA_BUDGET` builds."""
    return SearchOptions(objective=OBJECTIVE, seed=options.seed, budget=NVDLA_BUDGET)


def evaluate_command(macs: int, options: SearchOptions) -> str:
    """The `stationary evaluate` command line whose `--json` total `fps` the point equals."""
    return (f"stationary evaluate {MODEL} --arch {preset(macs)} --dataflow {DATAFLOW} --batch {BATCH} "
            f"--layers {LAYERS} --objective {options.objective} --seed {options.seed} --budget {options.budget} "
            f"--json")


def nvdla_run(macs: int, options: SearchOptions) -> dict[str, Any]:
    """ResNet-50 on one NVDLA preset, as `stationary evaluate` maps it: totals and what bounds each layer."""
    arch = load_arch(preset(macs))
    opts = nvdla_options(options)
    plans = map_network(select_layers(get_model(MODEL, batch=BATCH), LAYERS), arch, DATAFLOW, opts, jobs=1)
    totals = network_totals(plans)
    totals.update(network_performance(plans, arch))
    compute = sum(p.found.result.compute_cycles for p in plans)
    dram_bound = sum(p.found.result.cycles for p in plans if p.found.result.levels[0].cycles
                     > p.found.result.compute_cycles)
    return {"preset": arch.name, "command": evaluate_command(macs, opts), "total": totals,
            "compute_cycles": compute, "dram_bound_cycles": dram_bound,
            "peak_fps": arch.clock_mhz * 1e6 * arch.compute.instances / totals["macs"]}


def nvdla_points(options: SearchOptions, configs: tuple[int, ...] = tuple(PRIMER)
                 ) -> tuple[list[Point], dict[str, Any]]:
    """The primer's frame rate of each configuration against the model's."""
    points, runs = [], {}
    for macs in configs:
        kb, gbps, fps = PRIMER[macs]
        run = nvdla_run(macs, options)
        runs[preset(macs)] = run
        points.append(Point(GROUP, f"{macs} MACs, {kb} KB buffer, {gbps:g} GB/s: frame rate (evaluate)", "frames/s",
                            fps, run["total"]["fps"], GOAL_REL, SOURCE))
    return points, runs
