"""`sweep(...)`: a design-space sweep (varied architecture x networks x dataflows) and its Pareto front."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stationary.api.result import ApiResult
from stationary.errors import StationaryError
from stationary.sweep.engine import SweepRun, run_sweep, sweep_json
from stationary.sweep.spec import SweepSpec, load_sweep_spec, parse_vary
from stationary.sweep.store import ResultStore


@dataclass(frozen=True)
class SweepDesign:
    """One evaluated point: its parameters and network totals, or why it has no valid mapping (`error`)."""

    key: str  # stable hash of everything the result depends on
    params: Mapping[str, Any]  # network, dataflow and the varied keys (read-only)
    energy_pj: float | None
    cycles: int | None
    area_mm2: float | None
    macs: int | None
    utilization: float | None  # MACs / (cycles x MAC units), in [0, 1]
    error: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def to_json(self) -> dict[str, Any]:
        """The point as `stationary sweep --json` prints it."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["params"] = dict(self.params)
        return d


@dataclass(frozen=True)
class SweepResult(ApiResult):
    """Every point of a sweep (spec order), the Pareto front of energy, cycles and area (per network, by energy)
    and what this run computed."""

    spec: SweepSpec
    points: tuple[SweepDesign, ...]
    pareto: tuple[SweepDesign, ...]
    run: SweepRun

    def to_json(self) -> dict[str, Any]:
        """What `stationary sweep --json` prints."""
        return {"spec": self.spec.to_json(), "points": [p.to_json() for p in self.points],
                "pareto": [p.to_json() for p in self.pareto],
                "run": {"computed": self.run.computed, "already_stored": self.run.already_stored,
                        "by_other_runs": self.run.by_other_runs, "total": self.run.total}}

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per point: its parameters, totals, error and whether it is on the Pareto front."""
        front = {p.key for p in self.pareto}
        return [{"key": p.key, **p.params, **{k: v for k, v in p.to_json().items() if k not in ("key", "params")},
                 "on_pareto_front": p.key in front} for p in self.points]

    def plot(self, path: str | Path) -> Path:
        """A PNG of energy against cycles for every point (colour: area), the Pareto front circled."""
        from stationary.report.figure import pyplot, save_png
        from stationary.report.plots import pareto_figure

        fig = pareto_figure(pyplot(), [p.to_json() for p in self.points], {p.key for p in self.pareto})
        return save_png(fig, path)

    def write_html(self, path: str | Path) -> Path:
        """The HTML report of the sweep (Pareto plot, tables of the front and of every point)."""
        from stationary.report.html import sweep_html

        Path(path).write_text(sweep_html(self.to_json()))
        return Path(path)


def sweep_spec(spec: SweepSpec | str | Path, *, arch: str | None = None,
               vary: Sequence[str] | Mapping[str, Sequence[float]] | None = None,
               dataflow: str | Sequence[str] | None = None, objective: str | None = None,
               budget: int | None = None, seed: int | None = None, batch: int | None = None) -> SweepSpec:
    """The sweep `spec` names: a `SweepSpec`, a sweep spec YAML (which says arch, vary and dataflows itself), or
    zoo networks (comma-separated MODEL or MODEL:LAYER) swept over `arch` (default eyeriss), `vary`
    ('KEY=V1,V2' items or {key: values}) and `dataflow` (default free)."""
    if isinstance(spec, SweepSpec) or isinstance(spec, Path) or spec.endswith((".yaml", ".yml")):
        given = [f"--{k}" for k, v in (("arch", arch), ("vary", vary), ("dataflow", dataflow),
                                        ("objective", objective), ("budget", budget), ("seed", seed),
                                        ("batch", batch)) if v is not None and v != []]
        if given:
            raise StationaryError(f"a spec file says arch, vary, dataflows, objective, budget, seed and batch itself; "
                                  f"drop {'/'.join(given)} (or set them in the spec)",
                                  field="spec" if isinstance(spec, SweepSpec) else str(spec))
        return spec if isinstance(spec, SweepSpec) else load_sweep_spec(spec)
    if isinstance(vary, Mapping):
        varied = tuple((str(k), tuple(v)) for k, v in vary.items())
    else:
        varied = parse_vary(list(vary or []))
    dataflows = dataflow.split(",") if isinstance(dataflow, str) else list(dataflow or ["free"])
    return SweepSpec(arch=arch or "eyeriss", networks=tuple(t for t in spec.split(",") if t),
                     dataflows=tuple(d for d in dataflows if d), vary=varied, objective=objective or "energy",
                     budget=2_000 if budget is None else budget, seed=seed or 0, batch=1 if batch is None else batch)


def sweep(spec: SweepSpec | str | Path, *, arch: str | None = None,
          vary: Sequence[str] | Mapping[str, Sequence[float]] | None = None,
          dataflow: str | Sequence[str] | None = None, objective: str | None = None, budget: int | None = None,
          seed: int | None = None, batch: int | None = None, scheduler: str | Any = "local", jobs: int | None = None,
          out: str | Path | None = None, report: str | Path | None = None,
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Evaluate every point of the sweep (see `sweep_spec`) missing from the SQLite store `out` (in memory when
    None), locally or on Dask (`scheduler`: local, dask, tcp://HOST:PORT or a distributed.Client), and return
    all its points with their Pareto front; `report` also writes the HTML report. `progress(done, total)`."""
    the_spec = sweep_spec(spec, arch=arch, vary=vary, dataflow=dataflow, objective=objective, budget=budget,
                          seed=seed, batch=batch)
    with ResultStore(out or ":memory:") as store:
        run = run_sweep(the_spec, store, scheduler, jobs=jobs, progress=progress)
        data = sweep_json(the_spec, store)
    points = tuple(SweepDesign(**p) for p in data["points"])
    by_key = {p.key: p for p in points}
    result = SweepResult(spec=the_spec, points=points, pareto=tuple(by_key[p["key"]] for p in data["pareto"]),
                         run=run)
    if report:
        result.write_html(report)
    return result
