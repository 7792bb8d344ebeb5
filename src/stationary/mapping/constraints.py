"""Mapping constraints (Timeloop v0.4 syntax): what an architecture, a dataflow or a user fixes about a mapping.

One `Constraint` per directive on one level (`target`), of a `kind`:

* temporal / spatial: `factors` (`R=3`: exactly 3; `R=0`: the whole bound; `R<=4`, `R>=2`: bounds; a value
  above the bound means the bound, as in Timeloop); `permutation` (innermost first: the listed dims are the
  innermost loops of the level in this order — among loops whose factor is not 1 — and the dims after a `_`
  the outermost ones; the rest may be ordered freely); spatial only: `split` (positions < split of the
  spatial order go on mesh X, the rest on Y; without a split any cut is allowed, as Timeloop's mapper does).
* dataspace: `keep` (must keep), `bypass` (must bypass); `keep_only` set: every tensor not kept is bypassed
  (a `!Parallel` branch, or the `keep_only` macro); `*` in `keep`: every tensor not bypassed (`bypass_only`).
  A `("*", 1)` factor: every dim not named is 1 (`factors_only`).
* utilization: `min_utilization`, the least fraction of MACs the spatial factors must use.
* max_overbooked_proportion: accepted only as 0 (the model never overbooks a buffer).

Timeloop refuses a factor, a permutation or a split given twice for one level; so do we, unless the two agree.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.schema import check_keys, nearest, short_repr
from stationary.workload.loopnest import LoopNest
from stationary.yamlio import load_yaml

KINDS = ("temporal", "spatial", "dataspace", "utilization", "max_overbooked_proportion")
TYPE_ALIASES = {"datatype": "dataspace", "bypass": "dataspace", "bypassing": "dataspace", "parallelism": "utilization"}
#: keys a directive may have, by kind (Timeloop v0.4 and timeloopfe's keep_only / bypass_only / factors_only)
KEYS = {
    "temporal": ("target", "type", "factors", "factors_only", "permutation"),
    "spatial": ("target", "type", "factors", "factors_only", "permutation", "split"),
    "dataspace": ("target", "type", "keep", "bypass", "keep_only", "bypass_only"),
    "utilization": ("target", "type", "min"),
    "max_overbooked_proportion": ("target", "type", "proportion"),
}
_FACTOR = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*(<=|>=|=)?\s*([0-9]+)\s*,?")


@dataclass(frozen=True)
class Constraint:
    """One constraint directive on one level."""

    target: str
    kind: str
    factors: tuple[tuple[str, int], ...] = ()  # fixed factors (0 = the whole bound)
    permutation: tuple[str, ...] = ()  # innermost first
    split: int | None = None
    keep: frozenset[str] | None = None
    bypass: frozenset[str] = frozenset()
    source: str = ""  # where it came from, for error messages ("dataflow rs", "c.yaml: constraints[2]")
    max_factors: tuple[tuple[str, int], ...] = ()
    min_factors: tuple[tuple[str, int], ...] = ()
    permutation_suffix: tuple[str, ...] = ()  # the outermost loops, in this order (after `_`)
    keep_only: bool = False  # bypass every tensor not in `keep`
    min_utilization: float | None = None

    def describe(self) -> str:
        parts = [f"{self.kind} on {self.target}"]
        facs = [f"{d}={f}" for d, f in self.factors] + [f"{d}<={f}" for d, f in self.max_factors] + \
            [f"{d}>={f}" for d, f in self.min_factors]
        if facs:
            parts.append("factors " + " ".join(facs))
        if self.permutation or self.permutation_suffix:
            parts.append("permutation " + "".join(self.permutation)
                         + ("_" + "".join(self.permutation_suffix) if self.permutation_suffix else ""))
        if self.split is not None:
            parts.append(f"split {self.split}")
        if self.keep is not None:
            parts.append(("keep only " if self.keep_only else "keep ") + str(sorted(self.keep)))
        if self.bypass:
            parts.append(f"bypass {sorted(self.bypass)}")
        if self.min_utilization is not None:
            parts.append(f"min {self.min_utilization}")
        return ", ".join(parts) + (f" ({self.source})" if self.source else "")


@dataclass
class LevelRules:
    """All constraints of one level merged: what the map space may still choose there."""

    temporal: dict[str, int] = field(default_factory=dict)  # fixed factors
    spatial: dict[str, int] = field(default_factory=dict)
    temporal_max: dict[str, int] = field(default_factory=dict)
    spatial_max: dict[str, int] = field(default_factory=dict)
    temporal_min: dict[str, int] = field(default_factory=dict)
    spatial_min: dict[str, int] = field(default_factory=dict)
    inner_order: tuple[str, ...] = ()  # temporal: innermost loops, in this order
    outer_order: tuple[str, ...] = ()  # temporal: outermost loops, in this order
    spatial_x: frozenset[str] | None = None  # dims allowed on X (None = any)
    spatial_y: frozenset[str] | None = None
    spatial_order: SpatialOrder | None = None  # a spatial permutation (with or without split)
    keep: frozenset[str] = frozenset()  # must keep
    bypass: frozenset[str] = frozenset()  # must bypass


@dataclass(frozen=True)
class SpatialOrder:
    """A spatial permutation as Timeloop reads it: prefix + (free infix) + suffix, cut at `split` (None: any)."""

    prefix: tuple[str, ...]
    suffix: tuple[str, ...]
    split: int | None
    dims: tuple[str, ...]

    @property
    def infix(self) -> tuple[str, ...]:
        return tuple(d for d in self.dims if d not in self.prefix and d not in self.suffix)

    def position(self, d: str) -> int:
        """Place in the order; the free infix dims share one place (they may be ordered any way)."""
        if d in self.prefix:
            return self.prefix.index(d)
        if d in self.suffix:
            return len(self.prefix) + 1 + self.suffix.index(d)
        return len(self.prefix)

    def infix_slots(self) -> tuple[int, int]:
        """With a split: how many infix dims fall on X and on Y."""
        n, a, b = len(self.dims), len(self.prefix), len(self.suffix)
        assert self.split is not None
        nx = max(0, min(self.split, n - b) - a)
        return nx, (n - a - b) - nx

    def forced_axis(self, d: str) -> str | None:
        """'X' or 'Y' where a split fixes the axis of d; None where it is free."""
        if self.split is None:
            return None
        n, b = len(self.dims), len(self.suffix)
        if d in self.prefix:
            return "X" if self.prefix.index(d) < self.split else "Y"
        if d in self.suffix:
            return "X" if n - b + self.suffix.index(d) < self.split else "Y"
        nx, ny = self.infix_slots()
        return "Y" if nx == 0 else ("X" if ny == 0 else None)


def arch_constraints(arch: Architecture) -> tuple[Constraint, ...]:
    """The constraints written inside an architecture (a Timeloop arch's inline `constraints:`)."""
    return tuple(getattr(arch, "constraints", ()) or ())


# ----- reading ------------------------------------------------------------------------------------------
def load_constraints(path: str | Path) -> list[Constraint]:
    """A constraints YAML: a list of directives, under `constraints:`, `mapspace_constraints:`,
    `architecture_constraints:` or `targets:` (optionally one more `targets:` level, as Timeloop allows)."""
    file = str(path)
    return constraints_from_data(load_yaml(path), file)


def constraints_from_data(data: Any, file: str = "<constraints>") -> list[Constraint]:
    items, where = data, ""
    if isinstance(data, dict):
        tops = ("constraints", "mapspace_constraints", "architecture_constraints", "targets")
        check_keys(data, (*tops, "version"), file, "")
        found = [k for k in tops if k in data]
        if len(found) != 1:
            raise StationaryError(f"expected exactly one of {', '.join(tops)}, got {found or 'none'}", file=file)
        where = found[0]
        items = data[where]
        if isinstance(items, dict):
            check_keys(items, ("targets", "version"), file, where)
            if "targets" not in items:
                raise StationaryError("missing `targets:` list", file=file, field=where)
            items, where = items["targets"], f"{where}.targets"
    if not isinstance(items, list):
        raise StationaryError(f"expected a list of constraint directives, got {short_repr(items)}", file=file,
                              field=where or None)
    return [constraint_from_dict(d, file, f"{where}[{i}]" if where else f"[{i}]") for i, d in enumerate(items)]


def constraint_from_dict(d: Any, file: str = "<constraints>", where: str = "constraint",
                         target: str | None = None, kind: str | None = None) -> Constraint:
    """One directive; `target`/`kind` given for a constraint written inline in an architecture node."""
    if not isinstance(d, dict):
        raise StationaryError(f"expected a constraint directive (a mapping), got {short_repr(d)}", file=file,
                              field=where)
    if kind is None:
        raw = d.get("type")
        if not isinstance(raw, str):
            raise StationaryError(f"each constraint needs a `type` ({', '.join(KINDS)})", file=file,
                                  field=f"{where}.type")
        kind = TYPE_ALIASES.get(raw, raw)
        if kind not in KINDS:
            raise StationaryError(f"unknown constraint type {raw!r}{nearest(raw, (*KINDS, *TYPE_ALIASES))}; "
                                  f"types: {', '.join(KINDS)}", file=file, field=f"{where}.type")
    check_keys(d, KEYS[kind], file, where)
    if target is None:
        target = d.get("target")
        if not isinstance(target, str) or not target:
            raise StationaryError("each constraint needs a `target` (a level or container name)", file=file,
                                  field=f"{where}.target")
    source = f"{file}: {where}"
    if kind in ("temporal", "spatial"):
        fixed, lo, hi = parse_factors(d.get("factors"), file, f"{where}.factors")
        if "factors_only" in d:
            only, _, _ = parse_factors(d["factors_only"], file, f"{where}.factors_only")
            fixed = fixed + tuple(f for f in only if f[0] not in dict(fixed)) + (("*", 1),)
        prefix, suffix = parse_permutation(d.get("permutation"), file, f"{where}.permutation")
        split = d.get("split")
        if split is not None and (isinstance(split, bool) or not isinstance(split, int) or not 0 <= split <= 64):
            raise StationaryError(f"split must be an integer from 0 to 64, got {short_repr(split)}", file=file,
                                  field=f"{where}.split")
        return Constraint(target, kind, fixed, prefix, split, source=source, max_factors=hi, min_factors=lo,
                          permutation_suffix=suffix)
    if kind == "dataspace":
        keep = _names(d.get("keep"), file, f"{where}.keep")
        bypass = _names(d.get("bypass"), file, f"{where}.bypass") or frozenset()
        keep_only = False
        if "keep_only" in d:
            kept = _names(d["keep_only"], file, f"{where}.keep_only") or frozenset()
            keep, keep_only = (keep or frozenset()) | kept, True
        if "bypass_only" in d:  # bypass these, keep every other tensor: stated as a keep-all-but
            bypassed = _names(d["bypass_only"], file, f"{where}.bypass_only") or frozenset()
            bypass = bypass | bypassed
            keep = (keep or frozenset()) | frozenset({"*"})
        if keep and keep & bypass:
            raise StationaryError(f"{sorted(keep & bypass)} both kept and bypassed", file=file, field=where)
        return Constraint(target, kind, keep=keep, bypass=bypass, source=source, keep_only=keep_only)
    if kind == "utilization":
        value = _fraction(d.get("min"), file, f"{where}.min")
        return Constraint(target, kind, source=source, min_utilization=value)
    value = _fraction(d.get("proportion"), file, f"{where}.proportion")
    if value != 0:
        raise StationaryError("the model never overbooks a buffer: only max_overbooked_proportion 0 is supported",
                              file=file, field=f"{where}.proportion")
    return Constraint(target, kind, source=source)


def parse_factors(text: Any, file: str, field_name: str) -> tuple[tuple[tuple[str, int], ...], ...]:
    """'R=3 P<=4 C>=2', 'R3', 'N=1,C=1' or a list of such strings -> (fixed, minima, maxima)."""
    if text is None:
        return (), (), ()
    if isinstance(text, list):
        if not all(isinstance(x, str) for x in text):
            raise StationaryError(f"factors must be strings like 'R=3', got {short_repr(text)}", file=file,
                                  field=field_name)
        text = " ".join(text)
    if not isinstance(text, str):
        raise StationaryError(f"factors must be a string like 'R=3 P=1' or a list, got {short_repr(text)}",
                              file=file, field=field_name)
    pos = 0
    out: dict[str, dict[str, int]] = {"=": {}, "<=": {}, ">=": {}}
    for m in _FACTOR.finditer(text):
        if m.start() != pos:
            break
        pos = m.end()
        d, op, v = m.group(1), m.group(2) or "=", int(m.group(3))
        if len(m.group(3)) > 13:
            raise StationaryError(f"factor {d}={m.group(3)[:20]}... is too large", file=file, field=field_name)
        if d in out[op]:
            raise StationaryError(f"factor of {d} given twice", file=file, field=field_name)
        if op != "=" and v < 1:
            raise StationaryError(f"{d}{op}{v}: a factor bound must be >= 1", file=file, field=field_name)
        out[op][d] = v
    if text[pos:].strip():
        raise StationaryError(f"cannot read factors {short_repr(text)} at {short_repr(text[pos:])} "
                              f"(expected e.g. 'R=3 P=1' or 'M<=8')", file=file, field=field_name)
    return tuple(out["="].items()), tuple(out[">="].items()), tuple(out["<="].items())


def parse_permutation(text: Any, file: str, field_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """'NCP', 'N C P', 'N,C,P' or ['N', 'C', 'P'], innermost first; dims after '_' are the outermost."""
    if text is None:
        return (), ()
    if isinstance(text, list):
        if not all(isinstance(x, str) and x for x in text):
            raise StationaryError(f"permutation entries must be dimension names, got {short_repr(text)}",
                                  file=file, field=field_name)
        items = [x.strip() for x in text]
    elif isinstance(text, str):
        s = text.split("#")[0].strip()
        items = [x for x in re.split(r"[\s,]+", s) if x] if (" " in s or "," in s) else list(s)
    else:
        raise StationaryError(f"permutation must be a string or a list, got {short_repr(text)}", file=file,
                              field=field_name)
    prefix: list[str] = []
    suffix: list[str] = []
    seen_sep = False
    for x in items:
        if x == "_":
            if seen_sep:
                raise StationaryError("`_` given twice in a permutation", file=file, field=field_name)
            seen_sep = True
            continue
        (suffix if seen_sep else prefix).append(x)
    if len(set(prefix + suffix)) != len(prefix + suffix):
        raise StationaryError(f"dimension repeated in permutation {short_repr(text)}", file=file, field=field_name)
    return tuple(prefix), tuple(suffix)


def _names(value: Any, file: str, field_name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise StationaryError(f"expected a list of data-space names, got {short_repr(value)}", file=file,
                              field=field_name)
    return frozenset(value)


def _fraction(value: Any, file: str, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise StationaryError(f"expected a number from 0 to 1, got {short_repr(value)}", file=file,
                              field=field_name)
    return float(value)


# ----- merging -----------------------------------------------------------------------------------------
def resolve(c: Constraint, nest: LoopNest) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """A temporal/spatial constraint's (fixed, min, max) factors against a nest: 0 = the bound, values above
    the bound clipped to it (Timeloop's rule), `*` = 1 for every dim not named (factors_only)."""
    fixed: dict[str, int] = {}
    for d, f in c.factors:
        if d == "*":
            fixed.update({x: 1 for x in nest.dims if x not in fixed})
            continue
        _known_dim(d, nest, c)
        bound = nest.bounds[d]
        if f > bound:
            warnings.warn(f"constraint {c.describe()}: {d}={f} exceeds the bound {bound}; using {d}={bound} "
                          f"(as Timeloop does)", stacklevel=2)
        fixed[d] = bound if f == 0 or f > bound else f
    lo = {d: f for d, f in c.min_factors if _known_dim(d, nest, c)}
    hi = {d: f for d, f in c.max_factors if _known_dim(d, nest, c)}
    return fixed, lo, hi


def _known_dim(d: str, nest: LoopNest, c: Constraint) -> bool:
    if d not in nest.bounds:
        raise StationaryError(f"unknown dimension {d!r}{nearest(d, nest.dims)} in constraint {c.describe()}; "
                              f"dimensions: {list(nest.dims)}")
    return True


def min_utilization(constraints: list[Constraint], arch: Architecture) -> float:
    """The largest `utilization` minimum among the constraints (and the architecture's)."""
    return max([c.min_utilization or 0.0 for c in [*arch_constraints(arch), *constraints]
                if c.kind == "utilization"], default=0.0)


def merge(constraints: list[Constraint], nest: LoopNest, arch: Architecture) -> list[LevelRules]:
    """Constraints (plus the architecture's own: inline constraints, keep_only / bypass_always) -> rules per
    level, checked: unknown names, conflicts, and data from nowhere are errors."""
    tensors = frozenset(t.name for t in nest.tensors)
    rules = [LevelRules(keep=frozenset(lv.keep_always) & tensors, bypass=(frozenset(lv.bypass_always) | (
        tensors - lv.keep_only if lv.keep_only is not None else frozenset())) & tensors) for lv in arch.levels]
    for c in [*arch_constraints(arch), *constraints]:
        try:
            i = arch.level_index(c.target)
        except StationaryError as exc:
            raise StationaryError(f"{exc.message} (in constraint: {c.describe()})") from None
        r, lv = rules[i], arch.levels[i]
        for d in (*c.permutation, *c.permutation_suffix):
            _known_dim(d, nest, c)
        if c.kind in ("temporal", "spatial"):
            fixed, lo, hi = resolve(c, nest)
            spatial = c.kind == "spatial"
            if spatial and arch.fanout(i) == (1, 1):
                raise StationaryError(f"constraint {c.describe()}: {c.target} has no spatial fan-out")
            if not spatial and lv.virtual and any(f > 1 for f in fixed.values()):
                raise StationaryError(f"constraint {c.describe()}: {c.target} is a spatial container; it takes "
                                      f"no temporal loops")
            _merge_values(r.spatial if spatial else r.temporal, fixed, c, "factor", lambda a, b: a == b)
            _merge_bound(r.spatial_min if spatial else r.temporal_min, lo, max)
            _merge_bound(r.spatial_max if spatial else r.temporal_max, hi, min)
            if spatial:
                _merge_spatial_order(r, c, nest)
            elif c.permutation or c.permutation_suffix:
                if (r.inner_order or r.outer_order) and (r.inner_order, r.outer_order) != (
                        c.permutation, c.permutation_suffix):
                    raise StationaryError(f"constraint {c.describe()} re-specifies the permutation of {c.target}")
                r.inner_order, r.outer_order = c.permutation, c.permutation_suffix
        elif c.kind == "dataspace":
            keep = c.keep or frozenset()
            if "*" in keep:  # bypass_only: keep all the others
                keep = (keep - {"*"}) | (tensors - c.bypass)
            unknown = (keep | c.bypass) - tensors
            if unknown:
                raise StationaryError(f"unknown data space(s) {sorted(unknown)} in constraint {c.describe()}"
                                      f"{nearest(sorted(unknown)[0], tensors)}; data spaces: {sorted(tensors)}")
            if lv.virtual and keep:
                raise StationaryError(f"constraint {c.describe()}: {c.target} is a spatial container and holds "
                                      f"no data")
            r.keep = r.keep | keep
            r.bypass = r.bypass | c.bypass | (tensors - keep if c.keep_only else frozenset())
        if r.keep & r.bypass:
            raise StationaryError(f"constraint {c.describe()} both keeps and bypasses {sorted(r.keep & r.bypass)} "
                                  f"at {c.target} (the architecture may already bypass it)")
    for group in getattr(arch, "parallel_groups", ()):  # timeloopfe: each data space is kept in some branch
        kept = frozenset().union(*(rules[arch.level_index(n)].keep for n in group))
        if tensors - kept:
            raise StationaryError(f"no branch of the !Parallel node ({', '.join(group)}) keeps "
                                  f"{sorted(tensors - kept)}; add a keep constraint to one branch")
    top = next((i for i, lv in enumerate(arch.levels) if not lv.virtual), 0)
    if rules[top].bypass:
        raise StationaryError(f"constraints bypass {sorted(rules[top].bypass)} at the outermost level "
                              f"{arch.levels[top].name}: that data would come from nowhere")
    for d in nest.dims:
        for r, lv in zip(rules, arch.levels):
            for kind, fixed, lo, hi in (("temporal", r.temporal, r.temporal_min, r.temporal_max),
                                        ("spatial", r.spatial, r.spatial_min, r.spatial_max)):
                if d in fixed and not lo.get(d, 1) <= fixed[d] <= hi.get(d, fixed[d]):
                    raise StationaryError(f"{kind} constraints on {lv.name} fix {d}={fixed[d]} outside its bounds "
                                          f"{lo.get(d, 1)}..{hi.get(d, 'bound')}")
    return rules


def _merge_values(into: dict[str, int], new: dict[str, int], c: Constraint, what: str, same: Any) -> None:
    for d, v in new.items():
        if d in into and not same(into[d], v):
            raise StationaryError(f"constraint {c.describe()} re-specifies the {what} of {d} at {c.target} "
                                  f"({into[d]} elsewhere)")
        into[d] = v


def _merge_bound(into: dict[str, int], new: dict[str, int], pick: Any) -> None:
    for d, v in new.items():
        into[d] = pick(into[d], v) if d in into else v


def _merge_spatial_order(r: LevelRules, c: Constraint, nest: LoopNest) -> None:
    """A spatial permutation/split -> the allowed axes per dim (and the order rule the space keeps)."""
    if not (c.permutation or c.permutation_suffix or c.split is not None):
        return
    order = SpatialOrder(c.permutation, c.permutation_suffix, c.split, nest.dims)
    if r.spatial_order is not None and r.spatial_order != order:
        raise StationaryError(f"constraint {c.describe()} re-specifies the spatial permutation/split of {c.target}")
    r.spatial_order = order
    xs = frozenset(d for d in nest.dims if order.forced_axis(d) != "Y")
    ys = frozenset(d for d in nest.dims if order.forced_axis(d) != "X")
    r.spatial_x = xs if r.spatial_x is None else r.spatial_x & xs
    r.spatial_y = ys if r.spatial_y is None else r.spatial_y & ys

