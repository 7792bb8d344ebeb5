"""stationary's own architecture YAML (and the shipped presets): levels outermost first, energies either
given in pJ or taken from a named table (`survey`, `horowitz45`), capacities in words or kB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stationary.arch import energy as tables
from stationary.arch.ert import EnergyTable
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.yamlio import load_yaml, require

PRESET_DIR = Path(__file__).with_name("presets")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_arch(spec: str | Path, ert: str | Path | None = None) -> Architecture:
    """A preset name, a native YAML file, or a Timeloop v0.4 arch YAML (which then needs an ERT)."""
    from stationary.arch.timeloop import arch_from_dict

    text = str(spec)
    if text in preset_names():
        path = PRESET_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if not path.is_file():
            raise StationaryError(f"no architecture file or preset named {text!r}; presets: "
                                  f"{', '.join(preset_names())}", field="--arch")
    data = load_yaml(path)
    energy = EnergyTable.load(ert) if ert else None
    if isinstance(data, dict) and "architecture" in data:
        if energy is None:
            raise StationaryError("a Timeloop architecture needs its energy table: pass --ert ERT.yaml",
                                  file=str(path))
        return arch_from_dict(data, energy, str(path), name=path.stem)
    return arch_from_native(data, str(path))


def _with_component(spec: dict[str, Any], data: dict[str, Any], file: str, where: str) -> dict[str, Any]:
    """A level (or the compute unit) that names a `component:` gets that component's fields as defaults."""
    if "component" not in spec:
        return spec
    from stationary.arch import components

    try:
        built = (components.compute_fields(spec["component"], data) if where == "compute"
                 else components.level_fields(spec["component"], spec, data))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=f"{where}.{exc.field or 'component'}") from None
    return {**built, **{k: v for k, v in spec.items() if k != "component"}}


def arch_from_native(data: Any, file: str = "<arch>") -> Architecture:
    if not isinstance(data, dict):
        raise StationaryError("expected a mapping with name, compute and levels", file=file)
    table = str(data.get("energy_table", "horowitz45"))
    default_bits = int(data.get("word_bits", 16))
    comp = _with_component(require(data, "compute", file, dict), data, file, "compute")
    bits = int(comp.get("word_bits", default_bits))
    cx, cy = int(comp.get("mesh_x", 1)), int(comp.get("mesh_y", 1))
    compute = ComputeUnit(
        str(comp.get("name", "MAC")), cx * cy, cx, cy,
        energy_pj=float(comp["energy_pj"]) if "energy_pj" in comp else tables.compute_energy(table, bits),
        word_bits=bits, area_um2=float(comp.get("area_um2", tables.mac_area_um2(bits))))
    levels = []
    for i, lv in enumerate(require(data, "levels", file, list)):
        where = f"levels[{i}]"
        name = str(require(lv, "name", file, str, where))
        lv = _with_component(lv, data, file, where)
        kind = str(lv.get("kind", "buffer"))
        word_bits = int(lv.get("word_bits", default_bits))
        block = int(lv.get("block_size", 1))
        depth = lv.get("depth")
        if "size_kb" in lv:
            depth = int(float(lv["size_kb"]) * 1024 * 8 // (word_bits * block))
        if depth is not None:
            depth = int(depth)
        mx, my = int(lv.get("mesh_x", 1)), int(lv.get("mesh_y", 1))
        size_bytes = None if depth is None else depth * block * word_bits / 8
        if "energy" in lv:
            e = lv["energy"] or {}
            try:
                energy = ActionEnergy(float(e.get("read_pj", 0)), float(e.get("write_pj", e.get("read_pj", 0))),
                                      float(e.get("update_pj", e.get("write_pj", e.get("read_pj", 0)))),
                                      float(e.get("leak_pj", 0)))
            except StationaryError as exc:
                raise StationaryError(exc.message, file=file, field=f"{where}.energy.{exc.field}") from None
        else:
            energy = tables.storage_energy(table, kind, size_bytes, word_bits * block)
        keep = lv.get("keep")
        try:
            levels.append(StorageLevel(
                name, depth=depth, block_size=block, word_bits=word_bits, instances=mx * my, mesh_x=mx, mesh_y=my,
                energy=energy, read_bandwidth=lv.get("read_bandwidth"), write_bandwidth=lv.get("write_bandwidth"),
                area_um2=float(lv.get("area_um2", tables.storage_area_um2(kind, size_bytes))),
                cls="DRAM" if kind == "DRAM" else ("regfile" if kind == "RF" else "SRAM"),
                keep_only=frozenset(map(str, keep)) if keep is not None else None,
                bypass_always=frozenset(map(str, lv.get("bypass") or [])),
                keep_always=frozenset(map(str, lv.get("must_keep") or [])),
                multicast=bool(lv.get("multicast", True))))
        except StationaryError as exc:
            raise StationaryError(exc.message, file=file, field=f"{where}.{exc.field}") from None
    try:
        return Architecture(str(data.get("name", Path(file).stem)), tuple(levels), compute,
                            clock_mhz=float(data.get("clock_mhz", 1000.0)), technology=str(data.get("technology", "")))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None
