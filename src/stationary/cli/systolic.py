"""`stationary systolic`: SCALE-Sim's cycles, SRAM/DRAM traffic and utilization, in closed form."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from stationary.cli import app
from stationary.cli.common import JsonOption, out_console, print_json
from stationary.errors import StationaryError
from stationary.systolic import problem_from_layer, read_config, read_topology, simulate_network
from stationary.systolic.model import DEFAULT_MAX_WORK_BYTES, DRAM_MODES, LayerResult
from stationary.systolic.reports import write_reports

JSON_FIELDS = ("name", "total_cycles", "stall_cycles", "overall_util_pct", "mapping_efficiency_pct",
               "compute_util_pct", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
               "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "total_cycles_incl_prefetch",
               "macs", "energy_mac_pj", "energy_sram_pj", "energy_dram_pj", "energy_total_pj",
               "scalesim_total_cycles", "scalesim_total_cycles_incl_prefetch", "scalesim_overall_util_pct")


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
    if dram not in DRAM_MODES:
        raise StationaryError(f"must be one of {', '.join(DRAM_MODES)}, got {dram!r}", field="--dram")
    if (topology is None) == (model is None):
        raise StationaryError("give exactly one of --topology or --model", field="--topology")
    cfg = read_config(config, dataflow=dataflow.lower() if dataflow else None)
    if topology is not None:
        problems = read_topology(topology)
        title = f"{topology} on {cfg.array_rows}x{cfg.array_cols} {cfg.dataflow.upper()}"
    else:
        from stationary.workload.load import load_network

        net = load_network(model, batch=batch)  # type: ignore[arg-type]
        problems = tuple(p for p in (problem_from_layer(layer) for layer in net) if p is not None)
        title = f"{net.name} (batch {batch}) on {cfg.array_rows}x{cfg.array_cols} {cfg.dataflow.upper()}"
    if not (max_memory_gib > 0 and math.isfinite(max_memory_gib)):
        raise StationaryError(f"must be a positive number, got {max_memory_gib}", field="--max-memory-gib")
    columns = (TextColumn("systolic layers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=as_json) as bar:
        task = bar.add_task("layers", total=len(problems))
        results = simulate_network(problems, cfg, dram=dram, max_bytes=int(max_memory_gib * 2**30),
                                   progress=lambda k, n: bar.update(task, completed=k))
    if outdir:
        write_reports(results, outdir)
    if as_json:
        print_json({"config": cfg.source, "dataflow": cfg.dataflow, "dram_mode": dram,
                    "array": [cfg.array_rows, cfg.array_cols],
                    "layers": [{k: getattr(r, k) for k in JSON_FIELDS} for r in results]})
    else:
        print_table(title, results)


def print_table(title: str, results: list[LayerResult]) -> None:
    """A readable per-layer table with units in the column names."""
    t = Table(title=title)
    cols = ("layer", "cycles", "stall cycles", "util %", "mapping eff %", "SRAM reads (words)",
            "SRAM writes (words)", "DRAM reads (words)", "DRAM writes (words)", "energy (uJ)")
    for c in cols:
        t.add_column(c, justify="left" if c == "layer" else "right")
    for r in results:
        t.add_row(r.name, f"{r.total_cycles:,}", f"{r.stall_cycles:,}", f"{r.overall_util_pct:.1f}",
                  f"{r.mapping_efficiency_pct:.1f}", f"{r.sram_ifmap_reads + r.sram_filter_reads:,}",
                  f"{r.sram_ofmap_writes:,}", f"{r.dram_ifmap_reads + r.dram_filter_reads:,}",
                  f"{r.dram_ofmap_writes:,}", f"{r.energy_total_pj / 1e6:.2f}")
    console = out_console()
    console.print(t)
    cycles = sum(r.total_cycles for r in results)
    energy = sum(r.energy_total_pj for r in results)
    console.print(f"[bold]total[/]: {cycles:,} cycles, {energy / 1e6:.2f} uJ over {len(results)} layers",
                  highlight=False)
