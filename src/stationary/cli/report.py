"""`stationary report`: the survey's benchmarking metrics of a network on an accelerator (table, JSON, HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from stationary.arch.native import load_arch
from stationary.arch.spec import Architecture
from stationary.cli import app
from stationary.cli.common import print_json
from stationary.mapper.network import LayerPlan, map_network
from stationary.mapper.search import SearchOptions, check_objective
from stationary.report.metrics import Densities, benchmark_report
from stationary.report.tables import template_table
from stationary.workload.network import Network
from stationary.workload.zoo import get_model


def write_report(path: str | Path, net: Network, model: str, arch: Architecture, plans: list[LayerPlan],
                 dataflow: str, objective: str, densities: Densities | None = None, quiet: bool = False) -> None:
    """Write the self-contained HTML report (template, breakdowns, roofline, loop nests) to `path`."""
    from stationary.report.html import evaluation_html

    report = benchmark_report(net, model, arch, plans, dataflow, objective, densities)
    Path(path).write_text(evaluation_html(report, plans, arch))
    if not quiet:
        Console(stderr=True).print(f"report written to {path}")


@app.command("report")
def report_cmd(
    model: Annotated[str, typer.Argument(help="zoo model name, e.g. resnet50")],
    arch: Annotated[str, typer.Option(help="preset name or arch YAML")] = "eyeriss",
    dataflow: Annotated[str, typer.Option(help="ws, os, os_a, os_b, os_c, is, nlr, rs or free")] = "free",
    objective: Annotated[str, typer.Option(help="energy, cycles or edp")] = "energy",
    batch: Annotated[int, typer.Option(help="batch size")] = 1,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    budget: Annotated[int, typer.Option(help="fast-model evaluations per distinct layer shape")] = 20_000,
    jobs: Annotated[int | None, typer.Option(help="worker processes")] = None,
    weight_density: Annotated[float | None, typer.Option(help="fraction of non-zero weights (for non-zero "
                                                              "MACs)")] = None,
    input_density: Annotated[float | None, typer.Option(help="fraction of non-zero input activations")] = None,
    html: Annotated[str | None, typer.Option(help="also write the HTML report here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Benchmarking metrics (Sze et al. 2017 Sec. VIII): model, hardware and results in one table."""
    objective = check_objective(objective)
    net = get_model(model, batch=batch)
    architecture = load_arch(arch)
    densities = None
    if weight_density is not None or input_density is not None:
        densities = Densities(weight_density or 1.0, input_density or 1.0)
    with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("mapping layers", total=None)
        plans = map_network(net, architecture, dataflow, SearchOptions(objective=objective, seed=seed, budget=budget),
                            jobs=jobs, progress=lambda k, n: bar.update(task, completed=k, total=n))
    rep = benchmark_report(net, model, architecture, plans, dataflow, objective, densities)
    if html:
        write_report(html, net, model, architecture, plans, dataflow, objective, densities, quiet=as_json)
    if as_json:
        print_json(rep)
    else:
        Console().print(template_table(rep))
