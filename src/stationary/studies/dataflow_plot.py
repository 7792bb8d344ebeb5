"""A stacked-bar plot of the dataflow comparison (matplotlib, imported only when a plot is asked for)."""

from __future__ import annotations

from typing import Any

from stationary.report.figure import pyplot, save_png

PARTS = ("ALU", "RF", "array", "buffer", "DRAM")


def plot_breakdown(result: dict[str, Any], path: str) -> None:
    """Energy per MAC of each dataflow, stacked by level, written as an image to `path`."""
    plt = pyplot()
    names = list(result["dataflows"])
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = [0.0] * len(names)
    for part in PARTS:
        vals = [result["dataflows"][n]["breakdown"][part] for n in names]
        ax.bar(names, vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("energy per MAC (MAC = 1)")
    ax.set_title(f"{result['model']} {result['layers'].upper()}, batch {result['batch']}, {result['pes']} PEs")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)
