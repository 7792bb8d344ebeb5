"""The survey's dataflow comparison (Sze et al. 2017 Sec. V-E; Chen et al. ISCA 2016): every dataflow on
the same 256-PE array at equal total area, each with its best mapping per layer, energy per MAC broken down
by level (ALU, RF, array, buffer, DRAM) and by tensor, in the survey's normalized units (MAC = 1).

The "array" cost (2 per word) is charged per word a PE receives or sends over the array (the survey counts
deliveries, so multicast is not free): +2 on every RF fill (a word entering a PE's RF), +2 on every global
buffer update that comes from a PE's RF (a partial sum leaving it), and +2 per MAC for each tensor the PE
does not keep (its operand or partial sum crosses the array at every MAC). These are folded into the RF
fill, buffer update and MAC energies for the search (they are fixed by the dataflow's keep rules) and
reported as their own "array" column.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stationary.arch import energy as tables
from stationary.arch.load import load_arch
from stationary.arch.spec import ActionEnergy, Architecture
from stationary.errors import StationaryError
from stationary.mapper.network import LayerPlan, map_network
from stationary.mapper.search import SearchOptions
from stationary.mapping.dataflows import array_level
from stationary.workload.layer import LayerKind
from stationary.workload.zoo import get_model

COMPARED = ("ws", "os_a", "os_b", "os_c", "is", "nlr", "rs")
PE_KEEPS = {"ws": {"Weights"}, "os": {"Outputs"}, "os_a": {"Outputs"}, "os_b": {"Outputs"}, "os_c": {"Outputs"},
            "is": {"Inputs"}, "nlr": set(), "rs": {"Weights", "Inputs", "Outputs"},
            "free": {"Weights", "Inputs", "Outputs"}}
ARRAY_PJ = tables.SURVEY_NORMALIZED["array"]
BUFFER_PJ = tables.SURVEY_NORMALIZED["buffer"]


def survey_arch(pes: int = 256, dataflow: str = "rs") -> Architecture:
    """survey256 scaled to `pes` PEs, with the array cost on buffer reads/updates; NLR gets the RF area as
    extra global buffer (equal total area, at the area per bit of arch/energy.py)."""
    base = load_arch("survey256")
    side = round(pes ** 0.5)
    if side * side != pes:
        raise StationaryError(f"must be a square number of PEs (e.g. 256 = 16 x 16), got {pes}", field="--pes")
    gb_i = array_level(base)
    rf_i = gb_i + 1
    gb, rf = base.levels[gb_i], base.levels[rf_i]
    levels = list(base.levels)
    levels[rf_i] = replace(rf, instances=pes, mesh_x=side, mesh_y=side)
    depth = gb.depth or 0
    if dataflow == "nlr":  # the RF's area buys more global buffer
        rf_area = tables.storage_area_um2("RF", rf.size_bytes) * pes
        extra_words = int(rf_area / tables.SRAM_UM2_PER_BIT / gb.word_bits)
        depth += extra_words // gb.block_size
    kept = PE_KEEPS[dataflow]
    rf_pj = tables.SURVEY_NORMALIZED["RF"]
    levels[rf_i] = replace(levels[rf_i], energy=ActionEnergy(rf_pj, rf_pj + ARRAY_PJ, rf_pj))
    levels[gb_i] = replace(gb, depth=depth, energy=ActionEnergy(
        BUFFER_PJ, BUFFER_PJ, BUFFER_PJ + (ARRAY_PJ if "Outputs" in kept else 0.0)))
    mac_pj = tables.SURVEY_NORMALIZED["MAC"] + ARRAY_PJ * (3 - len(kept))
    compute = replace(base.compute, instances=pes, mesh_x=side, mesh_y=side, energy_pj=mac_pj)
    return replace(base, name=f"survey{pes}_{dataflow}", levels=tuple(levels), compute=compute)


def breakdown(plans: list[LayerPlan], arch: Architecture, dataflow: str) -> dict[str, Any]:
    """Energy per MAC by level (ALU, RF, array, buffer, DRAM) and by tensor, normalized to one MAC = 1."""
    gb_name = arch.levels[array_level(arch)].name
    kept = PE_KEEPS[dataflow]
    alu = tables.SURVEY_NORMALIZED["MAC"]
    by_level = {"ALU": 0.0, "RF": 0.0, "array": 0.0, "buffer": 0.0, "DRAM": 0.0}
    by_tensor: dict[str, float] = {}
    macs = 0
    for p in plans:
        r = p.found.result
        macs += r.macs
        by_level["ALU"] += alu * r.macs
        for name in ("Weights", "Inputs", "Outputs"):
            if name not in kept:  # crosses the array at every MAC
                by_level["array"] += ARRAY_PJ * r.macs
                by_tensor[name] = by_tensor.get(name, 0.0) + ARRAY_PJ * r.macs
        for lv in r.levels:
            for name, tc in lv.tensors.items():
                if not tc.kept:
                    continue
                e = tc.energy_pj
                by_tensor[name] = by_tensor.get(name, 0.0) + e
                if lv.name == gb_name:
                    array = ARRAY_PJ * tc.updates if "Outputs" in kept else 0.0
                    by_level["array"] += array
                    by_level["buffer"] += e - array
                elif lv.name == "DRAM":
                    by_level["DRAM"] += e
                else:
                    array = ARRAY_PJ * tc.fills
                    by_level["array"] += array
                    by_level["RF"] += e - array
            by_level["buffer" if lv.name == gb_name else ("DRAM" if lv.name == "DRAM" else "RF")] += \
                lv.leak_energy_pj
    total = sum(by_level.values())
    return {"energy_per_mac": total / macs, "macs": macs,
            "breakdown": {k: v / macs for k, v in by_level.items()},
            "by_tensor": {k: v / macs for k, v in by_tensor.items()}}


def compare_dataflows(model: str = "alexnet", pes: int = 256, batch: int = 16, kind: str = "conv",
                      dataflows: tuple[str, ...] = COMPARED, options: SearchOptions | None = None,
                      jobs: int | None = None) -> dict[str, Any]:
    """Each dataflow's best mappings for the model's CONV (or FC) layers; energy per MAC and breakdowns."""
    net = get_model(model, batch=batch)
    wanted = LayerKind.CONV if kind == "conv" else LayerKind.FC
    layers = tuple(x for x in net.layers if x.kind == wanted)
    sub = replace(net, layers=tuple(replace(x, inputs=()) for x in layers))
    out: dict[str, Any] = {}
    for df in dataflows:
        arch = survey_arch(pes, df)
        plans = map_network(sub, arch, df, options, jobs=jobs)
        entry = breakdown(plans, arch, df)
        entry["per_layer"] = {p.layer.name: p.found.result.energy_per_mac_pj for p in plans}
        buffer_bytes = arch.levels[array_level(arch)].size_bytes
        if buffer_bytes is None:  # survey_arch always sizes the array's buffer: None would be a bug there
            raise StationaryError(f"architecture {arch.name}: the global buffer has no size")
        entry["global_buffer_kb"] = buffer_bytes / 1024
        out[df] = entry
    best = min(out, key=lambda k: out[k]["energy_per_mac"])
    for entry in out.values():
        entry["relative_to_best"] = entry["energy_per_mac"] / out[best]["energy_per_mac"]
    return {"model": model, "pes": pes, "batch": batch, "layers": kind, "lowest": best, "dataflows": out}
