"""`stationary systolic`: SCALE-Sim's cycles, SRAM/DRAM traffic and utilization, in closed form."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from stationary.api.systolic import SystolicResult
from stationary.api.systolic import systolic as run_systolic
from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json
from stationary.systolic.model import DEFAULT_MAX_WORK_BYTES


@app.command()
def systolic(
    config: Annotated[str, typer.Option("--config", help="SCALE-Sim .cfg file (array, SRAMs, dataflow)")],
    topology: Annotated[str | None, typer.Option("--topology", help="SCALE-Sim topology CSV (conv or GEMM)")]
    = None,
    model: Annotated[str | None, typer.Option("--model", help="zoo name, .onnx, or file.py:factory instead "
                                              "of a topology")] = None,
    batch: Annotated[int, typer.Option(help="batch size N (with --model)")] = 1,
    dataflow: Annotated[str | None, typer.Option(help="os, ws or is (overrides the config)")] = None,
    dram: Annotated[str, typer.Option(help="exact: SCALE-Sim's SRAM buffer counts (fast); replay: the same "
                                      "from the full address stream (slow); estimate: closed form")]
    = "exact",
    outdir: Annotated[str | None, typer.Option("--outdir", help="write SCALE-Sim's three report CSVs here")]
    = None,
    max_memory_gib: Annotated[float, typer.Option(help="refuse a layer whose --dram mode needs more working "
                                                  "memory than this (estimate needs none)")]
    = DEFAULT_MAX_WORK_BYTES / 2**30,
    as_json: JsonOption = False,
) -> None:
    """Cycles, stalls, utilization, SRAM/DRAM accesses and energy per layer on a systolic array."""
    columns = (TextColumn("systolic layers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("layers", total=None)
        result = run_systolic(config, topology=topology, model=model, batch=batch, dataflow=dataflow, dram=dram,
                              outdir=outdir, max_memory_gib=max_memory_gib,
                              progress=lambda k, n: bar.update(task, completed=k, total=n))
    if as_json:
        print_json(result.to_json())
    else:
        print_table(result)


def print_table(result: SystolicResult) -> None:
    """A readable per-layer table with units in the column names."""
    t = Table(title=result.title)
    cols = ("layer", "cycles", "stall cycles", "util %", "mapping eff %", "SRAM reads (words)",
            "SRAM writes (words)", "DRAM reads (words)", "DRAM writes (words)", "energy (uJ)")
    for c in cols:
        t.add_column(c, justify="left" if c == "layer" else "right")
    for r in result.layers:
        t.add_row(r.name, f"{r.total_cycles:,}", f"{r.stall_cycles:,}", f"{r.overall_util_pct:.1f}",
                  f"{r.mapping_efficiency_pct:.1f}", f"{r.sram_ifmap_reads + r.sram_filter_reads:,}",
                  f"{r.sram_ofmap_writes:,}", f"{r.dram_ifmap_reads + r.dram_filter_reads:,}",
                  f"{r.dram_ofmap_writes:,}", f"{r.energy_total_pj / 1e6:.2f}")
    console = out_console()
    console.print(t)
    console.print(f"[bold]total[/]: {result.total_cycles:,} cycles, {result.energy_total_pj / 1e6:.2f} uJ over "
                  f"{len(result.layers)} layers",
                  highlight=False)
