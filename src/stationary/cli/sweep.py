"""`stationary sweep`: a design-space sweep (varied architecture × networks × dataflows), local or on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from stationary.cli import app
from stationary.cli.common import JsonOption, SeedOption, out_console, print_json
from stationary.errors import StationaryError
from stationary.sweep.engine import run_sweep, sweep_json
from stationary.sweep.spec import SweepSpec, load_sweep_spec, parse_vary
from stationary.sweep.store import ResultStore


@app.command()
def sweep(
    target: Annotated[str, typer.Argument(help="zoo model(s), comma-separated (MODEL or MODEL:LAYER), or a "
                                               "sweep spec YAML")],
    arch: Annotated[str | None, typer.Option(help="preset name or native arch YAML to vary (default eyeriss)")] = None,
    vary: Annotated[list[str] | None, typer.Option(help="KEY=V1,V2,... (pe_rows, pe_cols, glb_kb, rf_bytes, bits, "
                                                        "clock_mhz); repeat for more keys")] = None,
    dataflow: Annotated[str | None, typer.Option(help="dataflow(s), comma-separated (default free)")] = None,
    objective: Annotated[str, typer.Option(help="energy, cycles or edp (per layer mapping)")] = "energy",
    budget: Annotated[int, typer.Option(help="mappings scored per distinct layer shape and point")] = 2_000,
    seed: SeedOption = 0,
    batch: Annotated[int, typer.Option(help="batch size")] = 1,
    scheduler: Annotated[str, typer.Option(help="local (process pool), dask (embedded LocalCluster) or "
                                                "tcp://HOST:PORT")] = "local",
    jobs: Annotated[int | None, typer.Option(help="local worker processes / LocalCluster workers")] = None,
    out: Annotated[Path | None, typer.Option(help="SQLite results file; a rerun computes only missing points")]
    = None,
    report: Annotated[Path | None, typer.Option(help="write an HTML report with the Pareto front here")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sweep architecture parameters × networks × dataflows; results in SQLite, Pareto front of energy/cycles/area."""
    if target.endswith((".yaml", ".yml")):
        if arch or vary or dataflow:
            raise StationaryError("a spec file says arch, vary and dataflows itself; drop --arch/--vary/--dataflow",
                                  field=target)
        spec = load_sweep_spec(target)
    else:
        spec = SweepSpec(arch=arch or "eyeriss", networks=tuple(t for t in target.split(",") if t),
                         dataflows=tuple(d for d in (dataflow or "free").split(",") if d),
                         vary=parse_vary(vary or []), objective=objective, budget=budget, seed=seed, batch=batch)
    with ResultStore(out or ":memory:") as store:
        columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task("sweep", total=None)
            run = run_sweep(spec, store, scheduler, jobs=jobs,
                            progress=lambda k, n: bar.update(task, completed=k, total=n))
        result = sweep_json(spec, store)
    if report:
        from stationary.report.html import sweep_html

        report.write_text(sweep_html(result))
    if as_json:
        print_json({**result, "run": {"computed": run.computed, "already_stored": run.already_stored,
                                      "by_other_runs": run.by_other_runs, "total": run.total}})
        return
    varied = [k for k, _ in spec.vary]
    t = Table(title=f"Pareto front (energy, cycles, area) of {run.total} points on {spec.arch}")
    for col in ("network", "dataflow", *varied, "energy (pJ)", "cycles", "area (mm2)"):
        t.add_column(col, justify="left" if col in ("network", "dataflow") else "right")
    for p in result["pareto"]:
        t.add_row(p["params"]["network"], p["params"]["dataflow"], *(f"{p['params'][k]:g}" for k in varied),
                  f"{p['energy_pj']:,.0f}", f"{p['cycles']:,}", f"{p['area_mm2']:.4g}")
    c = out_console()
    c.print(t)
    failed = sum(1 for p in result["points"] if p["error"])
    c.print(f"{run.computed} points computed now, {run.already_stored} already stored"
            + (f", {run.by_other_runs} by another run on the same store" if run.by_other_runs else "")
            + (f", {failed} without a valid mapping" if failed else "") + (f"; results in {out}" if out else ""))
