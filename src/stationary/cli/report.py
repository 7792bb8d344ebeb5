"""`stationary report`: the survey's benchmarking metrics of a network on an accelerator (table, JSON, HTML)."""

from __future__ import annotations

from typing import Annotated

import typer

from stationary.arch.load import load_arch
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
    map_with_progress,
    out_console,
    parse_shape,
    print_json,
)
from stationary.fusion.report import fusion_section
from stationary.fusion.search import check_fuse
from stationary.mapper.search import SearchOptions, check_objective
from stationary.report.html import write_html_report
from stationary.report.metrics import Densities, benchmark_report
from stationary.report.tables import template_table
from stationary.workload.load import load_network


@app.command("report")
def report_cmd(
    model: ModelArgument,
    arch: ArchOption = "eyeriss",
    dataflow: DataflowOption = "free",
    objective: ObjectiveOption = "energy",
    batch: BatchOption = 1,
    seed: SeedOption = 0,
    budget: BudgetOption = 20_000,
    jobs: JobsOption = None,
    weight_density: Annotated[float | None, typer.Option(help="fraction of non-zero weights (for non-zero "
                                                              "MACs)")] = None,
    input_density: Annotated[float | None, typer.Option(help="fraction of non-zero input activations")] = None,
    input_shape: InputShapeOption = None,
    html: Annotated[str | None, typer.Option(help="also write the HTML report here")] = None,
    as_json: JsonOption = False,
    fuse: Annotated[str, typer.Option(help="HTML report: fuse layers (none, auto, max) and add the fused groups",
                                      callback=check_fuse)] = "none",
) -> None:
    """Benchmarking metrics (Sze et al. 2017 Sec. VIII): model, hardware and results in one table."""
    objective = check_objective(objective)
    net = load_network(model, batch=batch, input_shape=parse_shape(input_shape))
    architecture = load_arch(arch)
    densities = None
    if weight_density is not None or input_density is not None:
        densities = Densities(weight_density or 1.0, input_density or 1.0)
    options = SearchOptions(objective=objective, seed=seed, budget=budget)
    plans = map_with_progress(net, architecture, dataflow, options, jobs, as_json)
    rep = benchmark_report(net, model, architecture, plans, dataflow, objective, densities)
    if html:
        fusion = fusion_section(fuse, net, architecture, plans, options).get("fusion")
        write_html_report(html, rep, plans, architecture, fusion)
        if not as_json:
            out_console(stderr=True).print(f"report written to {html}")
    if as_json:
        print_json(rep)
    else:
        out_console().print(template_table(rep))
