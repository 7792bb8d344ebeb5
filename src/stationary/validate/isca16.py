"""The ISCA 2016 Eyeriss dataflow study as nn_dataflow reproduces it (REFERENCES.md §3): AlexNet at batch 16 on
16x16 PEs, 512 B RF per PE, 128 kB buffer, costs DRAM 200 / buffer 6 / array 2 / RF 1 x a MAC, row stationary,
no buffer bypass; per-layer ALU, DRAM and RF energy in units of 1e9 MAC energies.

The architecture and the array charge are `stationary dataflows`' (mapper/compare.py); the only addition is the
study's "no buffer bypass" rule, a keep-everything constraint on the global buffer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stationary.mapper.compare import breakdown, survey_arch
from stationary.mapper.network import map_network
from stationary.mapper.search import SearchOptions
from stationary.mapping.constraints import Constraint
from stationary.mapping.dataflows import array_level
from stationary.validate.points import Point
from stationary.workload.zoo import get_model

SOURCE = "Chen et al., ISCA 2016, as reproduced by nn_dataflow's test (REFERENCES.md §3)"
GROUP = "ISCA'16 RS dataflow study"
GOAL_REL = 0.10
BATCH = 16
# layer: (ALU, DRAM, RF) energy, 1e9 MAC units
REFERENCE = {
    "conv1": (1.69, 2.46, 6.75), "conv2": (3.58, 2.27, 14.33), "conv3": (2.39, 2.02, 9.57),
    "conv4": (1.79, 1.57, 7.18), "conv5": (1.20, 1.05, 4.78), "fc6": (0.60, 7.78, 2.42),
    "fc7": (0.27, 3.39, 1.07), "fc8": (0.07, 0.84, 0.26),
}
PAPER_NAMES = {"conv1": "CONV1", "conv2": "CONV2", "conv3": "CONV3", "conv4": "CONV4", "conv5": "CONV5",
               "fc6": "FC1", "fc7": "FC2", "fc8": "FC3"}


def isca16_run(options: SearchOptions) -> dict[str, dict[str, float]]:
    """Per-layer ALU / DRAM / RF / array / buffer energy (1e9 MAC units) of AlexNet's RS mappings."""
    arch = survey_arch(256, "rs")
    net = get_model("alexnet", batch=BATCH)
    layers = tuple(replace(x, inputs=()) for x in net.layers if x.name in REFERENCE)
    gb = arch.levels[array_level(arch)].name
    no_bypass = Constraint(gb, "dataspace", keep=frozenset(("Weights", "Inputs", "Outputs")),
                           source="ISCA'16 study: no buffer bypass")
    plans = map_network(replace(net, layers=layers), arch, "rs", options, constraints=[no_bypass], jobs=1)
    out: dict[str, dict[str, float]] = {}
    for p in plans:
        b = breakdown([p], arch, "rs")
        out[p.layer.name] = {k: v * b["macs"] / 1e9 for k, v in b["breakdown"].items()}
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
