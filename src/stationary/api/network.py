"""The network jobs as typed functions: `stats` (counts), `evaluate` (best mapping per layer of a network) and
`map_layer` (best mapping of one layer); the `stats`, `evaluate` and `map` commands are thin layers over them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from stationary.api.result import ApiResult
from stationary.arch.load import load_arch
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.fusion.report import fusion_json
from stationary.fusion.search import FusionPlan, check_fuse, plan_fusion
from stationary.mapper.bounds.certificate import Optimality, certify
from stationary.mapper.exact import Budget
from stationary.mapper.network import (
    LayerPlan,
    map_network,
    network_optimality,
    network_performance,
    network_totals,
    select_layers,
)
from stationary.mapper.search import SearchOptions, check_budget, check_objective, search
from stationary.mapping.constraints import Constraint, load_constraints
from stationary.mapping.dataflows import dataflow_constraints
from stationary.mapping.mapping import Mapping
from stationary.mapping.timeloop import mapping_to_dict
from stationary.model.costing import check_update_energy
from stationary.model.result import Result
from stationary.workload import stats as workload_stats
from stationary.workload.load import load_network
from stationary.workload.loopnest import LoopNest
from stationary.workload.network import Network
from stationary.workload.problem import load_loop_nest


def flat_row(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON dict as one flat table row: nested keys joined with '.' ("levels.DRAM"), lists kept."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat_row(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_input_shape(shape: Sequence[int] | None, field_name: str = "--input-shape") -> tuple[int, ...] | None:
    """An imported model's input shape as a tuple of positive integers (None: the file's own), or a clear error."""
    if shape is None:
        return None
    if isinstance(shape, str) or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape):
        raise StationaryError(f"expected a sequence of integers like (1, 3, 224, 224), got {shape!r}",
                              field=field_name)
    if not shape or any(v < 1 for v in shape):
        raise StationaryError(f"every size must be a positive integer, got {','.join(map(str, shape))!r}",
                              field=field_name)
    return tuple(shape)


def resolve_arch(arch: str | Path | Architecture, ert: str | Path | None = None) -> Architecture:
    """An `Architecture` as given, or one loaded from a preset name or YAML path (a Timeloop arch with its ERT)."""
    if isinstance(arch, Architecture):
        if ert is not None:
            raise StationaryError("an ERT applies to an architecture file; this Architecture is already built",
                                  field="--ert")
        return arch
    if not isinstance(arch, (str, Path)):
        raise StationaryError(f"expected a preset name, a YAML path or an Architecture, got {type(arch).__name__}",
                              field="--arch")
    return load_arch(arch, ert)


def check_imperfect(imperfect: object) -> bool:
    """`imperfect` must be a bool (a string such as "no" would read as true)."""
    if not isinstance(imperfect, bool):
        raise StationaryError(f"imperfect must be True or False, got {imperfect!r}", field="--imperfect")
    return imperfect


def exact_options(strategy: str, budget_s: float | None, budget_evals: int | None) -> dict[str, Any]:
    """SearchOptions fields for the strategy and the exact search's budget (validated; a budget for a search
    that would not use it is refused rather than ignored)."""
    if strategy != "exact" and (budget_s is not None or budget_evals is not None):
        raise StationaryError("--budget-s and --budget-evals bound the exact search: add --strategy exact "
                              f"(the {strategy} strategy uses --budget)", field="--budget-evals")
    evals = 50_000 if budget_evals is None and budget_s is None else budget_evals
    Budget(budget_s, evals)
    return {"strategy": strategy, "budget_s": budget_s, "budget_evals": evals}


# ---------------------------------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class NetworkStats(workload_stats.NetworkStats, ApiResult):
    """A network's counts (the survey's Table IV columns: MACs, weights, activations per layer and in total)
    and what an importer skipped (`warnings`)."""

    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """What `stationary stats --json` prints."""
        return {**super().to_json(), "warnings": list(self.warnings)}

    def rows(self) -> list[dict[str, Any]]:
        """One row per layer: its counts, dims flattened ("dims.M")."""
        return [flat_row(ls.to_json()) for ls in self.layers]

    def plot(self, path: str | Path) -> Path:
        """MACs and weights per layer, as two bar charts on a log scale (PNG)."""
        from stationary.report.figure import pyplot, save_png

        plt = pyplot()
        names = [ls.name for ls in self.layers]
        fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.3 * len(names)), 6), sharex=True)
        for ax, values, label in ((axes[0], [ls.macs for ls in self.layers], "MACs"),
                                  (axes[1], [ls.weights for ls in self.layers], "weights")):
            ax.bar(range(len(names)), values)
            ax.set_ylabel(label)
            if any(values):
                ax.set_yscale("log")
        axes[1].set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        axes[0].set_title(f"{self.model}, batch {self.batch}")
        fig.tight_layout()
        return save_png(fig, path)


def stats(model: str | Path, *, batch: int | None = None, input_shape: Sequence[int] | None = None,
          allow_skip: bool = False) -> NetworkStats:
    """MACs, weights and activations per layer and in total of a zoo name, `ZOO:LAYER`, an `.onnx` file or
    `path/to/file.py:factory` (batch None: 1 for the zoo, else the first dim of the input shape)."""
    net = load_network(str(model), batch=batch, input_shape=check_input_shape(input_shape), allow_skip=allow_skip)
    counts = workload_stats.network_stats(net)
    warnings: tuple[str, ...] = tuple(getattr(net, "warnings", ()))  # importers name what they skipped
    return NetworkStats(**{f.name: getattr(counts, f.name) for f in fields(counts)}, warnings=warnings)


# ------------------------------------------------------------------------------------------------- evaluate


@dataclass(frozen=True)
class LayerEvaluation:
    """One layer's best mapping, costed exactly: energy (pJ), cycles, utilization (fraction of the MAC array),
    energy per storage level (pJ), and what is proven about it (`optimality`)."""

    name: str
    macs: int
    energy_pj: float
    cycles: int
    utilization: float
    utilized_macs: int
    energy_per_mac_pj: float
    cached: bool  # same shape as an earlier layer: that layer's search was reused
    level_energy_pj: dict[str, float]
    optimality: Optimality

    @classmethod
    def of(cls, plan: LayerPlan) -> LayerEvaluation:
        """The row of one layer's plan."""
        r = plan.found.result
        return cls(plan.layer.name, r.macs, r.energy_pj, r.cycles, r.utilization, r.utilized_macs,
                   r.energy_per_mac_pj, plan.cached, {lv.name: lv.energy_pj for lv in r.levels}, plan.optimality)

    def to_json(self) -> dict[str, Any]:
        """The layer as `evaluate --json` lists it."""
        return {"name": self.name, "macs": self.macs, "energy_pj": self.energy_pj, "cycles": self.cycles,
                "utilization": self.utilization, "utilized_macs": self.utilized_macs,
                "energy_per_mac_pj": self.energy_per_mac_pj, "cached": self.cached,
                "levels": dict(self.level_energy_pj), "optimality": self.optimality.to_json()}


@dataclass(frozen=True)
class NetworkTotals:
    """A network's totals, layers run back to back: energy, cycles, MACs, search effort, and time, frame rate,
    DRAM traffic and power at `clock_mhz`."""

    energy_pj: float
    cycles: int
    macs: int
    energy_per_mac_pj: float
    layers: int
    distinct_shapes: int
    evaluated: int
    search_seconds: float
    optimality: Optimality
    clock_mhz: float
    seconds: float
    fps: float
    dram_bytes: float
    dram_energy_pj: float
    power_mw: float
    on_chip_power_mw: float
    wall_seconds: float

    def to_json(self) -> dict[str, Any]:
        """The totals as `evaluate --json` prints them under "total"."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["optimality"] = self.optimality.to_json()
        return out


@dataclass(frozen=True)
class NetworkEvaluation(ApiResult):
    """A network's best mapping per MAC layer on one architecture: rows per layer, totals, the network's
    optimality certificate, and the fused-groups plan when fusion was asked for.

    `plans`, `network` and `architecture` are what the rows came from (each layer's mapping is in `plans`)."""

    model: str
    arch: str
    dataflow: str
    objective: str
    fuse: str
    layers: tuple[LayerEvaluation, ...]
    total: NetworkTotals
    plans: tuple[LayerPlan, ...] = field(repr=False, compare=False)
    network: Network = field(repr=False, compare=False)
    architecture: Architecture = field(repr=False, compare=False)
    fusion: FusionPlan | None = field(default=None, repr=False)

    @property
    def optimality(self) -> Optimality:
        """The network's certificate: "optimal" only if every layer is."""
        return self.total.optimality

    def fusion_json(self) -> dict[str, Any] | None:
        """The fusion section as `evaluate --fuse auto --json` prints it (None without fusion)."""
        return fusion_json(self.fusion) if self.fusion is not None else None

    def to_json(self) -> dict[str, Any]:
        """What `stationary evaluate --json` prints."""
        out: dict[str, Any] = {"model": self.model, "arch": self.arch, "dataflow": self.dataflow,
                               "objective": self.objective, "layers": [x.to_json() for x in self.layers],
                               "total": self.total.to_json()}
        fused = self.fusion_json()
        if fused is not None:
            out["fusion"] = fused
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per layer (energy per level as "levels.NAME", the certificate as "optimality.gap", ...)."""
        return [flat_row(x.to_json()) for x in self.layers]

    def plot(self, path: str | Path) -> Path:
        """Energy per layer (pJ), stacked by storage level and compute, as a bar chart (PNG)."""
        from stationary.report.figure import pyplot, save_png

        plt = pyplot()
        names = [x.name for x in self.layers]
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(names)), 4))
        bottom = [0.0] * len(names)
        level_names = list(dict.fromkeys(k for x in self.layers for k in x.level_energy_pj))
        parts = [(lv, [x.level_energy_pj.get(lv, 0.0) for x in self.layers]) for lv in level_names]
        parts.append(("compute", [x.energy_pj - sum(x.level_energy_pj.values()) for x in self.layers]))
        for label, values in parts:
            ax.bar(range(len(names)), values, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_ylabel("energy (pJ)")
        ax.set_title(f"{self.model} on {self.arch} ({self.dataflow}, best {self.objective}): "
                     f"{self.total.energy_pj:.4g} pJ")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return save_png(fig, path)


def map_plans(net: Network, arch: Architecture, dataflow: str, options: SearchOptions, jobs: int | None,
              progress: bool) -> list[LayerPlan]:
    """The mapper's best mapping per layer, with a progress bar on stderr when `progress`."""
    if not progress:
        return map_network(net, arch, dataflow, options, jobs=jobs)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("mapping layers", total=None)
        return map_network(net, arch, dataflow, options, jobs=jobs,
                           progress=lambda k, n: bar.update(task, completed=k, total=n))


def evaluate(model: str | Path, arch: str | Path | Architecture = "eyeriss", *, dataflow: str = "free",
             objective: str = "energy", batch: int = 1, seed: int = 0, budget: int = 20_000, jobs: int | None = None,
             layers: str = "all", clock_mhz: float | None = None, update_energy: str = "update",
             strategy: str = "auto", budget_s: float | None = None, budget_evals: int | None = None,
             input_shape: Sequence[int] | None = None, fuse: str = "none", progress: bool = False,
             imperfect: bool = False) -> NetworkEvaluation:
    """Best mapping of every MAC layer of a network on an architecture (one search per distinct shape): per
    layer and in total, with optimality certificates; `fuse` (auto, max) adds the fused-groups plan; `imperfect`
    also searches imperfect factorizations (Timeloop 3 remainders D=n,r)."""
    objective = check_objective(objective)
    check_budget(budget)
    check_imperfect(imperfect)
    check_update_energy(update_energy)
    check_fuse(fuse)
    exact = exact_options(strategy, budget_s, budget_evals)
    net = select_layers(load_network(str(model), batch=batch, input_shape=check_input_shape(input_shape)), layers)
    architecture = resolve_arch(arch)
    network_performance([], architecture, clock_mhz)  # refuses a bad clock before the search, not after it
    macs = net.mac_layers()
    if macs:  # an unknown dataflow is refused here rather than inside a pool worker
        dataflow_constraints(dataflow, macs[0].loop_nest(), architecture)
    start = time.perf_counter()
    options = SearchOptions(objective=objective, seed=seed, budget=budget, update_energy=update_energy,
                            imperfect=imperfect, **exact)
    plans = map_plans(net, architecture, dataflow, options, jobs, progress)
    totals = {**network_totals(plans), **network_performance(plans, architecture, clock_mhz),
              "wall_seconds": time.perf_counter() - start, "optimality": network_optimality(plans)}
    plan = plan_fusion(net, architecture, plans, fuse, options) if fuse != "none" else None
    return NetworkEvaluation(str(model), architecture.name, dataflow, objective, fuse,
                             tuple(LayerEvaluation.of(p) for p in plans), NetworkTotals(**totals), tuple(plans),
                             net, architecture, plan)


# ------------------------------------------------------------------------------------------------ map_layer


@dataclass(frozen=True)
class ParetoPoint:
    """One mapping of the energy-cycles Pareto front."""

    energy_pj: float
    cycles: int
    mapping: Mapping = field(repr=False, compare=False)


@dataclass(frozen=True)
class LayerMapping(ApiResult):
    """One layer's best mapping (`mapping`) and its exact cost (`result`: energy in pJ, cycles, counts per level),
    the search's effort, and what is proven about it (`optimality`); the Pareto front when asked for."""

    result: Result
    mapping: Mapping = field(repr=False)
    nest: LoopNest = field(repr=False, compare=False)
    architecture: Architecture = field(repr=False, compare=False)
    evaluated: int
    seconds: float
    strategy: str
    optimality: Optimality
    complete: bool  # every mapping of the space was scored or provably cut (exact search)
    pareto: tuple[ParetoPoint, ...] | None = None  # None: not asked for

    def to_json(self) -> dict[str, Any]:
        """What `stationary map --json` prints."""
        out = self.result.to_json()
        out.update(mapping=mapping_to_dict(self.mapping, self.nest, self.architecture), evaluated=self.evaluated,
                   seconds=self.seconds, strategy=self.strategy, optimality=self.optimality.to_json())
        if self.pareto is not None:
            out["pareto"] = [{"energy_pj": p.energy_pj, "cycles": p.cycles} for p in self.pareto]
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per storage level, outermost first: its counts and energy (pJ), tensors flattened."""
        return [flat_row(lv.to_json()) for lv in self.result.levels]

    def plot(self, path: str | Path) -> Path:
        """Energy per storage level and compute (pJ), or the energy-cycles front when it was searched (PNG)."""
        from stationary.report.figure import pyplot, save_png

        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        if self.pareto:
            ax.plot([p.cycles for p in self.pareto], [p.energy_pj for p in self.pareto], "o-")
            ax.set_xlabel("cycles")
            ax.set_ylabel("energy (pJ)")
            ax.set_title("energy-cycles Pareto front")
        else:
            names = [lv.name for lv in self.result.levels] + ["compute"]
            ax.bar(names, [lv.energy_pj for lv in self.result.levels] + [self.result.compute_energy_pj])
            ax.set_ylabel("energy (pJ)")
            ax.set_title(f"{self.result.energy_pj:.4g} pJ, {self.result.cycles:,} cycles")
        fig.tight_layout()
        return save_png(fig, path)


def map_layer(problem: str | Path | LoopNest, arch: str | Path | Architecture, *,
              constraints: str | Path | Sequence[Constraint] | None = None, ert: str | Path | None = None,
              dataflow: str = "free", objective: str = "energy", seed: int = 0, budget: int = 40_000,
              batch: int = 1, update_energy: str = "update", strategy: str = "auto", budget_s: float | None = None,
              budget_evals: int | None = None, pareto: bool = False, imperfect: bool = False) -> LayerMapping:
    """The best mapping of one layer (a Timeloop problem YAML, `MODEL:LAYER`, or a LoopNest) on an architecture,
    every dataflow and file constraint honoured, with its optimality certificate; `imperfect` also searches
    imperfect factorizations (Timeloop 3 remainders D=n,r, written in the mapping)."""
    objective = check_objective(objective)
    check_budget(budget)
    check_imperfect(imperfect)
    check_update_energy(update_energy)
    exact = exact_options(strategy, budget_s, budget_evals)
    nest = problem if isinstance(problem, LoopNest) else load_loop_nest(str(problem), batch)
    architecture = resolve_arch(arch, ert)
    cs = dataflow_constraints(dataflow, nest, architecture)
    if isinstance(constraints, (str, Path)):
        cs += load_constraints(constraints)
    elif constraints is not None:
        if not all(isinstance(c, Constraint) for c in constraints):
            raise StationaryError("expected a constraints YAML path or a list of Constraint",
                                  field="--constraints")
        cs += list(constraints)
    found = search(nest, architecture, cs, SearchOptions(objective=objective, seed=seed, budget=budget,
                                                         update_energy=update_energy, pareto=pareto,
                                                         imperfect=imperfect, **exact))
    cert = certify(found, nest, architecture, cs, objective=objective, imperfect=imperfect,
                   update_energy=update_energy)
    front = tuple(ParetoPoint(e, cyc, m) for e, cyc, m in found.pareto) if pareto else None
    return LayerMapping(found.result, found.mapping, nest, architecture, found.evaluated, found.seconds,
                        found.strategy, cert, found.complete, front)
