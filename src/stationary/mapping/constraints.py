"""Mapping constraints (Timeloop v0.4 constraint syntax): what a dataflow or a user fixes about a mapping.

One `Constraint` per directive: `target` (a level name), `type` temporal | spatial | dataspace,
`factors` ("R=3 P=1": fixed factors; "D=0" means the whole bound), `permutation` (temporal: these dims
are the innermost loops, in this order; spatial: only these dims may be spatial, the first `split` on mesh
X, the rest on Y; without `split` each listed dim may use either axis — unlike a Timeloop mapping, where a
missing split puts everything on X), `keep` / `bypass` (dataspace). The architecture's own keep/bypass lists
always apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.workload.loopnest import LoopNest
from stationary.yamlio import load_yaml

KINDS = ("temporal", "spatial", "dataspace")


@dataclass(frozen=True)
class Constraint:
    """One constraint directive on one level."""

    target: str
    kind: str
    factors: tuple[tuple[str, int], ...] = ()  # fixed factors (0 = the whole bound)
    permutation: tuple[str, ...] = ()
    split: int | None = None
    keep: frozenset[str] | None = None
    bypass: frozenset[str] = frozenset()
    source: str = ""  # where it came from, for error messages ("dataflow rs", "c.yaml: constraints[2]")

    def describe(self) -> str:
        parts = [f"{self.kind} on {self.target}"]
        if self.factors:
            parts.append("factors " + " ".join(f"{d}={f}" for d, f in self.factors))
        if self.permutation:
            parts.append("permutation " + "".join(self.permutation)
                         + (f" split {self.split}" if self.split is not None else ""))
        if self.keep is not None:
            parts.append(f"keep {sorted(self.keep)}")
        if self.bypass:
            parts.append(f"bypass {sorted(self.bypass)}")
        return ", ".join(parts) + (f" ({self.source})" if self.source else "")


@dataclass
class LevelRules:
    """All constraints of one level merged: what the map space may still choose there."""

    temporal: dict[str, int] = field(default_factory=dict)
    spatial: dict[str, int] = field(default_factory=dict)
    inner_order: tuple[str, ...] = ()
    spatial_x: frozenset[str] | None = None  # dims allowed on X (None = any)
    spatial_y: frozenset[str] | None = None
    keep: frozenset[str] = frozenset()  # must keep
    bypass: frozenset[str] = frozenset()  # must bypass


def load_constraints(path: str | Path) -> list[Constraint]:
    """A constraints YAML: `constraints:` (or `mapspace_constraints:` / `targets:`) then a list."""
    file = str(path)
    data = load_yaml(path)
    items = data
    if isinstance(data, dict):
        items = data.get("constraints", data.get("mapspace_constraints", data.get("targets")))
        if isinstance(items, dict):
            items = items.get("targets")
    if not isinstance(items, list):
        raise StationaryError("expected `constraints:` followed by a list of directives", file=file,
                              field="constraints")
    return [constraint_from_dict(d, file, f"constraints[{i}]") for i, d in enumerate(items)]


def constraint_from_dict(d: Any, file: str = "<constraints>", where: str = "constraint") -> Constraint:
    if not isinstance(d, dict) or "target" not in d or "type" not in d:
        raise StationaryError("each constraint needs a target and a type", file=file, field=where)
    kind = str(d["type"])
    if kind in ("datatype", "bypass"):
        kind = "dataspace"
    if kind not in KINDS:
        raise StationaryError(f"unknown constraint type {kind!r} (temporal, spatial, dataspace)", file=file,
                              field=f"{where}.type")
    factors = _parse_factors(d.get("factors"), file, f"{where}.factors")
    perm = d.get("permutation") or ()
    if isinstance(perm, str):
        perm = perm.split() if (" " in perm or "," in perm) else list(perm)
    perm = tuple(str(x).strip(",") for x in perm if str(x).strip(","))
    split = d.get("split")
    if split is not None and (not isinstance(split, int) or split < 0):
        raise StationaryError("split must be a non-negative integer", file=file, field=f"{where}.split")
    keep = d.get("keep")
    return Constraint(str(d["target"]), kind, factors, perm, split,
                      frozenset(map(str, keep)) if keep is not None else None,
                      frozenset(map(str, d.get("bypass") or [])), f"{file}: {where}")


def _parse_factors(text: Any, file: str, field_name: str) -> tuple[tuple[str, int], ...]:
    import re

    if text is None:
        return ()
    if isinstance(text, list):
        text = " ".join(map(str, text))
    pat = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*=?\s*([0-9]+)")
    if pat.sub("", str(text)).strip():
        raise StationaryError(f"cannot read factors {text!r} (expected e.g. 'R=3 P=1')", file=file, field=field_name)
    return tuple((m.group(1), int(m.group(2))) for m in pat.finditer(str(text)))


def merge(constraints: list[Constraint], nest: LoopNest, arch: Architecture) -> list[LevelRules]:
    """Constraints (plus the architecture's keep_only / bypass_always) -> rules per level, checked."""
    rules = [LevelRules(keep=frozenset(), bypass=frozenset(lv.bypass_always) | (
        frozenset(t.name for t in nest.tensors) - lv.keep_only if lv.keep_only is not None else frozenset()))
        for lv in arch.levels]
    tensors = {t.name for t in nest.tensors}
    for c in constraints:
        try:
            i = arch.level_index(c.target)
        except StationaryError as exc:
            raise StationaryError(f"{exc.message} (in constraint: {c.describe()})") from None
        r = rules[i]
        for d, _ in c.factors:
            if d not in nest.bounds:
                raise StationaryError(f"unknown dimension {d!r} in constraint {c.describe()}; "
                                      f"dimensions: {list(nest.dims)}")
        fixed = {d: (nest.bounds[d] if f == 0 else f) for d, f in c.factors}
        for d in c.permutation:
            if d not in nest.bounds:
                raise StationaryError(f"unknown dimension {d!r} in constraint {c.describe()}")
        if c.kind == "temporal":
            r.temporal.update(fixed)
            if c.permutation:
                r.inner_order = c.permutation
        elif c.kind == "spatial":
            r.spatial.update(fixed)
            if c.permutation:
                if c.split is None:  # no split: the listed dims may use either axis
                    r.spatial_x = r.spatial_y = frozenset(c.permutation)
                else:
                    r.spatial_x = frozenset(c.permutation[:c.split])
                    r.spatial_y = frozenset(c.permutation[c.split:])
        else:
            unknown = ((c.keep or frozenset()) | c.bypass) - tensors
            if unknown:
                raise StationaryError(f"unknown data space(s) {sorted(unknown)} in constraint {c.describe()}; "
                                      f"data spaces: {sorted(tensors)}")
            r.keep = r.keep | (c.keep or frozenset())
            r.bypass = r.bypass | c.bypass
        if r.keep & r.bypass:
            raise StationaryError(f"constraint {c.describe()} both keeps and bypasses {sorted(r.keep & r.bypass)} "
                                  f"at {c.target} (the architecture may already bypass it)")
    return rules
