"""`stationary map`, `stationary evaluate`, `stationary dataflows`: the mapper from the command line (map and
evaluate are thin layers over `stationary.api.map_layer` and `stationary.api.evaluate`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from stationary.api.network import evaluate as evaluate_network
from stationary.api.network import map_layer
from stationary.cli import app
from stationary.cli.common import (
    ArchOption,
    BatchOption,
    BudgetOption,
    DataflowOption,
    InputShapeOption,
    JobsOption,
    JsonOption,
    ModelArgument,
    ObjectiveOption,
    SeedOption,
    UpdateEnergyOption,
    out_console,
    parse_shape,
    print_json,
)
from stationary.fusion.search import check_fuse
from stationary.mapper.search import SearchOptions

StrategyOption = Annotated[str, typer.Option(
    help="auto (default: exhaustive when small, else heuristic), exact (branch and bound seeded by the "
         "heuristic: certifies what it completes, far slower on full-size layers), heuristic or exhaustive")]
ImperfectOption = Annotated[bool, typer.Option(
    "--imperfect", help="also search imperfect factorizations: a tile need not divide the one above (Timeloop 3 "
                        "remainders D=n,r on temporal loops; the mapping written carries them; docs/mapper.md)")]
BudgetSecondsOption = Annotated[float | None, typer.Option(
    "--budget-s", help="exact search: wall seconds per distinct layer shape before it stops with a proven gap")]
BudgetEvalsOption = Annotated[int | None, typer.Option(
    "--budget-evals", help="exact search: fast-model evaluations per distinct layer shape (deterministic; "
                           "default 50,000)")]


@app.command("map")
def map_cmd(
    arch: Annotated[str, typer.Option(help="preset name, native arch YAML, or Timeloop v0.4 arch YAML")],
    problem: Annotated[str, typer.Option(help="Timeloop problem YAML, or MODEL:LAYER (e.g. alexnet:conv2)")],
    constraints: Annotated[str | None, typer.Option(help="constraints YAML (Timeloop v0.4 syntax)")] = None,
    ert: Annotated[str | None, typer.Option(help="Accelergy ERT (needed with a Timeloop arch)")] = None,
    dataflow: Annotated[str, typer.Option(help="ws, os, os_a, os_b, os_c, is, nlr, rs or free")] = "free",
    objective: ObjectiveOption = "energy",
    seed: Annotated[int, typer.Option(help="random seed (results are deterministic for a seed)")] = 0,
    budget: Annotated[int, typer.Option(help="fast-model evaluations for the heuristic search")] = 40_000,
    batch: Annotated[int, typer.Option(help="batch size for a MODEL:LAYER problem")] = 1,
    update_energy: UpdateEnergyOption = "update",
    strategy: StrategyOption = "auto",
    budget_s: BudgetSecondsOption = None,
    budget_evals: BudgetEvalsOption = None,
    pareto: Annotated[bool, typer.Option("--pareto", help="also find the energy-cycles Pareto front")] = False,
    imperfect: ImperfectOption = False,
    as_json: JsonOption = False,
) -> None:
    """Find the best mapping of one layer: exact cost, the mapping (Timeloop v0.4 layout), search stats."""
    from stationary.report.tables import result_renderables  # here: evaluate and dataflows never need it

    found = map_layer(problem, arch, constraints=constraints or None, ert=ert, dataflow=dataflow,
                      objective=objective, seed=seed, budget=budget, batch=batch, update_energy=update_energy,
                      strategy=strategy, budget_s=budget_s, budget_evals=budget_evals, pareto=pareto,
                      imperfect=imperfect)
    if as_json:
        print_json(found.to_json())
        return
    cert = found.optimality
    c = out_console()
    c.print(*result_renderables(found.result, found.nest, found.architecture, found.mapping))
    c.print(f"searched {found.evaluated:,} mappings ({found.strategy}) in {found.seconds:.2f} s")
    c.print(f"optimality ({cert.objective}): {cert.label()} (energy lower bound {cert.lower_bound_pj:,.0f} pJ; "
            + ("proven optimal over the map space" if cert.status == "optimal" else
               f"found {found.result.energy_pj:,.0f} pJ") + f"; {cert.pruned:,} nodes cut)")
    if found.pareto is not None:
        t = Table(title="energy-cycles Pareto front" + (" (proven)" if found.complete else " (found)"))
        t.add_column("energy (pJ)", justify="right")
        t.add_column("cycles", justify="right")
        for point in found.pareto:
            t.add_row(f"{point.energy_pj:,.0f}", f"{point.cycles:,}")
        c.print(t)


@app.command()
def evaluate(
    model: ModelArgument,
    arch: ArchOption = "eyeriss",
    dataflow: DataflowOption = "free",
    objective: ObjectiveOption = "energy",
    batch: BatchOption = 1,
    seed: SeedOption = 0,
    budget: BudgetOption = 20_000,
    jobs: JobsOption = None,
    layers_set: Annotated[str, typer.Option("--layers", help="conv, fc or all")] = "all",
    clock_mhz: Annotated[float | None, typer.Option(help="clock for seconds/fps/power (default: arch's)")] = None,
    update_energy: UpdateEnergyOption = "update",
    strategy: StrategyOption = "auto",
    budget_s: BudgetSecondsOption = None,
    budget_evals: BudgetEvalsOption = None,
    input_shape: InputShapeOption = None,
    imperfect: ImperfectOption = False,
    as_json: JsonOption = False,
    report: Annotated[str | None, typer.Option(help="write the benchmarking report (self-contained HTML) here")]
    = None,
    fuse: Annotated[str, typer.Option(help="fuse layers: none, auto (least energy) or max (fewest groups)",
                                      callback=check_fuse)] = "none",
) -> None:
    """Best mapping of every MAC layer of a network (one search per distinct shape), totals and per layer."""
    ev = evaluate_network(model, arch, dataflow=dataflow, objective=objective, batch=batch, seed=seed,
                          budget=budget, jobs=jobs, layers=layers_set, clock_mhz=clock_mhz,
                          update_energy=update_energy, strategy=strategy, budget_s=budget_s,
                          budget_evals=budget_evals, input_shape=parse_shape(input_shape), fuse=fuse,
                          progress=not as_json, imperfect=imperfect)
    fusion = ev.fusion_json()
    if fusion is not None and not as_json:
        from stationary.fusion.report import fusion_renderables

        out_console().print(*fusion_renderables(fusion, fuse))
    if report:  # the report's modules (and matplotlib) load only when one is asked for
        from stationary.report.html import write_html_report
        from stationary.report.metrics import benchmark_report

        plans = list(ev.plans)
        write_html_report(report, benchmark_report(ev.network, model, ev.architecture, plans, dataflow,
                                                   ev.objective), plans, ev.architecture, fusion)
        if not as_json:
            out_console(stderr=True).print(f"report written to {report}")
    if as_json:
        print_json(ev.to_json())
        return
    totals = ev.total
    t = Table(title=f"{model} on {ev.arch} ({dataflow}, best {ev.objective})")
    for col in ("layer", "MACs", "energy (pJ)", "pJ/MAC", "cycles", "util", "vs bound"):
        t.add_column(col, justify="left" if col == "layer" else "right")
    for row in ev.layers:
        t.add_row(row.name + (" *" if row.cached else ""), f"{row.macs:,}", f"{row.energy_pj:,.0f}",
                  f"{row.energy_per_mac_pj:.3f}", f"{row.cycles:,}", f"{row.utilization:.0%}",
                  row.optimality.label())
    t.add_row("total", f"{totals.macs:,}", f"{totals.energy_pj:,.0f}", f"{totals.energy_per_mac_pj:.3f}",
              f"{totals.cycles:,}", "", ev.optimality.label())
    c = out_console()
    c.print(t)
    c.print(f"vs bound: 'optimal' when the search proved it, else at most this far above a proven lower bound on "
            f"the {ev.objective} (docs/bounds.md, docs/mapper.md)")
    c.print(f"* same shape as an earlier layer (searched once): {totals.distinct_shapes} distinct shapes, "
            f"{totals.evaluated:,} mappings scored in {totals.wall_seconds:.1f} s")
    c.print(f"at {totals.clock_mhz:g} MHz: {totals.seconds * 1e3:.3f} ms per batch, {totals.fps:.4g} fps, "
            f"{totals.power_mw:.4g} mW ({totals.on_chip_power_mw:.4g} mW on chip), "
            f"DRAM {totals.dram_bytes / 1e6:.4g} MB")


@app.command()
def dataflows(
    model: Annotated[str, typer.Argument(help="zoo model name")] = "alexnet",
    pes: Annotated[int, typer.Option(help="PEs (a square number)")] = 256,
    batch: Annotated[int, typer.Option(help="batch size")] = 16,
    layers: Annotated[str, typer.Option(help="conv or fc")] = "conv",
    budget: Annotated[int, typer.Option(help="fast-model evaluations per layer and dataflow")] = 20_000,
    jobs: Annotated[int | None, typer.Option(help="worker processes")] = None,
    as_json: JsonOption = False,
    plot: Annotated[str | None, typer.Option(help="write a stacked-bar plot (PNG) here")] = None,
) -> None:
    """The survey's dataflow comparison at equal area: energy per MAC (MAC = 1) by level and by tensor."""
    from stationary.errors import StationaryError
    from stationary.studies.dataflows import compare_dataflows

    if layers not in ("conv", "fc"):
        raise StationaryError(f"--layers must be conv or fc, got {layers!r}", field="--layers")
    result = compare_dataflows(model, pes, batch, layers, options=SearchOptions(budget=budget), jobs=jobs)
    if plot:
        from stationary.studies.dataflow_plot import plot_breakdown

        plot_breakdown(result, plot)
    if as_json:
        print_json(result)
        return
    t = Table(title=f"{model} {layers.upper()} layers, batch {batch}, {pes} PEs, equal area "
                    f"(energy per MAC, MAC = 1)")
    for col in ("dataflow", "total", "ALU", "RF", "array", "buffer", "DRAM", "Weights", "Inputs", "Outputs",
                "vs best"):
        t.add_column(col, justify="left" if col == "dataflow" else "right")
    for name, e in result["dataflows"].items():
        b, bt = e["breakdown"], e["by_tensor"]
        t.add_row(name, f"{e['energy_per_mac']:.3f}", *(f"{b[k]:.3f}" for k in ("ALU", "RF", "array", "buffer",
                                                                                  "DRAM")),
                  *(f"{bt.get(k, 0.0):.3f}" for k in ("Weights", "Inputs", "Outputs")),
                  f"{e['relative_to_best']:.2f}x")
    c = out_console()
    c.print(t)
    c.print(f"lowest: {result['lowest']}")
