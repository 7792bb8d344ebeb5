"""The ISCA 2016 Eyeriss dataflow study as nn_dataflow reproduces it (docs/references.md §3): AlexNet at batch 16 on
16x16 PEs, 512 B RF per PE, 128 kB buffer, costs DRAM 200 / buffer 6 / array 2 / RF 1 x a MAC, row stationary,
no buffer bypass; per-layer ALU, DRAM and RF energy in units of 1e9 MAC energies.

The architecture and the array charge are `stationary dataflows`' (studies/dataflows.py). Three things of the
study's setup (as nn_dataflow's test runs it) are added, none of them a fitted number:

* no buffer bypass: a keep-everything constraint on the global buffer (nn_dataflow's default
  `Option(sw_gbuf_bypass=(False, False, False))`);
* AlexNet's CONV layers as Krizhevsky's two towers (nn_dataflow's `nns/alex_net.py`: conv1_a/conv1_b ... each
  a separate layer): each tower is mapped on its own and counted twice. CONV2, CONV4 and CONV5 are grouped
  (each tower reads its own half of the input), CONV1 and CONV3 are not, so both of their towers read the
  whole input from DRAM;
* whole rows above the buffer: RS's 1-D row convolution runs over a whole output row in a PE, so nn_dataflow's
  loop blocking (core/loop_blocking_scheme.py) only blocks channels and batch (and P folds) over DRAM and the
  buffer, never a row's width Q. Here: no Q factor at the DRAM level.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stationary.mapper.network import dram_words, map_network
from stationary.mapper.search import SearchOptions
from stationary.mapping.constraints import Constraint
from stationary.mapping.dataflows import array_level
from stationary.studies.dataflows import breakdown, survey_arch
from stationary.validate.points import Point
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.zoo import get_model

SOURCE = "Chen et al., ISCA 2016, as reproduced by nn_dataflow's test (docs/references.md §3)"
GROUP = "ISCA'16 RS dataflow study"
GOAL_REL = 0.10
BATCH = 16
TOWERS = 2  # AlexNet's CONV layers run as two towers (nn_dataflow nns/alex_net.py)
# layer: (ALU, DRAM, RF) energy, 1e9 MAC units
REFERENCE = {
    "conv1": (1.69, 2.46, 6.75), "conv2": (3.58, 2.27, 14.33), "conv3": (2.39, 2.02, 9.57),
    "conv4": (1.79, 1.57, 7.18), "conv5": (1.20, 1.05, 4.78), "fc6": (0.60, 7.78, 2.42),
    "fc7": (0.27, 3.39, 1.07), "fc8": (0.07, 0.84, 0.26),
}
PAPER_NAMES = {"conv1": "CONV1", "conv2": "CONV2", "conv3": "CONV3", "conv4": "CONV4", "conv5": "CONV5",
               "fc6": "FC1", "fc7": "FC2", "fc8": "FC3"}


def tower(layer: Layer) -> tuple[Layer, int]:
    """One tower of a CONV layer and how many towers there are; FC layers are one layer (nn_dataflow's fc1
    reads both towers' outputs)."""
    if layer.kind != LayerKind.CONV:
        return layer, 1
    if layer.G == TOWERS:  # grouped: each tower its own group
        return replace(layer, G=1), TOWERS
    if layer.G != 1 or layer.M % TOWERS:
        raise ValueError(f"layer {layer.name}: cannot split into {TOWERS} towers")
    return replace(layer, M=layer.M // TOWERS), TOWERS  # each tower: half the filters, the whole input


def isca16_run(options: SearchOptions) -> dict[str, dict[str, Any]]:
    """Per-layer ALU / DRAM / RF / array / buffer energy (1e9 MAC units) of AlexNet's RS mappings, with the
    DRAM words per tensor (all towers)."""
    arch = survey_arch(256, "rs")
    net = get_model("alexnet", batch=BATCH)
    towers = {x.name: tower(replace(x, inputs=())) for x in net.layers if x.name in REFERENCE}
    gb = arch.levels[array_level(arch)].name
    constraints = [
        Constraint(gb, "dataspace", keep=frozenset(("Weights", "Inputs", "Outputs")),
                   source="ISCA'16 study: no buffer bypass"),
        Constraint(arch.levels[0].name, "temporal", (("Q", 1),),
                   source="ISCA'16 RS (nn_dataflow): whole rows above the buffer"),
    ]
    plans = map_network(replace(net, layers=tuple(t for t, _ in towers.values())), arch, "rs", options,
                        constraints=constraints, jobs=1)
    out: dict[str, dict[str, Any]] = {}
    for p in plans:
        count = towers[p.layer.name][1]
        b = breakdown([p], arch, "rs")
        out[p.layer.name] = {k: v * b["macs"] * count / 1e9 for k, v in b["breakdown"].items()}
        out[p.layer.name]["towers"] = count
        out[p.layer.name]["dram_words"] = {k: v * count for k, v in dram_words(p.found.result).items()}
    return out


def isca16_points(options: SearchOptions) -> tuple[list[Point], dict[str, Any]]:
    """24 points: ALU, DRAM and RF energy of each AlexNet layer."""
    run = isca16_run(options)
    points = []
    for layer, refs in REFERENCE.items():
        for component, ref in zip(("ALU", "DRAM", "RF"), refs):
            points.append(Point(GROUP, f"AlexNet {PAPER_NAMES[layer]}, batch 16: {component} energy",
                                "1e9 MAC", ref, run[layer][component], GOAL_REL, SOURCE))
    return points, run
