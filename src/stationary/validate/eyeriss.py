"""The Eyeriss chip (Chen et al., JSSC 2017) against the `eyeriss_chip` preset with the row-stationary dataflow.

Every point is computed through exactly the path `stationary evaluate MODEL --arch eyeriss_chip --dataflow rs
--batch B --layers conv --objective O --seed S --budget N --json` runs (the same functions, search options and
preset), and each point is read from a dict shaped like that command's JSON (`total`, `layers`) by one
function, `chip_points`, so what validation shows is what a user gets. The chip's run-length coding of feature
maps at DRAM and its zero gating in the PE are in the preset (model/sparsity.py, arch/presets/eyeriss_chip.yaml);
nothing is added here.

Power is on-chip power (the chip's measured core power has no DRAM in it): evaluate's `on_chip_power_mw`, and
per layer its energy minus the DRAM level's over its latency. Per layer, the JSSC paper's Table V (AlexNet
CONV1-5, batch 4) is checked too: power, latency, MACs, active PEs.
"""

from __future__ import annotations

from typing import Any

from stationary.arch.load import load_arch
from stationary.mapper.network import map_network, network_performance, network_totals, select_layers
from stationary.mapper.search import SearchOptions
from stationary.validate.points import Point
from stationary.workload.zoo import get_model

SOURCE = "Chen et al., JSSC 2017 (docs/references.md §4)"
TABLE_V_SOURCE = ("Chen et al., JSSC 2017 Table V, as nn_dataflow's test_eyeriss_isscc16 encodes it "
                  "(docs/references.md §8)")
GROUP = "Eyeriss chip, 65 nm silicon (evaluate --arch eyeriss_chip)"
GOAL_REL = 0.15
ARCH, DATAFLOW, LAYERS = "eyeriss_chip", "rs", "conv"  # the evaluate options every chip point is computed with
DRAM_LEVEL = "DRAM"  # the off-chip level, left out of on-chip power

# published: (model, batch, DRAM MB per batch, frames per second, power mW)
CHIP = {"alexnet": (4, 15.4, 34.7, 278.0), "vgg16": (3, 321.1, 0.7, 236.0)}
LABELS = {"alexnet": "AlexNet CONV", "vgg16": "VGG-16 CONV"}
# JSSC 2017 Table V, AlexNet at batch 4: layer -> (power mW, latency ms, MACs in millions, active PEs of 168).
# Active PEs of CONV1: 151 in nn_dataflow's reference list, 154 in its comment; 151 is used.
TABLE_V = {"conv1": (332.0, 16.5, 421.66, 151), "conv2": (288.0, 39.2, 895.79, 135),
           "conv3": (266.0, 21.8, 598.1, 156), "conv4": (235.0, 16.0, 448.6, 156),
           "conv5": (236.0, 10.0, 299.0, 156)}
TABLE_V_MACS_TOLERANCE_M = 0.1  # nn_dataflow's own tolerance on the printed MAC counts (millions)
POWER_GAP = "per-access costs leave out clock tree, control, codecs (docs/validation.md)"
NOTES = {
    "alexnet: chip power": POWER_GAP, "vgg16: chip power": POWER_GAP,
    "vgg16: frame rate": "chip runs VGG-16 at 32% of peak, not DRAM-bound (docs/validation.md)",
}


def evaluate_options(options: SearchOptions) -> SearchOptions:
    """The search options `stationary evaluate --objective O --seed S --budget N` builds (the CLI's defaults
    for everything else), taken from the validation run's objective, seed and budget."""
    return SearchOptions(objective=options.objective, seed=options.seed, budget=options.budget)


def evaluate_command(model: str, batch: int, options: SearchOptions) -> str:
    """The `stationary evaluate` command line whose `--json` numbers the chip points are read from."""
    return (f"stationary evaluate {model} --arch {ARCH} --dataflow {DATAFLOW} --batch {batch} --layers {LAYERS} "
            f"--objective {options.objective} --seed {options.seed} --budget {options.budget} --json")


def chip_run(model: str, batch: int, options: SearchOptions) -> dict[str, Any]:
    """The model's CONV layers on `eyeriss_chip` (RS) as `stationary evaluate` maps them, in the shape of its
    `--json` output: `total` (evaluate's totals) and per layer the fields the points read."""
    arch = load_arch(ARCH)
    opts = evaluate_options(options)
    plans = map_network(select_layers(get_model(model, batch=batch), LAYERS), arch, DATAFLOW, opts, jobs=1)
    total = network_totals(plans)
    total.update(network_performance(plans, arch))
    layers = [{"name": p.layer.name, "macs": p.found.result.macs, "energy_pj": p.found.result.energy_pj,
               "cycles": p.found.result.cycles, "utilized_macs": p.found.result.utilized_macs,
               "levels": {lv.name: lv.energy_pj for lv in p.found.result.levels}} for p in plans]
    return {"model": model, "batch": batch, "arch": arch.name, "dataflow": DATAFLOW,
            "command": evaluate_command(model, batch, opts), "total": total, "layers": layers}


def chip_points(model: str, out: dict[str, Any]) -> list[Point]:
    """The published figures of `model` against an evaluate `--json` output (or `chip_run`'s, the same shape):
    DRAM traffic, frame rate and on-chip power of the network, and for AlexNet Table V per layer."""
    batch, dram_mb, fps, power_mw = CHIP[model]
    t = out["total"]
    head = f"{LABELS[model]}, batch {batch}"
    points = [Point(GROUP, f"{head}: {what}", unit, ref, got, GOAL_REL, SOURCE, NOTES.get(f"{model}: {what}", ""))
              for what, unit, ref, got in (("DRAM traffic", "MB/batch", dram_mb, t["dram_bytes"] / 1e6),
                                           ("frame rate", "frames/s", fps, t["fps"]),
                                           ("chip power", "mW", power_mw, t["on_chip_power_mw"]))]
    if model != "alexnet":
        return points
    clock_hz = t["clock_mhz"] * 1e6
    for x in out["layers"]:
        power_ref, latency_ref, macs_ref, pes_ref = TABLE_V[x["name"]]
        seconds = x["cycles"] / clock_hz
        on_chip_pj = x["energy_pj"] - x["levels"][DRAM_LEVEL]
        head = f"AlexNet {x['name'].upper()}, batch {batch}"
        points += [
            Point(GROUP, f"{head}: power", "mW", power_ref, on_chip_pj / seconds * 1e-9, GOAL_REL, TABLE_V_SOURCE,
                  POWER_GAP),
            Point(GROUP, f"{head}: processing latency", "ms", latency_ref, seconds * 1e3, GOAL_REL, TABLE_V_SOURCE),
            Point(GROUP, f"{head}: MACs", "M", macs_ref, x["macs"] / 1e6, TABLE_V_MACS_TOLERANCE_M / macs_ref,
                  TABLE_V_SOURCE, "zoo layer shapes (CONV2/4/5 grouped, the two towers)"),
            Point(GROUP, f"{head}: active PEs", "PEs", pes_ref, x["utilized_macs"], GOAL_REL, TABLE_V_SOURCE),
        ]
    return points


def eyeriss_points(options: SearchOptions, models: tuple[str, ...] = tuple(CHIP)
                   ) -> tuple[list[Point], dict[str, Any]]:
    """The published chip figures against `evaluate --arch eyeriss_chip` (totals, and Table V per layer for
    AlexNet), and the runs behind them."""
    points, runs = [], {}
    for model in models:
        run = chip_run(model, CHIP[model][0], options)
        runs[model] = run
        points += chip_points(model, run)
    return points, runs
