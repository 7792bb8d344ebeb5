"""`stationary neardata`: one network on a baseline and on near-data / in-memory variants, energy by level."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from stationary.cli import app
from stationary.cli.common import InputShapeOption, JsonOption, ModelArgument, out_console, parse_shape, print_json
from stationary.errors import StationaryError
from stationary.neardata.compare import CATEGORIES, VARIANTS, NetworkCost, compare, searched
from stationary.neardata.heuristic import best_mapping
from stationary.report.figure import pyplot, save_png
from stationary.workload.load import load_network


@app.command()
def neardata(
    model: ModelArgument,
    baseline: Annotated[str, typer.Option(help="baseline preset or native arch YAML")] = "eyeriss",
    variants: Annotated[str, typer.Option(help="comma-separated presets or arch files")] = ",".join(VARIANTS),
    batch: Annotated[int, typer.Option(help="batch size")] = 1,
    max_candidates: Annotated[int | None, typer.Option(
        help="quick greedy heuristic with this many candidate mappings per layer instead of the search")] = None,
    input_shape: InputShapeOption = None,
    as_json: JsonOption = False,
    plot: Annotated[str | None, typer.Option(help="write a stacked-bar PNG of the breakdown here")] = None,
) -> None:
    """Energy of MODEL on the baseline and each near-data variant, broken down by level and category."""
    names = tuple(v.strip() for v in variants.split(",") if v.strip())
    if not names:
        raise StationaryError("give at least one variant", field="--variants")
    if max_candidates is not None and max_candidates < 1:
        raise StationaryError("must be a positive integer", field="--max-candidates")
    net = load_network(model, batch=batch, input_shape=parse_shape(input_shape))
    mapper = searched if max_candidates is None else (lambda nest, arch: best_mapping(nest, arch, max_candidates))
    costs = compare(net, baseline, names, mapper)
    if plot:
        write_plot(costs, plot, f"{model} (batch {batch})")
    if as_json:
        print_json({"model": model, "batch": batch, "baseline": costs[0].arch,
                    "mapping": "greedy heuristic (stationary.neardata.heuristic)",
                    "architectures": [c.to_json() for c in costs]})
        return
    print_costs(costs, f"{model}, batch {batch}: energy by category (uJ)")


def print_costs(costs: list[NetworkCost], title: str) -> None:
    """Categories as rows, architectures as columns, then totals and ratios against the first (baseline)."""
    console = out_console()
    t = Table(title=title)
    t.add_column("category")
    for c in costs:
        t.add_column(c.arch, justify="right")
    for cat in CATEGORIES:
        if any(c.by_category_pj[cat] for c in costs):
            t.add_row(cat, *(f"{c.by_category_pj[cat] / 1e6:,.1f}" for c in costs))
    base = costs[0]
    t.add_row("total", *(f"{c.energy_pj / 1e6:,.1f}" for c in costs), style="bold")
    t.add_row("pJ/MAC", *(f"{c.energy_per_mac_pj:.2f}" for c in costs))
    t.add_row("vs baseline", *(f"{base.energy_pj / c.energy_pj:.2f}x" for c in costs))
    t.add_row("latency (ms)", *(f"{c.latency_ms:,.2f}" for c in costs))
    t.add_row("area (mm^2)", *(f"{c.area_um2 / 1e6:.2f}" for c in costs))
    console.print(t)
    for c in costs:
        levels = ", ".join(f"{k} {v / 1e6:,.1f}" for k, v in c.by_level_pj.items())
        console.print(f"{c.arch} by level (uJ): {levels}", highlight=False)


def write_plot(costs: list[NetworkCost], path: str, title: str) -> None:
    """Stacked bars, one per architecture, one segment per category (needs matplotlib: pip install .[plot])."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = [0.0] * len(costs)
    for cat in CATEGORIES:
        vals = [c.by_category_pj[cat] / 1e6 for c in costs]
        if any(vals):
            ax.bar([c.arch for c in costs], vals, bottom=bottom, label=cat)
            bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("energy (uJ)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)
