"""What a design-space sweep covers: a base architecture, keys to vary, networks and dataflows, and how hard
to search each point. Every point is keyed by a stable hash of everything its result depends on."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from stationary.errors import StationaryError
from stationary.mapper.search import check_objective
from stationary.mapping.dataflows import ALIASES, DATAFLOWS
from stationary.schema import MAX_INT, Name, Spec, nearest, number_text, parse, short_repr
from stationary.sweep.params import SWEEP_KEYS, load_native_spec, positive
from stationary.yamlio import load_yaml

MAX_POINTS = 1_000_000  # a spec may not make the tool enumerate without bound
MAX_BUDGET = 100_000_000  # mappings scored per layer shape and point


@dataclass(frozen=True)
class SweepPoint:
    """One point: its parameters (network, dataflow, varied keys) and everything needed to evaluate it."""

    key: str
    params: dict[str, Any]
    arch_data: dict[str, Any]
    arch_file: str
    objective: str
    budget: int
    seed: int
    batch: int


@dataclass(frozen=True)
class SweepSpec:
    """A base architecture (preset or native YAML) × varied keys × networks × dataflows."""

    arch: str
    networks: tuple[str, ...]
    dataflows: tuple[str, ...] = ("free",)
    vary: tuple[tuple[str, tuple[float, ...]], ...] = ()
    objective: str = "energy"
    budget: int = 2_000
    seed: int = 0
    batch: int = 1

    def __post_init__(self) -> None:
        if not self.networks:
            raise StationaryError("a sweep needs at least one network", field="networks")
        for df in self.dataflows:
            if ALIASES.get(df.lower(), df.lower()) not in DATAFLOWS:
                raise StationaryError(f"unknown dataflow {df!r}; dataflows: {', '.join(DATAFLOWS)}",
                                      field="--dataflow")
        for key, values in self.vary:
            if key not in SWEEP_KEYS:
                raise StationaryError(f"unknown sweep key {short_repr(key)}{nearest(key, SWEEP_KEYS)}; keys: "
                                      f"{', '.join(SWEEP_KEYS)}", field="--vary")
            if not values:
                raise StationaryError(f"{key}: no values", field="--vary")
            for v in values:  # checked before any point runs, not recorded as a failed point
                positive(key, v, key in ("pe_rows", "pe_cols", "bits"))
        check_objective(self.objective)
        for name, value, hi in (("budget", self.budget, MAX_BUDGET), ("batch", self.batch, MAX_INT),
                                ("seed", self.seed, 2**63 - 1)):
            if not isinstance(value, int) or isinstance(value, bool) or not (0 if name == "seed" else 1) <= value <= hi:
                raise StationaryError(f"{name} must be a whole number in {0 if name == 'seed' else 1}..{hi:,}, "
                                      f"got {short_repr(value)}", field=name)
        n = len(self.networks) * len(self.dataflows)
        for _, values in self.vary:
            n *= len(values)
        if n > MAX_POINTS:
            raise StationaryError(f"{n:,} points exceeds the limit of {MAX_POINTS:,}", field="--vary")

    def points(self) -> list[SweepPoint]:
        """Every point, in a fixed order (networks, dataflows, then the varied keys as given)."""
        data, file = load_native_spec(self.arch)
        arch_hash = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        keys = [k for k, _ in self.vary]
        out = []
        for network, dataflow, *values in itertools.product(self.networks, self.dataflows,
                                                            *(v for _, v in self.vary)):
            params: dict[str, Any] = {"network": network, "dataflow": dataflow, **dict(zip(keys, values))}
            identity = {"params": params, "arch_sha256": arch_hash, "objective": self.objective,
                        "budget": self.budget, "seed": self.seed, "batch": self.batch}
            key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]
            out.append(SweepPoint(key, params, data, file, self.objective, self.budget, self.seed, self.batch))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"arch": self.arch, "networks": list(self.networks), "dataflows": list(self.dataflows),
                "vary": {k: list(v) for k, v in self.vary}, "objective": self.objective, "budget": self.budget,
                "seed": self.seed, "batch": self.batch}


def _number(text: Any, key: str) -> float | int:
    """One `--vary` value: a finite decimal number (no nan, inf, hex or `1_000`)."""
    try:
        return number_text(str(text), None, f"vary.{key}", lo=0.0, hi=1e18, open_low=False)
    except StationaryError:
        raise StationaryError(f"{key}: expected numbers, got {short_repr(text)}", field="--vary") from None


def parse_vary(items: list[str]) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """['pe_rows=8,12', 'glb_kb=64,108'] -> (('pe_rows', (8, 12)), ('glb_kb', (64, 108)))."""
    out: dict[str, tuple[float, ...]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise StationaryError(f"expected KEY=V1,V2,..., got {short_repr(item)}", field="--vary")
        if key not in SWEEP_KEYS:
            raise StationaryError(f"unknown sweep key {short_repr(key)}{nearest(key, SWEEP_KEYS)}; keys: "
                                  f"{', '.join(SWEEP_KEYS)}", field="--vary")
        if key in out:
            raise StationaryError(f"{key} is varied twice", field="--vary")
        out[key] = tuple(_number(v, key) for v in values.split(",") if v.strip())
    return tuple(out.items())


Names = Annotated[list[Name], Field(min_length=1, max_length=1_000)] | Name
Values = Annotated[list[float | int], Field(min_length=1, max_length=MAX_POINTS)] | float | int


class SweepFile(Spec):
    """A sweep spec YAML as written (docs/sweeps.md)."""

    arch: Annotated[str, Field(min_length=1, max_length=4096)] = "eyeriss"
    networks: Names
    dataflows: Names = ["free"]
    vary: dict[str, Values] = {}
    objective: Name = "energy"
    budget: Annotated[int, Field(ge=1, le=MAX_BUDGET)] = 2_000
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    batch: Annotated[int, Field(ge=1, le=MAX_INT)] = 1


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """A sweep spec YAML: arch, networks, dataflows, vary {key: [values]}, objective, budget, seed, batch."""
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise StationaryError("expected a mapping with arch, networks and vary", file=file)
    spec = parse(SweepFile, data, file)

    def names(v: list[str] | str) -> tuple[str, ...]:
        return (v,) if isinstance(v, str) else tuple(v)

    try:
        return SweepSpec(
            arch=spec.arch, networks=names(spec.networks), dataflows=names(spec.dataflows),
            vary=tuple((k, tuple(v) if isinstance(v, list) else (v,)) for k, v in spec.vary.items()),
            objective=spec.objective, budget=spec.budget, seed=spec.seed, batch=spec.batch)
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None
