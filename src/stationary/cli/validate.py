"""`stationary validate`: the published points (silicon, papers, peer tools) against the model, one table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json


def _fmt(value: float) -> str:
    """A number in a short readable form (integers with separators, others to 4 significant digits)."""
    if float(value).is_integer() and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


@app.command()
def validate(
    jobs: Annotated[int | None, typer.Option(help="worker processes (default: 2 where there are 2 cores)")] = None,
    only: Annotated[str | None, typer.Option(help="comma-separated groups: eyeriss, nvdla, isca16, survey, "
                                                   "timeloop, scalesim (default: all)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Reference vs model vs relative error for every published point, with the reference's source."""
    from stationary.validate import GROUPS, group_tasks, run_validation

    groups = tuple(g.strip() for g in only.split(",") if g.strip()) if only else GROUPS
    columns = (TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("", total=len(group_tasks(groups)))
        out = run_validation(jobs=jobs, groups=groups, progress=lambda name: bar.update(task, advance=1,
                                                                                         description=name))
    if as_json:
        print_json({"points": [p.to_json() for p in out["points"]], "details": out["details"],
                    "task_seconds": out["task_seconds"], "wall_seconds": out["wall_seconds"],
                    "within_goal": out["within_goal"], "total": out["total"]})
        return
    t = Table(title="stationary against the world (docs/validation.md explains every gap)")
    for col in ("group", "point", "unit", "reference", "model", "error", "goal", "ok", "source"):
        t.add_column(col, justify="right" if col in ("reference", "model", "error", "goal") else "left")
    for p in out["points"]:
        t.add_row(p.group, p.name, p.unit, _fmt(p.reference), _fmt(p.model), f"{p.error_rel:+.1%}",
                  f"±{p.goal_rel:.1%}", "yes" if p.within_goal else "[bold red]NO[/]", p.source)
    c = out_console()
    c.print(t)
    c.print(f"{out['within_goal']} of {out['total']} points within their goal; {out['wall_seconds']:.1f} s")
