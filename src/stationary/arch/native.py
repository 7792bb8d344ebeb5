"""stationary's own architecture YAML, the format of the shipped presets (`arch/load.py` finds them):
levels outermost first, energies either given in pJ or taken from a named table (`survey`, `horowitz45`),
capacities in words or kB.

Every key goes through `arch/native_spec.py` (docs/specs.md): an unknown key, a wrong type or an
out-of-range value is one StationaryError naming the file and the field — never a silent default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stationary.arch import energy as tables
from stationary.arch.native_spec import (
    TENSORS,
    ComputeSpec,
    LevelSpec,
    NativeArchSpec,
    RawComputeSpec,
    RawLevelSpec,
    component_params,
    without_unset,
)
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.model.sparsity import Sparsity, TensorFormat
from stationary.schema import MAX_INT, parse


def _raw(model: type[Any], spec: Any, file: str, where: str) -> dict[str, Any]:
    """A level / compute mapping validated as written (component shorthand expanded), as a plain dict."""
    if isinstance(spec, dict) and "component" in spec:
        spec = {**spec, "component": component_params(spec["component"])}
    return without_unset(parse(model, spec, file, where))


def _with_component(spec: dict[str, Any], top: dict[str, Any], file: str, where: str) -> dict[str, Any]:
    """A level (or the compute unit) that names a `component:` gets that component's fields as defaults."""
    if "component" not in spec:
        return spec
    from stationary.arch import components

    params = spec["component"]
    try:
        built = (components.compute_fields(params, top) if where == "compute"
                 else components.level_fields(params, spec, top))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=f"{where}.{exc.field or 'component'}") from None
    return {**built, **{k: v for k, v in spec.items() if k != "component"}}


def _tensors(values: Sequence[str] | None) -> frozenset[str]:
    return frozenset(values or ())


def _level(lv: LevelSpec, default_bits: int, table: str, outermost: bool, file: str, where: str) -> StorageLevel:
    """One validated level as a StorageLevel: capacity, energy (given or from the table), tensor rules."""
    word_bits = lv.word_bits or default_bits
    block = lv.block_size
    if lv.size_kb is not None and lv.depth is not None:
        raise StationaryError("give size_kb or depth, not both", file=file, field=f"{where}.size_kb")
    depth = lv.depth
    if lv.size_kb is not None:
        depth = int(lv.size_kb * 1024 * 8 // (word_bits * block))
        if depth < 1:
            raise StationaryError(f"size_kb {lv.size_kb:g} holds less than one {block}-word block of "
                                  f"{word_bits}-bit words", file=file, field=f"{where}.size_kb")
        if depth > MAX_INT:
            raise StationaryError(f"size_kb {lv.size_kb:g} is more than {MAX_INT:,} rows", file=file,
                                  field=f"{where}.size_kb")
    size_bytes = None if depth is None else depth * block * word_bits / 8
    if lv.energy is not None:
        e = lv.energy
        if not e.model_fields_set:
            raise StationaryError("an empty energy mapping: give read_pj (write_pj and update_pj default to it)",
                                  file=file, field=f"{where}.energy")
        read = e.read_pj if e.read_pj is not None else 0.0
        write = e.write_pj if e.write_pj is not None else read
        update = e.update_pj if e.update_pj is not None else write
        energy = ActionEnergy(read, write, update, e.leak_pj)
    else:
        energy = tables.storage_energy(table, lv.kind, size_bytes, word_bits * block)
    keep, bypass, must_keep = lv.keep, _tensors(lv.bypass), _tensors(lv.must_keep)
    if keep is not None and len(set(keep)) != len(keep):
        raise StationaryError(f"keep lists a tensor twice: {keep}", file=file, field=f"{where}.keep")
    if must_keep & bypass:
        raise StationaryError(f"{sorted(must_keep & bypass)} both bypassed and kept", file=file,
                              field=f"{where}.must_keep")
    if keep is not None and bypass & set(keep):
        raise StationaryError(f"{sorted(bypass & set(keep))} both in keep and in bypass", file=file,
                              field=f"{where}.bypass")
    if keep is not None and not must_keep <= set(keep):
        raise StationaryError(f"must_keep {sorted(must_keep - set(keep))} is not in keep", file=file,
                              field=f"{where}.must_keep")
    if outermost:  # the outermost level is where every tensor comes from: it cannot bypass one
        missing = sorted(bypass | (set(TENSORS) - set(keep) if keep is not None else set()))
        if missing:
            raise StationaryError(f"the outermost level must keep every tensor (it is where the data comes "
                                  f"from); it bypasses {missing}", file=file, field=f"{where}.bypass"
                                  if bypass else f"{where}.keep")
    try:
        return StorageLevel(
            lv.name, depth=depth, block_size=block, word_bits=word_bits, instances=lv.mesh_x * lv.mesh_y,
            mesh_x=lv.mesh_x, mesh_y=lv.mesh_y, energy=energy, read_bandwidth=lv.read_bandwidth,
            write_bandwidth=lv.write_bandwidth,
            area_um2=lv.area_um2 if lv.area_um2 is not None else tables.storage_area_um2(lv.kind, size_bytes),
            cls="DRAM" if lv.kind == "DRAM" else ("regfile" if lv.kind == "RF" else "SRAM"),
            keep_only=frozenset(keep) if keep is not None else None, bypass_always=bypass, keep_always=must_keep,
            multicast=lv.multicast, leak_instances=lv.leak_instances,
            no_multicast=frozenset((t, axis) for t, axes in (lv.no_multicast or {}).items() for axis in axes))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=f"{where}.{exc.field}") from None


def _sparsity(top: NativeArchSpec, comp: ComputeSpec, specs: list[LevelSpec]) -> Sparsity | None:
    """The document's densities, formats and zero gating/skipping as one Sparsity (None when it has none)."""
    formats = []
    for lv in specs:
        for t, f in (lv.formats or {}).items():
            fmt = (TensorFormat(f) if isinstance(f, str)
                   else TensorFormat(f.format, fiber_words=f.fiber_words, run_bits=f.run_bits))
            formats.append((lv.name, t, fmt))
    zero = tuple((lv.name, t, a) for lv in specs for t, a in (lv.zero or {}).items())
    densities = tuple((top.densities or {}).items())
    if not (formats or zero or densities) and comp.zero == "none":
        return None
    return Sparsity(densities, tuple(formats), zero, comp.zero, top.gated_energy_fraction)


def arch_from_native(data: Any, file: str = "<arch>") -> Architecture:
    """A native architecture document (already parsed YAML) as an Architecture; any problem is one error."""
    if not isinstance(data, dict):
        raise StationaryError("expected a mapping with name, compute and levels", file=file)
    top = parse(NativeArchSpec, data, file)
    top_raw = without_unset(top)  # what the components read: validated values only
    table = top.energy_table
    comp_raw = _with_component(_raw(RawComputeSpec, top.compute, file, "compute"), top_raw, file, "compute")
    comp = parse(ComputeSpec, comp_raw, file, "compute")
    bits = comp.word_bits or top.word_bits
    try:
        compute = ComputeUnit(
            comp.name, comp.mesh_x * comp.mesh_y, comp.mesh_x, comp.mesh_y,
            energy_pj=comp.energy_pj if comp.energy_pj is not None else tables.compute_energy(table, bits),
            word_bits=bits, area_um2=comp.area_um2 if comp.area_um2 is not None else tables.mac_area_um2(bits))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=f"compute.{exc.field}") from None
    levels = []
    specs = []
    for i, raw in enumerate(top.levels):
        where = f"levels[{i}]"
        merged = _with_component(_raw(RawLevelSpec, raw, file, where), top_raw, file, where)
        lv = parse(LevelSpec, merged, file, where)
        specs.append(lv)
        levels.append(_level(lv, top.word_bits, table, i == 0, file, where))
    try:
        return Architecture(top.name or Path(file).stem, tuple(levels), compute, clock_mhz=top.clock_mhz,
                            technology=top.technology, sparsity=_sparsity(top, comp, specs))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None
