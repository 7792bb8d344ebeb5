"""Read and write mappings in Timeloop's v0.4 layout (target / type / factors / permutation / keep / bypass)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.workload.loopnest import LoopNest
from stationary.yamlio import load_yaml

_FACTOR = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*=?\s*([0-9]+)")


def load_timeloop_mapping(path: str | Path, nest: LoopNest, arch: Architecture) -> Mapping:
    file = str(path)
    return mapping_from_dict(load_yaml(path), nest, arch, file)


def mapping_from_dict(data: Any, nest: LoopNest, arch: Architecture, file: str = "<mapping>") -> Mapping:
    """Timeloop mapping directives -> Mapping; the order of directives does not matter (level order does)."""
    directives = data.get("mapping") if isinstance(data, dict) else data
    if not isinstance(directives, list):
        raise StationaryError("expected `mapping:` followed by a list of directives", file=file, field="mapping")
    per_level: list[dict[str, Any]] = [{} for _ in arch.levels]
    for i, d in enumerate(directives):
        where = f"mapping[{i}]"
        if not isinstance(d, dict) or "target" not in d or "type" not in d:
            raise StationaryError("each directive needs a target and a type", file=file, field=where)
        try:
            level = arch.level_index(str(d["target"]))
        except StationaryError as exc:
            raise StationaryError(exc.message, file=file, field=f"{where}.target") from None
        kind = str(d["type"])
        slot = per_level[level]
        if kind in ("temporal", "spatial"):
            factors = _factors(d.get("factors", ""), nest, file, f"{where}.factors")
            perm = _perm(d.get("permutation"), nest, file, f"{where}.permutation")
            if kind == "temporal":
                slot.update(temporal=factors, permutation=perm)
            else:
                split = d.get("split")
                if split is not None and (not isinstance(split, int) or split < 0):
                    raise StationaryError("split must be a non-negative integer", file=file, field=f"{where}.split")
                slot.update(spatial=factors, spatial_permutation=perm, split=split)
        elif kind in ("datatype", "dataspace", "bypass"):
            slot["keep"] = frozenset(map(str, d.get("keep") or []))
            slot["bypass"] = frozenset(map(str, d.get("bypass") or []))
        else:
            raise StationaryError(f"unknown directive type {kind!r} (temporal, spatial, dataspace)", file=file,
                                  field=f"{where}.type")
    mapping = Mapping(tuple(LevelMapping(**slot) for slot in per_level))
    mapping.validate(nest, arch, file)
    return mapping


def _factors(text: Any, nest: LoopNest, file: str, field: str) -> dict[str, int]:
    """'R=3 P=16' or 'C1 M8' or a list -> {dim: factor}; 'D=0' means the whole bound; 1s dropped."""
    if isinstance(text, list):
        text = " ".join(map(str, text))
    text = str(text or "")
    out: dict[str, int] = {}
    leftover = _FACTOR.sub("", text).strip()
    if leftover:
        raise StationaryError(f"cannot read factors {text!r} (expected e.g. 'R=3 P=16')", file=file, field=field)
    for m in _FACTOR.finditer(text):
        d, v = m.group(1), int(m.group(2))
        if d not in nest.bounds:
            raise StationaryError(f"unknown dimension {d!r}; dimensions: {list(nest.dims)}", file=file, field=field)
        v = nest.bounds[d] if v == 0 else v
        if v > 1:
            out[d] = v
    return out


def _perm(text: Any, nest: LoopNest, file: str, field: str) -> tuple[str, ...]:
    """'RPK' or ['R', 'P'] -> ('R', 'P', ...); single-letter dimension names may be run together."""
    if text is None:
        return ()
    items = [str(x) for x in text] if isinstance(text, list) else None
    if items is None:
        s = str(text).strip()
        items = s.split() if " " in s or "," in s else list(s)
        items = [x.strip(",") for x in items if x.strip(",")]
    for d in items:
        if d not in nest.bounds:
            raise StationaryError(f"unknown dimension {d!r} in permutation; dimensions: {list(nest.dims)}",
                                  file=file, field=field)
    if len(set(items)) != len(items):
        raise StationaryError(f"dimension repeated in permutation {text!r}", file=file, field=field)
    return tuple(items)


def mapping_to_dict(mapping: Mapping, nest: LoopNest, arch: Architecture) -> dict[str, Any]:
    """Mapping -> Timeloop v0.4 mapping YAML structure (outermost level first)."""
    out: list[dict[str, Any]] = []
    for lm, lv in zip(mapping.levels, arch.levels):
        def fac(f: dict[str, int]) -> str:
            return " ".join(f"{d}={f.get(d, 1)}" for d in nest.dims)

        def perm(order: list[str]) -> str:
            return ("" if all(len(d) == 1 for d in order) else " ").join(order)

        out.append({"target": lv.name, "type": "temporal", "factors": fac(lm.temporal),
                    "permutation": perm(lm.temporal_order(nest.dims))})
        if lm.spatial:
            entry: dict[str, Any] = {"target": lv.name, "type": "spatial", "factors": fac(lm.spatial),
                                     "permutation": perm(lm.spatial_order(nest.dims))}
            if lm.split is not None:
                entry["split"] = lm.split
            out.append(entry)
        if not lv.virtual:
            keep = sorted(t.name for t in nest.tensors if lm.keeps(t.name))
            bypass = sorted(t.name for t in nest.tensors if not lm.keeps(t.name))
            out.append({"target": lv.name, "type": "dataspace", "keep": keep, "bypass": bypass})
    return {"mapping": out}
