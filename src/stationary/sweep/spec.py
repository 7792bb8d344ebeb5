"""What a design-space sweep covers: a base architecture, keys to vary, networks and dataflows, and how hard
to search each point. Every point is keyed by a stable hash of everything its result depends on."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError
from stationary.mapper.search import check_objective
from stationary.mapping.dataflows import ALIASES, DATAFLOWS
from stationary.sweep.params import SWEEP_KEYS, load_native_spec, positive
from stationary.yamlio import load_yaml

MAX_POINTS = 1_000_000  # a spec may not make the tool enumerate without bound


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
                raise StationaryError(f"unknown sweep key {key!r}; keys: {', '.join(SWEEP_KEYS)}", field="--vary")
            if not values:
                raise StationaryError(f"{key}: no values", field="--vary")
            for v in values:  # checked before any point runs, not recorded as a failed point
                positive(key, v, key in ("pe_rows", "pe_cols", "bits"))
        check_objective(self.objective)
        if self.budget < 1 or self.batch < 1:
            raise StationaryError("budget and batch must be positive", field="budget")
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
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise StationaryError(f"{key}: expected numbers, got {text!r}", field="--vary") from None
    return int(v) if v.is_integer() else v


def parse_vary(items: list[str]) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """['pe_rows=8,12', 'glb_kb=64,108'] -> (('pe_rows', (8, 12)), ('glb_kb', (64, 108)))."""
    out: dict[str, tuple[float, ...]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise StationaryError(f"expected KEY=V1,V2,..., got {item!r}", field="--vary")
        if key in out:
            raise StationaryError(f"{key} is varied twice", field="--vary")
        out[key] = tuple(_number(v, key) for v in values.split(",") if v.strip())
    return tuple(out.items())


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """A sweep spec YAML: arch, networks, dataflows, vary {key: [values]}, objective, budget, seed, batch."""
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise StationaryError("expected a mapping with arch, networks and vary", file=file)
    unknown = set(data) - {"arch", "networks", "dataflows", "vary", "objective", "budget", "seed", "batch"}
    if unknown:
        raise StationaryError(f"unknown fields {sorted(unknown)}", file=file)
    vary = data.get("vary") or {}
    if not isinstance(vary, dict):
        raise StationaryError("vary must map each key to a list of values", file=file, field="vary")

    def as_list(v: Any, field: str) -> tuple[str, ...]:
        if isinstance(v, str):
            return (v,)
        if not isinstance(v, list) or not v:
            raise StationaryError("expected a list of names", file=file, field=field)
        return tuple(map(str, v))

    try:
        return SweepSpec(
            arch=str(data.get("arch", "eyeriss")),
            networks=as_list(data.get("networks"), "networks"),
            dataflows=as_list(data.get("dataflows", ["free"]), "dataflows"),
            vary=tuple((str(k), tuple(_number(x, str(k)) for x in (v if isinstance(v, list) else [v])))
                       for k, v in vary.items()),
            objective=str(data.get("objective", "energy")), budget=int(data.get("budget", 2_000)),
            seed=int(data.get("seed", 0)), batch=int(data.get("batch", 1)))
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None
