"""`stationary model`: the exact cost of one mapping — counts per level and tensor, energy, cycles."""

from __future__ import annotations

from typing import Annotated

import typer

from stationary.arch.load import load_arch
from stationary.cli import app
from stationary.cli.common import JsonOption, UpdateEnergyOption, out_console, print_json
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.model.costing import check_update_energy
from stationary.model.evaluate import evaluate
from stationary.report.tables import result_renderables
from stationary.workload.problem import load_loop_nest


@app.command()
def model(
    arch: Annotated[str, typer.Option(help="preset name, native arch YAML, or Timeloop v0.4 arch YAML")],
    problem: Annotated[str, typer.Option(help="Timeloop problem YAML, or MODEL:LAYER (e.g. alexnet:conv2)")],
    mapping: Annotated[str, typer.Option(help="mapping YAML in Timeloop v0.4 layout")],
    ert: Annotated[str | None, typer.Option(help="Accelergy ERT (needed with a Timeloop arch)")] = None,
    batch: Annotated[int, typer.Option(help="batch size for a MODEL:LAYER problem")] = 1,
    update_energy: UpdateEnergyOption = "update",
    as_json: JsonOption = False,
) -> None:
    """Evaluate one mapping exactly (Timeloop's counting rules): reads, fills, updates, energy, cycles."""
    check_update_energy(update_energy)
    nest = load_loop_nest(problem, batch)
    architecture = load_arch(arch, ert)
    m = load_timeloop_mapping(mapping, nest, architecture)
    result = evaluate(nest, architecture, m, update_energy=update_energy)
    if as_json:
        print_json(result.to_json())
    else:
        out_console().print(*result_renderables(result, nest, architecture, m))
