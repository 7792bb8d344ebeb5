"""Component models for near-data and in-memory processing (eDRAM, 3-D DRAM vaults, analog crossbars).

A native arch YAML level (or its `compute`) may say `component: {type: edram, ...}`; `level_fields` turns
that into the level's ordinary YAML fields (size, energy, area, mesh, bandwidth), which fields written
explicitly in the level still override. Every number's source is in the component's module docstring.
"""

from __future__ import annotations

from typing import Any

from stationary.arch.components.crossbar import CrossbarSpec
from stationary.arch.components.edram import edram_area_um2, edram_bytes_at_sram_area, edram_energy
from stationary.arch.components.stacked_dram import dram_energy, stack_words_per_cycle
from stationary.arch.energy import sram_read_pj
from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError

LEVEL_COMPONENTS = ("edram", "dram", "dac", "adc", "crossbar")
COMPUTE_COMPONENTS = ("crossbar",)


def _energy_yaml(e: ActionEnergy) -> dict[str, float]:
    return {"read_pj": e.read_pj, "write_pj": e.write_pj, "update_pj": e.update_pj, "leak_pj": e.leak_pj}


def crossbar_spec(arch: dict[str, Any], params: dict[str, Any]) -> CrossbarSpec:
    """The architecture's `crossbar:` section (overridden by the component's own keys) as a CrossbarSpec."""
    base = arch.get("crossbar") or {}
    if not isinstance(base, dict):
        raise StationaryError("expected a mapping of crossbar parameters", field="crossbar")
    merged = {**base, **{k: v for k, v in params.items() if k not in ("type", "crossbars")}}
    known = set(CrossbarSpec.__dataclass_fields__)
    unknown = sorted(set(merged) - known)
    if unknown:
        raise StationaryError(f"unknown crossbar parameter(s) {unknown}; known: {sorted(known)}",
                              field=f"crossbar.{unknown[0]}")
    return CrossbarSpec(**merged)


def _crossbars(params: dict[str, Any]) -> int:
    n = params.get("crossbars", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise StationaryError(f"crossbars must be a positive integer, got {n!r}", field="component.crossbars")
    return n


def level_fields(params: Any, level: dict[str, Any], arch: dict[str, Any]) -> dict[str, Any]:
    """YAML fields of a storage level built from a component: `params` is the level's `component:` value."""
    if isinstance(params, str):
        params = {"type": params}
    if not isinstance(params, dict) or params.get("type") not in LEVEL_COMPONENTS:
        raise StationaryError(f"component must be one of {', '.join(LEVEL_COMPONENTS)} (as `type`), "
                              f"got {params!r}", field="component")
    kind = params["type"]
    word_bits = int(level.get("word_bits", arch.get("word_bits", 16)))
    width = word_bits * int(level.get("block_size", 1))
    clock_mhz = float(arch.get("clock_mhz", 1000.0))
    if kind == "edram":
        if "sram_kb" in params:  # the area of this SRAM, filled with denser eDRAM
            size_bytes = edram_bytes_at_sram_area(float(params["sram_kb"]) * 1024,
                                                  float(params.get("density_vs_sram", 3.0)))
        else:
            component_kb: float = params.get("size_kb", 0)  # typed: an Any default picks dict.get's None overload
            size_bytes = float(level.get("size_kb", component_kb)) * 1024
        reference = None
        if "sram_access_pj" in params:
            reference = (float(params.get("sram_kb", size_bytes / 1024)) * 1024, float(params["sram_access_pj"]))
        energy = edram_energy(size_bytes, width, clock_mhz, reference,
                              float(params.get("retention_us", 40.0)), float(params.get("refresh_fj_per_bit", 30.0)),
                              float(params.get("extra_leak_pj", 0.0)))
        return {"kind": "buffer", "size_kb": size_bytes / 1024, "energy": _energy_yaml(energy),
                "area_um2": edram_area_um2(size_bytes, float(params.get("density_vs_sram", 3.0)))}
    if kind == "dram":
        memory = str(params.get("memory", "ddr3"))
        pj = params.get("pj_per_bit")
        fields: dict[str, Any] = {"kind": "DRAM", "energy": _energy_yaml(
            dram_energy(memory, width, None if pj is None else float(pj)))}
        if "vaults" in params or "channels" in params:
            channels: int = params.get("channels", 1)
            bw = stack_words_per_cycle(memory, int(params.get("vaults", channels)), clock_mhz,
                                       word_bits)
            fields.update(read_bandwidth=bw, write_bandwidth=bw)
        return fields
    spec = crossbar_spec(arch, params)
    n = _crossbars(params)
    if kind == "dac":  # one input register + row DACs per crossbar; a read drives one row
        depth = int(params.get("depth", spec.rows))
        holding = sram_read_pj(depth * word_bits / 8, word_bits)
        return {"kind": "RF", "mesh_x": n, "mesh_y": 1, "depth": depth,
                "energy": _energy_yaml(spec.dac_energy(holding)), "area_um2": spec.dac_area_um2()}
    if kind == "adc":  # one output register + shift-and-add per weight column; ADCs shared per crossbar
        depth = int(params.get("depth", 2))
        holding = sram_read_pj(depth * word_bits / 8, word_bits)
        return {"kind": "RF", "mesh_x": n * spec.weights_per_row, "mesh_y": 1, "depth": depth,
                "energy": _energy_yaml(spec.adc_energy(word_bits, holding)),
                "area_um2": spec.adc_area_um2() / spec.weights_per_row}
    # crossbar cells: one instance per (row, weight column); holds one weight in weight_slices cells
    return {"kind": "RF", "mesh_x": n * spec.weights_per_row, "mesh_y": spec.rows, "depth": 1,
            "energy": _energy_yaml(spec.cell_energy()),
            "area_um2": spec.array_area_um2() / (spec.rows * spec.weights_per_row)}


def compute_fields(params: Any, arch: dict[str, Any]) -> dict[str, Any]:
    """YAML fields of the compute unit built from a component (the crossbar: its cells do the MACs)."""
    if isinstance(params, str):
        params = {"type": params}
    if not isinstance(params, dict) or params.get("type") not in COMPUTE_COMPONENTS:
        raise StationaryError(f"compute component must be one of {', '.join(COMPUTE_COMPONENTS)}, got {params!r}",
                              field="compute.component")
    spec = crossbar_spec(arch, params)
    n = _crossbars(params)
    return {"name": "CrossbarMAC", "mesh_x": n * spec.weights_per_row, "mesh_y": spec.rows,
            "energy_pj": spec.mac_pj(), "area_um2": 0.0}
