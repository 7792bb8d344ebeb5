"""Accuracy vs modelled energy with the Pareto front (matplotlib, imported only when a plot is asked for)."""

from __future__ import annotations

from stationary.codesign.sweep import Report
from stationary.report.figure import pyplot, save_png


def plot_front(report: Report, path: str) -> None:
    """Write a PNG: every point labelled (prune, bits), the Pareto front as a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    energy_uj = [p.energy_pj / 1e6 for p in report.points]
    acc = [100 * p.accuracy for p in report.points]
    ax.scatter(energy_uj, acc, color="tab:blue", label="measured points")
    for p, e, a in zip(report.points, energy_uj, acc):
        ax.annotate(f"p{p.prune:g}/{p.bits}b", (e, a), textcoords="offset points", xytext=(4, 3), fontsize=7)
    front = [report.points[i] for i in report.pareto]
    ax.plot([p.energy_pj / 1e6 for p in front], [100 * p.accuracy for p in front], color="tab:red",
            marker="o", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(f"modelled energy per inference on {report.arch} (uJ)")
    ax.set_ylabel(f"held-out accuracy on {report.dataset} (%)")
    ax.set_title(f"{report.model}: {report.method} pruning x quantization")
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)
