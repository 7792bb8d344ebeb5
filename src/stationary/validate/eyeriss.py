"""The Eyeriss chip (Chen et al., JSSC 2017) against the `eyeriss` preset with the row-stationary dataflow.

The dense numbers are computed through exactly the path `stationary evaluate MODEL --arch eyeriss --dataflow rs
--batch B --layers conv --budget N --json` runs (same functions, same search options, same preset), so what
validation shows is what a user gets. Two measured features of the chip that the Model does not contain yet are
then applied per layer as a separately labelled *chip correction*, each with a published parameter
(docs/references.md §4), never one fitted here:

* run-length coding of feature maps in DRAM: it saves 30% of the traffic in CONV1 and 75% in the last CONV
  layer; in between the saving is interpolated linearly in the layer's position (sparsity grows with depth).
  It applies to the feature maps (Inputs, Outputs) only; weights are stored uncompressed.
* zero-data gating: it saves 45% of PE power (MAC and scratchpad accesses; the NoC delivering words is not
  gated), the figure measured on AlexNet, assumed for VGG-16 as well.

Power is on-chip power (the chip's measured core power has no DRAM in it): everything but the DRAM level.
Per layer, the JSSC paper's Table V (AlexNet CONV1-5, batch 4) is checked too: power, latency, MACs, active PEs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stationary.arch.native import load_arch
from stationary.arch.spec import Architecture
from stationary.mapper.network import (
    LayerPlan,
    dram_words,
    map_network,
    network_performance,
    network_totals,
    select_layers,
)
from stationary.mapper.search import SearchOptions
from stationary.mapping.dataflows import array_level
from stationary.validate.points import Point
from stationary.workload.zoo import get_model

SOURCE = "Chen et al., JSSC 2017 (docs/references.md §4)"
TABLE_V_SOURCE = "Chen et al., JSSC 2017 Table V, as nn_dataflow's test_eyeriss_isscc16 encodes it (docs/references.md §8)"
GROUP = "Eyeriss chip, 65 nm silicon"
GOAL_REL = 0.15
RLC_SAVING_FIRST = 0.30  # of CONV1's feature-map DRAM traffic (docs/references.md §4)
RLC_SAVING_LAST = 0.75  # of the last CONV layer's (CONV5 in AlexNet)
PE_GATING_SAVING = 0.45  # of PE power (MAC + scratchpads), zero-data gating (docs/references.md §4)
NOC_HOP_PJ = 4.0  # nn_dataflow's array cost per 16-bit word; the preset folds it into spad fills / buffer updates
FEATURE_MAPS = ("Inputs", "Outputs")
ARCH, DATAFLOW, LAYERS = "eyeriss", "rs", "conv"  # the evaluate options every chip point is computed with

# published: (model, batch, DRAM MB per batch, frames per second, power mW)
CHIP = {"alexnet": (4, 15.4, 34.7, 278.0), "vgg16": (3, 321.1, 0.7, 236.0)}
# JSSC 2017 Table V, AlexNet at batch 4: layer -> (power mW, latency ms, MACs in millions, active PEs of 168).
# Active PEs of CONV1: 151 in nn_dataflow's reference list, 154 in its comment; 151 is used.
TABLE_V = {"conv1": (332.0, 16.5, 421.66, 151), "conv2": (288.0, 39.2, 895.79, 135),
           "conv3": (266.0, 21.8, 598.1, 156), "conv4": (235.0, 16.0, 448.6, 156),
           "conv5": (236.0, 10.0, 299.0, 156)}
TABLE_V_MACS_TOLERANCE_M = 0.1  # nn_dataflow's own tolerance on the printed MAC counts (millions)
DENSE = "evaluate, dense preset"
CORRECTED = "+ chip RLC/gating, not in the Model"


def evaluate_options(options: SearchOptions) -> SearchOptions:
    """The search options `stationary evaluate --objective O --seed S --budget N` builds (the CLI's defaults
    for everything else), taken from the validation run's objective, seed and budget."""
    return SearchOptions(objective=options.objective, seed=options.seed, budget=options.budget)


def evaluate_command(model: str, batch: int, options: SearchOptions) -> str:
    """The `stationary evaluate` command line whose `--json` numbers the dense points equal."""
    return (f"stationary evaluate {model} --arch {ARCH} --dataflow {DATAFLOW} --batch {batch} --layers {LAYERS} "
            f"--objective {options.objective} --seed {options.seed} --budget {options.budget} --json")


@dataclass(frozen=True)
class ChipLayer:
    """One CONV layer: the evaluate numbers (dense) and the RLC / gating chip corrections beside them."""

    name: str
    macs: int
    cycles: int
    utilization: float
    active_pes: int  # PEs the mapping uses (spatial instances of the MAC array)
    dram_words_raw: dict[str, int]
    rlc_saving: float
    dram_words: float
    pe_energy_pj: float
    noc_energy_pj: float
    gating_saving_pj: float
    dense_on_chip_energy_pj: float  # evaluate's energy minus the DRAM level
    on_chip_energy_pj: float  # after gating, DRAM excluded

    def to_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def rlc_saving(index: int, count: int) -> float:
    """RLC saving of feature-map DRAM traffic for CONV layer `index` of `count` (linear in depth)."""
    if count <= 1:
        return RLC_SAVING_FIRST
    return RLC_SAVING_FIRST + (RLC_SAVING_LAST - RLC_SAVING_FIRST) * index / (count - 1)


def chip_layer(plan: LayerPlan, arch: Architecture, index: int, count: int) -> ChipLayer:
    """One layer's evaluate numbers, with RLC applied to its DRAM traffic and zero gating to its PE energy."""
    r = plan.found.result
    raw = dram_words(r)
    saving = rlc_saving(index, count)
    words = sum(v * (1 - saving) if k in FEATURE_MAPS else v for k, v in raw.items())
    pe_names = {lv.name for lv in arch.levels[array_level(arch) + 1:]}
    buffer_name = arch.levels[array_level(arch)].name
    pe_dynamic = noc = 0.0
    for lv in r.levels:
        if lv.name in pe_names:
            fills = sum(tc.fills for tc in lv.tensors.values() if tc.kept)
            noc += NOC_HOP_PJ * fills
            pe_dynamic += lv.dynamic_energy_pj - NOC_HOP_PJ * fills
        elif lv.name == buffer_name:
            noc += NOC_HOP_PJ * sum(tc.updates for tc in lv.tensors.values() if tc.kept)
    pe = r.compute_energy_pj + pe_dynamic
    gating = PE_GATING_SAVING * pe
    dense = r.energy_pj - r.levels[0].energy_pj
    return ChipLayer(plan.layer.name, r.macs, r.cycles, r.utilization, r.utilized_macs, raw, saving, words, pe,
                     noc, gating, dense, dense - gating)


def chip_run(model: str, batch: int, options: SearchOptions) -> dict[str, Any]:
    """The model's CONV layers on the Eyeriss preset (RS) exactly as `stationary evaluate` maps them: the
    evaluate totals (`evaluate`, dense) and the chip-corrected DRAM traffic and power beside them."""
    arch = load_arch(ARCH)
    opts = evaluate_options(options)
    plans = map_network(select_layers(get_model(model, batch=batch), LAYERS), arch, DATAFLOW, opts, jobs=1)
    evaluate = network_totals(plans)
    evaluate.update(network_performance(plans, arch))
    layers = [chip_layer(p, arch, k, len(plans)) for k, p in enumerate(plans)]
    seconds = evaluate["seconds"]
    energy = sum(x.on_chip_energy_pj for x in layers)
    word_bytes = arch.levels[0].word_bits / 8
    return {"model": model, "batch": batch, "arch": arch.name, "dataflow": DATAFLOW,
            "command": evaluate_command(model, batch, opts), "evaluate": evaluate,
            "macs": evaluate["macs"], "seconds": seconds, "fps": evaluate["fps"],
            "dense_power_mw": evaluate["on_chip_power_mw"], "dense_dram_mb": evaluate["dram_bytes"] / 1e6,
            "on_chip_energy_pj": energy, "power_mw": energy / seconds * 1e-9,
            "dram_mb": sum(x.dram_words for x in layers) * word_bytes / 1e6,
            "utilization": evaluate["macs"] / (evaluate["cycles"] * arch.compute.instances),
            "clock_mhz": arch.clock_mhz, "layers": [x.to_json() for x in layers]}


def layer_points(run: dict[str, Any]) -> list[Point]:
    """Table V per layer (AlexNet, batch 4): power (evaluate and gated), latency, MACs, active PEs."""
    points = []
    clock_hz = run["clock_mhz"] * 1e6
    for x in run["layers"]:
        power_ref, latency_ref, macs_ref, pes_ref = TABLE_V[x["name"]]
        seconds = x["cycles"] / clock_hz
        head = f"AlexNet {x['name'].upper()}, batch {run['batch']}"
        gap = "per-access costs leave out clock tree, control, codecs (docs/validation.md)"
        points += [
            Point(GROUP, f"{head}: power ({DENSE})", "mW", power_ref,
                  x["dense_on_chip_energy_pj"] / seconds * 1e-9, GOAL_REL, TABLE_V_SOURCE, gap),
            Point(GROUP, f"{head}: power ({CORRECTED})", "mW", power_ref,
                  x["on_chip_energy_pj"] / seconds * 1e-9, GOAL_REL, TABLE_V_SOURCE, gap),
            Point(GROUP, f"{head}: processing latency", "ms", latency_ref, seconds * 1e3, GOAL_REL, TABLE_V_SOURCE),
            Point(GROUP, f"{head}: MACs", "M", macs_ref, x["macs"] / 1e6, TABLE_V_MACS_TOLERANCE_M / macs_ref,
                  TABLE_V_SOURCE, "zoo layer shapes (CONV2/4/5 grouped, the two towers)"),
            Point(GROUP, f"{head}: active PEs", "PEs", pes_ref, x["active_pes"], GOAL_REL, TABLE_V_SOURCE),
        ]
    return points


def eyeriss_points(options: SearchOptions, models: tuple[str, ...] = tuple(CHIP)
                   ) -> tuple[list[Point], dict[str, Any]]:
    """The published chip figures against the model (evaluate's dense numbers and the chip-corrected ones,
    each labelled), Table V per layer for AlexNet, and the runs behind them."""
    points, runs = [], {}
    labels = {"alexnet": "AlexNet CONV", "vgg16": "VGG-16 CONV"}
    power_note = "per-access costs leave out clock tree, control, codecs (docs/validation.md)"
    notes = {
        ("alexnet", "dram", DENSE): "no RLC in the Model yet (docs/validation.md)",
        ("vgg16", "dram", DENSE): "no RLC in the Model yet (docs/validation.md)",
        ("alexnet", "power", DENSE): power_note, ("alexnet", "power", CORRECTED): power_note,
        ("vgg16", "power", DENSE): power_note, ("vgg16", "power", CORRECTED): power_note,
        ("vgg16", "fps", DENSE): "chip runs VGG-16 at 32% of peak, not DRAM-bound (docs/validation.md)",
    }
    for model in models:
        batch, dram_mb, fps, power_mw = CHIP[model]
        run = chip_run(model, batch, options)
        runs[model] = run
        head = f"{labels[model]}, batch {batch}"
        for key, what, unit, ref, how, got in (
                ("dram", "DRAM traffic", "MB/batch", dram_mb, DENSE, run["dense_dram_mb"]),
                ("dram", "DRAM traffic", "MB/batch", dram_mb, CORRECTED, run["dram_mb"]),
                ("fps", "frame rate", "frames/s", fps, DENSE, run["fps"]),
                ("power", "chip power", "mW", power_mw, DENSE, run["dense_power_mw"]),
                ("power", "chip power", "mW", power_mw, CORRECTED, run["power_mw"])):
            points.append(Point(GROUP, f"{head}: {what} ({how})", unit, ref, got, GOAL_REL, SOURCE,
                                notes.get((model, key, how), "")))
        if model == "alexnet":
            points += layer_points(run)
    return points, runs
