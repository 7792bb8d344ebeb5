"""The Eyeriss chip (Chen et al., JSSC 2017) against the `eyeriss` preset with the row-stationary dataflow.

The mapper gives each CONV layer's best RS mapping on the preset (energies: nn_dataflow's 65 nm costs, the
NoC hop folded in, idle power as leakage). Two measured features of the chip that the loop-nest model does not
contain are then applied per layer, each with a published parameter (REFERENCES.md §4), never one fitted here:

* run-length coding of feature maps in DRAM: it saves 30% of the traffic in CONV1 and 75% in the last CONV
  layer; in between the saving is interpolated linearly in the layer's position (sparsity grows with depth).
  It applies to the feature maps (Inputs, Outputs) only; weights are stored uncompressed.
* zero-data gating: it saves 45% of PE power (MAC and scratchpad accesses; the NoC delivering words is not
  gated), the figure measured on AlexNet, assumed for VGG-16 as well.

Power is on-chip power (the chip's measured core power has no DRAM in it): everything but the DRAM level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stationary.arch.native import load_arch
from stationary.arch.spec import Architecture
from stationary.mapper.network import LayerPlan, dram_words, map_network
from stationary.mapper.search import SearchOptions
from stationary.mapping.dataflows import array_level
from stationary.validate.points import Point
from stationary.workload.layer import LayerKind
from stationary.workload.network import Network
from stationary.workload.zoo import get_model

SOURCE = "Chen et al., JSSC 2017 (REFERENCES.md §4)"
GROUP = "Eyeriss chip, 65 nm silicon"
GOAL_REL = 0.15
RLC_SAVING_FIRST = 0.30  # of CONV1's feature-map DRAM traffic (REFERENCES.md §4)
RLC_SAVING_LAST = 0.75  # of the last CONV layer's (CONV5 in AlexNet)
PE_GATING_SAVING = 0.45  # of PE power (MAC + scratchpads), zero-data gating (REFERENCES.md §4)
NOC_HOP_PJ = 4.0  # nn_dataflow's array cost per 16-bit word; the preset folds it into spad fills / buffer updates
FEATURE_MAPS = ("Inputs", "Outputs")

# published: (model, batch, DRAM MB per batch, frames per second, power mW)
CHIP = {"alexnet": (4, 15.4, 34.7, 278.0), "vgg16": (3, 321.1, 0.7, 236.0)}


@dataclass(frozen=True)
class ChipLayer:
    """One CONV layer on the chip model: the mapper's numbers and the RLC / gating corrections."""

    name: str
    macs: int
    cycles: int
    utilization: float
    dram_words_raw: dict[str, int]
    rlc_saving: float
    dram_words: float
    pe_energy_pj: float
    noc_energy_pj: float
    gating_saving_pj: float
    on_chip_energy_pj: float  # after gating, DRAM excluded

    def to_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def conv_network(model: str, batch: int) -> Network:
    """The model's CONV layers only, unwired (the chip's published figures cover CONV layers)."""
    net = get_model(model, batch=batch)
    layers = tuple(replace(x, inputs=()) for x in net.layers if x.kind == LayerKind.CONV)
    return replace(net, layers=layers)


def rlc_saving(index: int, count: int) -> float:
    """RLC saving of feature-map DRAM traffic for CONV layer `index` of `count` (linear in depth)."""
    if count <= 1:
        return RLC_SAVING_FIRST
    return RLC_SAVING_FIRST + (RLC_SAVING_LAST - RLC_SAVING_FIRST) * index / (count - 1)


def chip_layer(plan: LayerPlan, arch: Architecture, index: int, count: int) -> ChipLayer:
    """Apply RLC to one layer's DRAM traffic and zero gating to its PE energy."""
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
    on_chip = r.energy_pj - r.levels[0].energy_pj - gating
    return ChipLayer(plan.layer.name, r.macs, r.cycles, r.utilization, raw, saving, words, pe, noc, gating,
                     on_chip)


def chip_run(model: str, batch: int, options: SearchOptions, arch: Architecture | None = None) -> dict[str, Any]:
    """The model's CONV layers on the Eyeriss preset (RS): frame rate, on-chip power, DRAM traffic per batch."""
    arch = arch or load_arch("eyeriss")
    plans = map_network(conv_network(model, batch), arch, "rs", options, jobs=1)
    layers = [chip_layer(p, arch, k, len(plans)) for k, p in enumerate(plans)]
    seconds = sum(x.cycles for x in layers) / (arch.clock_mhz * 1e6)
    energy = sum(x.on_chip_energy_pj for x in layers)
    word_bytes = arch.levels[0].word_bits / 8
    raw_words = sum(sum(x.dram_words_raw.values()) for x in layers)
    macs = sum(x.macs for x in layers)
    return {"model": model, "batch": batch, "arch": arch.name, "dataflow": "rs", "macs": macs,
            "seconds": seconds, "fps": batch / seconds, "on_chip_energy_pj": energy,
            "power_mw": energy / seconds * 1e-9,
            "dram_mb": sum(x.dram_words for x in layers) * word_bytes / 1e6,
            "dram_mb_uncompressed": raw_words * word_bytes / 1e6,
            "utilization": macs / (sum(x.cycles for x in layers) * arch.compute.instances),
            "layers": [x.to_json() for x in layers]}


def eyeriss_points(options: SearchOptions, models: tuple[str, ...] = tuple(CHIP)
                   ) -> tuple[list[Point], dict[str, Any]]:
    """The published chip figures (three per network) against the model, and the runs behind them."""
    points, runs = [], {}
    labels = {"alexnet": "AlexNet CONV", "vgg16": "VGG-16 CONV"}
    notes = {
        ("alexnet", "power"): "per-access costs leave out clock tree, control, codecs (docs/validation.md)",
        ("vgg16", "power"): "per-access costs leave out clock tree, control, codecs (docs/validation.md)",
        ("vgg16", "fps"): "chip runs VGG-16 at 32% of peak, not DRAM-bound; cause not modelled (docs/validation.md)",
    }
    for model in models:
        batch, dram_mb, fps, power_mw = CHIP[model]
        run = chip_run(model, batch, options)
        runs[model] = run
        head = f"{labels[model]}, batch {batch}"
        for key, unit, ref, got in (("dram", "MB/batch", dram_mb, run["dram_mb"]),
                                    ("fps", "frames/s", fps, run["fps"]),
                                    ("power", "mW", power_mw, run["power_mw"])):
            what = {"dram": "DRAM traffic", "fps": "frame rate", "power": "chip power"}[key]
            points.append(Point(GROUP, f"{head}: {what}", unit, ref, got, GOAL_REL, SOURCE,
                                notes.get((model, key), "")))
    return points, runs
