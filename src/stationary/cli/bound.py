"""`stationary bound`: data-movement and energy lower bounds per layer and storage level (docs/bounds.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stationary.arch.load import load_arch
from stationary.cli import app
from stationary.cli.common import InputShapeOption, JsonOption, UpdateEnergyOption, parse_shape, print_json
from stationary.errors import StationaryError
from stationary.mapper.bounds import LayerBound, layer_bound
from stationary.model.costing import check_update_energy
from stationary.workload.load import load_network
from stationary.workload.loopnest import LoopNest


@app.command()
def bound(
    model: Annotated[str | None, typer.Argument(help="zoo name, ZOO:LAYER, .onnx file or path/to/file.py:factory "
                                                     "(or use --problem)")] = None,
    arch: Annotated[str, typer.Option(help="preset name, native arch YAML, or Timeloop v0.4 arch YAML")]
    = "eyeriss",
    problem: Annotated[str | None, typer.Option(help="Timeloop problem YAML, or MODEL:LAYER")] = None,
    ert: Annotated[str | None, typer.Option(help="Accelergy ERT (needed with a Timeloop arch)")] = None,
    batch: Annotated[int, typer.Option(help="batch size")] = 1,
    plot: Annotated[str | None, typer.Option(help="write the ski-slope plot (PNG) here")] = None,
    layer: Annotated[str | None, typer.Option(help="with MODEL and --plot: the layer to plot (default: most MACs)")]
    = None,
    input_shape: InputShapeOption = None,
    imperfect: Annotated[bool, typer.Option(
        "--imperfect", help="bound imperfect factorizations too (Timeloop 3 remainders, as `map --imperfect` "
                            "searches; slower); default: the perfect map space `map` and `evaluate` search")] = False,
    update_energy: UpdateEnergyOption = "update",
    as_json: JsonOption = False,
) -> None:
    """Lower bounds no mapping beats: words into each storage level, and energy, per layer."""
    if (model is None) == (problem is None):
        raise StationaryError("give either MODEL or --problem", field="MODEL/--problem")
    check_update_energy(update_energy)
    if layer is not None and plot is None:  # it picks the plotted layer and would be ignored
        raise StationaryError("--layer picks the layer to plot: give --plot too", field="--layer")
    architecture = load_arch(arch, ert)
    nests = _nests(model, problem, batch, parse_shape(input_shape))
    cache: dict[tuple, LayerBound] = {}
    bounds = []
    for name, nest in nests:
        key = (tuple(nest.bounds.items()), nest.tensors)
        if key not in cache:
            cache[key] = layer_bound(nest, architecture, imperfect=imperfect, update_energy=update_energy)
        b = cache[key]
        bounds.append(replace(b, name=name))
    if plot:
        _plot(nests, layer, architecture, plot)
    if as_json:
        print_json({"layers": [b.to_json() for b in bounds]})
        return
    space = "perfect and imperfect factorizations" if imperfect else "perfect factorizations"
    t = Table(title=f"lower bounds on {architecture.name} over {space} (words into each level, all instances; "
                    f"energy)")
    t.add_column("layer", justify="left")
    t.add_column("MACs", justify="right")
    t.add_column("energy ≥ (pJ)", justify="right")
    t.add_column("pJ/MAC ≥", justify="right")
    for lv in architecture.levels:
        if not lv.virtual:
            t.add_column(f"{lv.name} ≥ words", justify="right")
    for b in bounds:
        t.add_row(b.name, f"{b.macs:,}", f"{b.energy_lower_bound_pj:,.0f}",
                  f"{b.energy_lower_bound_pj / b.macs:.3f}" if b.macs else "-",
                  *(f"{lv.min_words_in:,}" for lv in b.levels))
    Console().print(t)
    Console().print("outermost level: output words written back to it; others: words that cross into the level "
                    "and what lies below it (docs/bounds.md)")


def _nests(model: str | None, problem: str | None, batch: int,
           input_shape: tuple[int, ...] | None = None) -> list[tuple[str, LoopNest]]:
    if problem is not None:
        from stationary.workload.problem import load_loop_nest

        nest = load_loop_nest(problem, batch)
        return [(nest.name, nest)]
    if model is None:
        raise StationaryError("give either MODEL or --problem", field="MODEL/--problem")
    net = load_network(model, batch=batch, input_shape=input_shape)
    return [(lay.name, lay.loop_nest()) for lay in net.mac_layers()]


def _plot(nests: list[tuple[str, LoopNest]], layer: str | None, architecture, path: str) -> None:
    """The ski slope of one layer with the default search's mapping on it."""
    from stationary.mapper.bounds.plot import mapping_point, plot_ski_slope
    from stationary.mapper.search import search

    if layer is not None:
        chosen = [n for name, n in nests if name == layer]
        if not chosen:
            from stationary.schema import nearest

            raise StationaryError(f"no MAC layer {layer!r}{nearest(layer, [name for name, _ in nests])}",
                                  field="--layer")
        nest = chosen[0]
    else:
        nest = max((n for _, n in nests), key=lambda n: n.macs)
    found = search(nest, architecture)
    plot_ski_slope(nest, architecture, path, mapping_point(nest, architecture, found.mapping, found.result))
