"""Read and write mappings in Timeloop's v0.4 layout (target / type / factors / permutation / keep / bypass)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.constraints import arch_constraints, parse_factors, parse_permutation
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.schema import check_keys, nearest, short_repr
from stationary.workload.loopnest import LoopNest
from stationary.yamlio import load_yaml


def load_timeloop_mapping(path: str | Path, nest: LoopNest, arch: Architecture) -> Mapping:
    file = str(path)
    return mapping_from_dict(load_yaml(path), nest, arch, file)


DIRECTIVE_KEYS = {"temporal": ("target", "type", "factors", "permutation"),
                  "spatial": ("target", "type", "factors", "permutation", "split"),
                  "dataspace": ("target", "type", "keep", "bypass")}
TYPE_ALIASES = {"datatype": "dataspace", "bypass": "dataspace"}


def mapping_from_dict(data: Any, nest: LoopNest, arch: Architecture, file: str = "<mapping>") -> Mapping:
    """Timeloop mapping directives -> Mapping; the order of directives does not matter (level order does).
    Every key is checked; a level given two directives of one type, a tensor both kept and bypassed, and a
    tensor the outermost level bypasses (data from nowhere) are errors."""
    if isinstance(data, dict):
        check_keys(data, ("mapping",), file, "")
    directives = data.get("mapping") if isinstance(data, dict) else data
    if not isinstance(directives, list):
        raise StationaryError("expected `mapping:` followed by a list of directives", file=file, field="mapping")
    per_level: list[dict[str, Any]] = [{} for _ in arch.levels]
    given: set[tuple[int, str]] = set()
    for i, d in enumerate(directives):
        where = f"mapping[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("target"), str) or not isinstance(d.get("type"), str):
            raise StationaryError("each directive needs a target and a type (strings)", file=file, field=where)
        kind = TYPE_ALIASES.get(d["type"], d["type"])
        if kind not in DIRECTIVE_KEYS:
            raise StationaryError(f"unknown directive type {d['type']!r}{nearest(d['type'], DIRECTIVE_KEYS)} "
                                  f"(temporal, spatial, dataspace)", file=file, field=f"{where}.type")
        check_keys(d, DIRECTIVE_KEYS[kind], file, where)
        try:
            level = arch.level_index(d["target"])
        except StationaryError as exc:
            raise StationaryError(exc.message, file=file, field=f"{where}.target") from None
        if (level, kind) in given:
            raise StationaryError(f"a second {kind} directive for {d['target']}", file=file, field=where)
        given.add((level, kind))
        slot = per_level[level]
        if kind in ("temporal", "spatial"):
            factors, residuals = _factors(d.get("factors", ""), nest, file, f"{where}.factors")
            perm = _perm(d.get("permutation"), nest, file, f"{where}.permutation")
            if kind == "temporal":
                slot.update(temporal=factors, permutation=perm, temporal_residual=residuals)
            else:
                split = d.get("split")
                if split is not None and (isinstance(split, bool) or not isinstance(split, int)
                                          or not 0 <= split <= 64):
                    raise StationaryError("split must be an integer from 0 to 64", file=file, field=f"{where}.split")
                slot.update(spatial=factors, spatial_permutation=perm, split=split, spatial_residual=residuals)
        else:
            keep, bypass = (_names(d.get(k), file, f"{where}.{k}") for k in ("keep", "bypass"))
            if keep & bypass:
                raise StationaryError(f"{sorted(keep & bypass)} both kept and bypassed", file=file, field=where)
            slot["keep"], slot["bypass"] = keep, bypass
    mapping = Mapping(tuple(LevelMapping(**slot) for slot in per_level))
    mapping.validate(nest, arch, file)
    top = next((i for i, lv in enumerate(arch.levels) if not lv.virtual), 0)
    lost = [t.name for t in nest.tensors if not mapping.levels[top].keeps(t.name)]
    if lost:
        raise StationaryError(f"the outermost level {arch.levels[top].name} bypasses {lost}: that data would come "
                              f"from nowhere", file=file, field="mapping")
    from stationary.mapping.check import directive_violations

    broken = directive_violations(mapping, arch, nest, arch_constraints(arch))
    if broken:  # as timeloop-model does, a mapping must obey the constraints written in the architecture
        raise StationaryError(f"the mapping breaks {len(broken)} of the architecture's constraints: {broken[0]}"
                              + (f"; and {len(broken) - 1} more" if len(broken) > 1 else ""), file=file,
                              field="mapping")
    return mapping


def _names(value: Any, file: str, field: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise StationaryError(f"expected a list of data-space names, got {short_repr(value)}", file=file,
                              field=field)
    return frozenset(value)


_RESIDUAL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)\s*,\s*(\d+)(?![\d=<>])")


def _factors(text: Any, nest: LoopNest, file: str, field: str) -> tuple[dict[str, int], dict[str, int]]:
    """'R=3 P=16', 'C1 M8', 'N=1,C=1' or a list -> ({dim: factor}, {dim: residual}); 'D=0' means the whole
    bound; 1s dropped. Timeloop 3's `P=2,1` is factor 2 with residual 1 (a comma followed by a number, where
    'N=1,C=1' separates two factors); a residual equal to its factor is no residual."""
    residuals: dict[str, int] = {}

    def strip(m: re.Match[str]) -> str:
        d, n, r = m.group(1), int(m.group(2)), int(m.group(3))
        if d in residuals:
            raise StationaryError(f"factor of {d} given twice", file=file, field=field)
        if not 1 <= r <= n:
            raise StationaryError(f"residual {d}={n},{r}: a remainder is from 1 to its factor {n}", file=file,
                                  field=field)
        if r < n:
            residuals[d] = r
        return f"{d}={n}"

    if isinstance(text, str):
        text = _RESIDUAL.sub(strip, text)
    elif isinstance(text, list):
        text = [_RESIDUAL.sub(strip, x) if isinstance(x, str) else x for x in text]
    fixed, lo, hi = parse_factors(text if text != "" else None, file, field)
    if lo or hi:
        raise StationaryError("a mapping gives exact factors (D=n), not bounds", file=file, field=field)
    out: dict[str, int] = {}
    for d, v in fixed:
        if d not in nest.bounds:
            raise StationaryError(f"unknown dimension {d!r}{nearest(d, nest.dims)}; dimensions: {list(nest.dims)}",
                                  file=file, field=field)
        if d in residuals and v == 0:
            raise StationaryError(f"{d}=0 (the whole bound) cannot carry a residual", file=file, field=field)
        v = nest.bounds[d] if v == 0 else v
        if v > 1:
            out[d] = v
    return out, residuals


def _perm(text: Any, nest: LoopNest, file: str, field: str) -> tuple[str, ...]:
    """'RPK' or ['R', 'P'] -> ('R', 'P', ...); single-letter dimension names may be run together."""
    prefix, suffix = parse_permutation(text, file, field)
    if suffix:
        raise StationaryError("a mapping's permutation has no `_` (that is constraint syntax)", file=file,
                              field=field)
    for d in prefix:
        if d not in nest.bounds:
            raise StationaryError(f"unknown dimension {d!r} in permutation{nearest(d, nest.dims)}; dimensions: "
                                  f"{list(nest.dims)}", file=file, field=field)
    return prefix


def mapping_to_dict(mapping: Mapping, nest: LoopNest, arch: Architecture) -> dict[str, Any]:
    """Mapping -> Timeloop v0.4 mapping YAML structure (outermost level first)."""
    out: list[dict[str, Any]] = []
    kept = mapping.keep_table(nest, arch)  # what the model counts: the arch's keep/bypass rules applied
    for lm, lv, row in zip(mapping.levels, arch.levels, kept):
        def fac(f: dict[str, int], res: dict[str, int]) -> str:
            return " ".join(f"{d}={f.get(d, 1)}" + (f",{res[d]}" if d in res else "") for d in nest.dims)

        def perm(order: list[str]) -> str:
            return ("" if all(len(d) == 1 for d in order) else " ").join(order)

        out.append({"target": lv.name, "type": "temporal", "factors": fac(lm.temporal, lm.temporal_residual),
                    "permutation": perm(lm.temporal_order(nest.dims))})
        if lm.spatial:
            entry: dict[str, Any] = {"target": lv.name, "type": "spatial",
                                     "factors": fac(lm.spatial, lm.spatial_residual),
                                     "permutation": perm(lm.spatial_order(nest.dims))}
            if lm.split is not None:
                entry["split"] = lm.split
            out.append(entry)
        if not lv.virtual:
            keep = sorted(t.name for t, k in zip(nest.tensors, row) if k)
            bypass = sorted(t.name for t, k in zip(nest.tensors, row) if not k)
            out.append({"target": lv.name, "type": "dataspace", "keep": keep, "bypass": bypass})
    return {"mapping": out}
