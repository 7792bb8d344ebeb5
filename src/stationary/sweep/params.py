"""Derive a varied architecture from a native spec (a preset or a native YAML): one rule per sweep key.

Keys (docs/sweeps.md):
  pe_rows, pe_cols  the MAC array's mesh_y / mesh_x; per-PE levels (same mesh as the MACs) follow.
  glb_kb            capacity of the global buffer (the outermost on-chip level, right below DRAM), in KiB.
  rf_bytes          register-file bytes per PE (all RF levels with the MACs' mesh together), split in the
                    preset's proportions; at least one word per RF.
  bits              operand width: every word width scales by bits / the spec's `word_bits` (a 24-bit
                    accumulator of an 8-bit spec becomes 48-bit at bits=16); capacities stay as written.
  clock_mhz         the clock.
Energies: a table-derived level or MAC (no explicit pJ) is re-derived from its table by the loader. Explicit
pJ values are scaled with the rules of arch/energy.py: storage per access linearly in the access width and,
for a resized SRAM/RF, by the Horowitz capacity curve (`sram_read_pj(new) / sram_read_pj(old)`); the MAC by
`mac_pj(new_bits) / mac_pj(old_bits)`. Leakage is left as written. Area comes from the area estimates unless
the spec gives `area_um2`, which is then scaled in proportion (storage: bits held; MAC: bits squared).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from stationary.arch import energy as tables
from stationary.arch.load import PRESET_DIR, preset_names
from stationary.arch.native import arch_from_native
from stationary.arch.spec import MAX_INSTANCES, Architecture
from stationary.errors import StationaryError
from stationary.schema import MAX_INT, short_repr
from stationary.yamlio import load_yaml

SWEEP_KEYS = ("pe_rows", "pe_cols", "glb_kb", "rf_bytes", "bits", "clock_mhz")


def load_native_spec(spec: str) -> tuple[dict[str, Any], str]:
    """The raw native YAML of a preset or file (sweeps vary it before it is built) and where it came from.

    It is validated here, once, by building it: the sweep rules below then read only checked values."""
    path = PRESET_DIR / f"{spec}.yaml" if spec in preset_names() else Path(spec)
    if not path.is_file():
        raise StationaryError(f"no architecture file or preset named {spec!r}; presets: "
                              f"{', '.join(preset_names())}", field="--arch")
    data = load_yaml(path)
    if not isinstance(data, dict) or "architecture" in data:
        raise StationaryError("sweeps vary a native architecture (a preset or stationary's own YAML); "
                              "a Timeloop architecture cannot be varied", file=str(path))
    arch_from_native(data, str(path))
    return data, str(path)


INTEGER_KEYS = ("pe_rows", "pe_cols", "bits")
UPPER_BOUNDS = {"pe_rows": MAX_INSTANCES, "pe_cols": MAX_INSTANCES, "bits": 1024, "glb_kb": float(MAX_INT >> 10),
                "rf_bytes": float(MAX_INT), "clock_mhz": 1e12}


def positive(key: str, value: Any, integer: bool) -> float:
    """A sweep value checked: a finite positive number in the key's range, whole where it counts things."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise StationaryError(f"{key} must be a finite number, got {short_repr(value)}", field=f"vary.{key}")
    if integer and int(value) != value:
        raise StationaryError(f"{key} must be a whole number, got {value!r}", field=f"vary.{key}")
    if not value > 0:
        raise StationaryError(f"{key} must be positive, got {value!r}", field=f"vary.{key}")
    hi = UPPER_BOUNDS.get(key, float(MAX_INT))
    if value > hi:
        raise StationaryError(f"{key} must be at most {hi:,.0f}, got {value!r}", field=f"vary.{key}")
    return int(value) if integer else float(value)


def _bytes(lv: dict[str, Any], bits: int) -> float | None:
    """Bytes one instance of a raw level holds (None: unbounded)."""
    if "size_kb" in lv:
        return float(lv["size_kb"]) * 1024
    if lv.get("depth") is None:
        return None
    return int(lv["depth"]) * int(lv.get("block_size", 1)) * bits / 8


def _scale_energy(lv: dict[str, Any], factor: float) -> None:
    if "energy" in lv and lv["energy"]:
        e = dict(lv["energy"])
        for k in ("read_pj", "write_pj", "update_pj"):
            if k in e:
                e[k] = float(e[k]) * factor
        lv["energy"] = e


def _resize(lv: dict[str, Any], bits: int, new_bytes: float) -> None:
    """Set a level's capacity in bytes, scaling explicit energies and area with the capacity."""
    if "component" in lv:  # its capacity is the component's (an eDRAM's sram_kb, ...): not this rule's to set
        raise StationaryError(f"level {lv.get('name')!r} is built by a component; vary its component's size in "
                              "the spec instead", field="--vary")
    old = _bytes(lv, bits)
    width = bits * int(lv.get("block_size", 1))
    if old:
        _scale_energy(lv, tables.sram_read_pj(new_bytes, width) / tables.sram_read_pj(old, width))
        if "area_um2" in lv:
            lv["area_um2"] = float(lv["area_um2"]) * new_bytes / old
    if "size_kb" in lv:
        lv["size_kb"] = new_bytes / 1024
    else:
        lv["depth"] = max(1, int(new_bytes * 8 // (bits * int(lv.get("block_size", 1)))))


def vary_spec(data: dict[str, Any], params: dict[str, float]) -> dict[str, Any]:
    """A copy of the raw native spec with each sweep key applied (unknown keys are an error)."""
    out = copy.deepcopy(data)
    levels: list[dict[str, Any]] = out.get("levels") or []
    comp: dict[str, Any] = out.setdefault("compute", {})
    base_bits = int(out.get("word_bits", 16))
    mesh = (int(comp.get("mesh_x", 1)), int(comp.get("mesh_y", 1)))

    def level_bits(lv: dict[str, Any]) -> int:
        return int(lv.get("word_bits", base_bits))

    per_pe = [lv for lv in levels if (int(lv.get("mesh_x", 1)), int(lv.get("mesh_y", 1))) == mesh]
    for key in params:
        if key not in SWEEP_KEYS:
            raise StationaryError(f"unknown sweep key {key!r}; keys: {', '.join(SWEEP_KEYS)}", field="--vary")
    if "bits" in params:
        new = int(positive("bits", params["bits"], True))
        ratio = new / base_bits
        for lv in levels:
            old_b = level_bits(lv)
            new_b = max(1, round(old_b * ratio))
            _scale_energy(lv, new_b / old_b)
            if "area_um2" in lv:
                lv["area_um2"] = float(lv["area_um2"]) * (new_b / old_b if "depth" in lv else 1.0)
            if "word_bits" in lv:
                lv["word_bits"] = new_b
        old_c = int(comp.get("word_bits", base_bits))
        new_c = max(1, round(old_c * ratio))
        if "energy_pj" in comp:
            comp["energy_pj"] = float(comp["energy_pj"]) * tables.mac_pj(new_c) / tables.mac_pj(old_c)
        if "area_um2" in comp:
            comp["area_um2"] = float(comp["area_um2"]) * (new_c / old_c) ** 2
        if "word_bits" in comp:
            comp["word_bits"] = new_c
        out["word_bits"] = new
        base_bits = new
    for key, axis in (("pe_cols", "mesh_x"), ("pe_rows", "mesh_y")):
        if key in params:
            n = int(positive(key, params[key], True))
            for lv in per_pe:
                lv[axis] = n
            comp[axis] = n
    if "glb_kb" in params:
        kb = positive("glb_kb", params["glb_kb"], False)
        on_chip = [lv for lv in levels if lv.get("kind", "buffer") != "DRAM"]
        if not on_chip:
            raise StationaryError("glb_kb: the architecture has no on-chip level", field="vary.glb_kb")
        _resize(on_chip[0], level_bits(on_chip[0]), kb * 1024)
    if "rf_bytes" in params:
        total = positive("rf_bytes", params["rf_bytes"], False)
        rfs = [lv for lv in per_pe if lv.get("kind") == "RF"]
        sizes = [_bytes(lv, level_bits(lv)) or 0.0 for lv in rfs]
        if not rfs or not sum(sizes):
            raise StationaryError("rf_bytes: the architecture has no per-PE register file", field="vary.rf_bytes")
        for lv, size in zip(rfs, sizes):
            _resize(lv, level_bits(lv), max(total * size / sum(sizes), level_bits(lv) / 8))
    if "clock_mhz" in params:
        out["clock_mhz"] = positive("clock_mhz", params["clock_mhz"], False)
    return out


def varied_arch(data: dict[str, Any], params: dict[str, float], file: str = "<arch>") -> Architecture:
    """The architecture built from the varied spec (named after its parameters)."""
    spec = vary_spec(data, params)
    if params:
        spec["name"] = f"{spec.get('name', 'arch')}[" + ",".join(f"{k}={params[k]:g}" for k in sorted(params)) + "]"
    return arch_from_native(spec, file)
