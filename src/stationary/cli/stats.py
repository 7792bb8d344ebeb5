"""`stationary stats MODEL`: per-layer MACs, weights and activations, and network totals (a thin layer over
`stationary.api.stats`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from stationary.api.network import NetworkStats
from stationary.api.network import stats as network_stats
from stationary.cli import app, err_console
from stationary.cli.common import JsonOption, out_console, parse_shape, print_json


@app.command()
def stats(
    model: Annotated[str, typer.Argument(help="zoo name, path to an .onnx file, or path/to/file.py:factory")],
    batch: Annotated[int | None, typer.Option(
        help="batch size N (default 1; for an imported model, the first dim of its input shape)")] = None,
    input_shape: Annotated[str | None, typer.Option(help="input shape, e.g. 1,3,224,224 (imported models)")] = None,
    allow_skip: Annotated[bool, typer.Option(
        "--allow-skip", help="skip an imported operator that cannot be counted (a warning states its share of "
        "parameters and MACs) instead of refusing the model")] = False,
    as_json: JsonOption = False,
) -> None:
    """MACs, weights and activations per layer and in total (the survey's Table IV columns)."""
    result = network_stats(model, batch=batch, input_shape=parse_shape(input_shape), allow_skip=allow_skip)
    for line in result.warnings:
        err_console.print(f"[yellow]warning:[/] {line}", highlight=False)
    if as_json:
        print_json(result.to_json())
    else:
        print_stats(result)


def _si(v: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.3f}{suffix}"
    return str(v)


def print_stats(s: NetworkStats) -> None:
    """A readable per-layer table with totals and the CONV/FC split."""
    t = Table(title=f"{s.model}, batch {s.batch}", show_footer=False)
    for col in ("layer", "kind", "output (MxPxQ)", "MACs", "other ops", "weights", "in activations",
                "out activations"):
        t.add_column(col, justify="left" if col in ("layer", "kind") else "right")
    for ls in s.layers:
        d = ls.dims
        shape = f"{d['G'] * d['M']}x{d['P']}x{d['Q']}"
        t.add_row(ls.name, ls.kind, shape, _si(ls.macs), _si(ls.other_ops), _si(ls.weights),
                  _si(ls.input_activations), _si(ls.output_activations))
    console = out_console()
    console.print(t)
    console.print(
        f"[bold]total[/]: {_si(s.macs)} MACs ({s.macs:,}), {_si(s.weights)} weights ({s.weights:,}; "
        f"{s.parameters:,} parameters with biases), {_si(s.other_ops)} non-MAC ops, {len(s.layers)} layers\n"
        f"CONV: {s.conv_layers} layers, {_si(s.conv_weights)} weights, {_si(s.conv_macs)} MACs   "
        f"FC: {s.fc_layers} layers, {_si(s.fc_weights)} weights, {_si(s.fc_macs)} MACs",
        highlight=False,
    )
