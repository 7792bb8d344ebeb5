"""Accuracy vs modelled energy with the Pareto front (matplotlib, imported only when a plot is asked for):
every method of a run on one chart, the quantizer by colour, the model variant (base, decomposed, distilled,
teacher, labels-only student) by marker."""

from __future__ import annotations

from stationary.codesign.sweep import Report
from stationary.report.figure import pyplot, save_png

MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def plot_front(report: Report, path: str) -> None:
    """Write a PNG: every point labelled (prune, bits), one series per (variant, quantizer), the front as a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.6, 5.0))
    variants = list(dict.fromkeys(p.variant for p in report.points))
    quants = list(dict.fromkeys(p.quant for p in report.points))
    colours = plt.get_cmap("tab10")
    for v in variants:
        for q in quants:
            pts = [p for p in report.points if p.variant == v and p.quant == q]
            if not pts:
                continue
            e, a = [p.energy_pj / 1e6 for p in pts], [100 * p.accuracy for p in pts]
            ax.scatter(e, a, color=colours(quants.index(q) % 10), marker=MARKERS[variants.index(v) % len(MARKERS)],
                       label=f"{v}, {q}", alpha=0.85)
            for p, x, y in zip(pts, e, a):
                ax.annotate(f"p{p.prune:g}/{p.bits}b", (x, y), textcoords="offset points", xytext=(4, 3),
                            fontsize=6)
    front = [report.points[i] for i in report.pareto]
    ax.plot([p.energy_pj / 1e6 for p in front], [100 * p.accuracy for p in front], color="black", lw=1, marker="o",
            mfc="none", ms=11,
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(f"modelled energy per inference on {report.arch} (uJ)")
    ax.set_ylabel(f"held-out accuracy on {report.dataset} (%)")
    ax.set_title(f"{report.model}: {report.method} pruning x quantization ({report.zero_mode})")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_png(fig, path)
