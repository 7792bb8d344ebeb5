"""`stationary model`: the exact cost of one mapping — counts per level and tensor, energy, cycles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from stationary.arch.native import load_arch
from stationary.arch.spec import Architecture
from stationary.cli import app
from stationary.cli.common import JsonOption, UpdateEnergyOption, out_console, print_json
from stationary.mapping.looptext import loop_nest_text
from stationary.mapping.mapping import Mapping
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.model.costing import check_update_energy
from stationary.model.evaluate import evaluate
from stationary.model.result import Result
from stationary.workload.loopnest import LoopNest
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
        print_result(result, nest, architecture, m)


def print_result(r: Result, nest: LoopNest, arch: Architecture, mapping: Mapping) -> None:
    console = out_console()
    console.print(loop_nest_text(nest, arch, mapping), highlight=False, markup=False)
    t = Table(title="actions and energy per level (totals over utilized instances)")
    for col in ("level", "tensor", "reads", "fills", "updates", "energy (pJ)", "share"):
        t.add_column(col, justify="left" if col in ("level", "tensor") else "right")
    for lv in r.levels:
        for name, tc in lv.tensors.items():
            if tc.kept:
                t.add_row(lv.name, name, f"{tc.reads:,}", f"{tc.fills:,}", f"{tc.updates:,}",
                          f"{tc.energy_pj:,.3f}", f"{tc.energy_pj / r.energy_pj:.1%}")
        if lv.leak_energy_pj:
            t.add_row(lv.name, "(leakage)", "", "", "", f"{lv.leak_energy_pj:,.3f}",
                      f"{lv.leak_energy_pj / r.energy_pj:.1%}")
    t.add_row("MAC", "(compute)", "", "", "", f"{r.compute_energy_pj:,.3f}", f"{r.compute_energy_pj / r.energy_pj:.1%}")
    console.print(t)
    console.print(f"MACs {r.macs:,}   cycles {r.cycles:,}   utilization {r.utilization:.1%}   "
                  f"energy {r.energy_pj:,.3f} pJ ({r.energy_per_mac_pj:.4f} pJ/MAC)", highlight=False)
