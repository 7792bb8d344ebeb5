"""`stationary sweep`: a design-space sweep (varied architecture × networks × dataflows), local or on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from stationary.api.sweep import sweep as run_sweep
from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json


@app.command()
def sweep(
    target: Annotated[str, typer.Argument(help="zoo model(s), comma-separated (MODEL or MODEL:LAYER), or a "
                                               "sweep spec YAML")],
    arch: Annotated[str | None, typer.Option(help="preset name or native arch YAML to vary (default eyeriss)")] = None,
    vary: Annotated[list[str] | None, typer.Option(help="KEY=V1,V2,... (pe_rows, pe_cols, glb_kb, rf_bytes, bits, "
                                                        "clock_mhz); repeat for more keys")] = None,
    dataflow: Annotated[str | None, typer.Option(help="dataflow(s), comma-separated (default free)")] = None,
    objective: Annotated[str | None, typer.Option(help="energy (default), cycles or edp (per layer mapping)")]
    = None,
    budget: Annotated[int | None, typer.Option(help="mappings scored per distinct layer shape and point "
                                                    "(default 2,000)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed of the searches (default 0)")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size (default 1)")] = None,
    scheduler: Annotated[str, typer.Option(help="local (process pool), dask (embedded LocalCluster) or "
                                                "tcp://HOST:PORT")] = "local",
    jobs: Annotated[int | None, typer.Option(help="local worker processes / LocalCluster workers")] = None,
    out: Annotated[Path | None, typer.Option(help="SQLite results file; a rerun computes only missing points")]
    = None,
    report: Annotated[Path | None, typer.Option(help="write an HTML report with the Pareto front here")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sweep architecture parameters × networks × dataflows; results in SQLite, Pareto front of energy/cycles/area."""
    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("sweep", total=None)
        result = run_sweep(target, arch=arch, vary=vary, dataflow=dataflow, objective=objective, budget=budget,
                           seed=seed, batch=batch, scheduler=scheduler, jobs=jobs, out=out, report=report,
                           progress=lambda k, n: bar.update(task, completed=k, total=n))
    if as_json:
        print_json(result.to_json())
        return
    spec, run = result.spec, result.run
    varied = [k for k, _ in spec.vary]
    t = Table(title=f"Pareto front (energy, cycles, area) of {run.total} points on {spec.arch}")
    for col in ("network", "dataflow", *varied, "energy (pJ)", "cycles", "area (mm2)"):
        t.add_column(col, justify="left" if col in ("network", "dataflow") else "right")
    for p in result.pareto:
        t.add_row(p.params["network"], p.params["dataflow"], *(f"{p.params[k]:g}" for k in varied),
                  f"{p.energy_pj:,.0f}", f"{p.cycles:,}", f"{p.area_mm2:.4g}")
    c = out_console()
    c.print(t)
    failed = sum(1 for p in result.points if p.error)
    c.print(f"{run.computed} points computed now, {run.already_stored} already stored"
            + (f", {run.by_other_runs} by another run on the same store" if run.by_other_runs else "")
            + (f", {failed} without a valid mapping" if failed else "") + (f"; results in {out}" if out else ""))
