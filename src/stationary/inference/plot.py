"""The sweep figure: energy per token and tokens/s against sequence length (one line per batch), with the
bandwidth limit dashed; against batch when only one length was swept."""

from __future__ import annotations

from typing import Any

from stationary.report.figure import pyplot, save_png


def plot_sweep(points: list[dict[str, Any]], path: str) -> None:
    """Two panels from `stationary llm` results (the JSON contract objects), written as a PNG."""
    plt = pyplot()
    seqs = sorted({p["seq"] for p in points})
    by_seq = len(seqs) > 1
    x_key, line_key = ("seq", "batch") if by_seq else ("batch", "seq")
    fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=(11, 4.2))
    for value in sorted({p[line_key] for p in points}):
        pts = sorted((p for p in points if p[line_key] == value), key=lambda p: p[x_key])
        xs = [p[x_key] for p in pts]
        label = f"{'B' if by_seq else 'L'} = {value}"
        ax_e.plot(xs, [p["total"]["energy_pj_per_token"] * 1e-9 for p in pts], marker="o", label=label)
        line = ax_t.plot(xs, [p["total"]["tokens_per_s"] for p in pts], marker="o", label=label)[0]
        ax_t.plot(xs, [p["total"]["bandwidth_bound_tokens_per_s"] for p in pts], linestyle="--",
                  color=line.get_color(), alpha=0.6)
    first = points[0]
    for ax, ylabel in ((ax_e, "energy per token (mJ)"), (ax_t, "tokens/s (dashed: DRAM-bandwidth limit)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L" if by_seq else "batch B")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{first['model']} {first['phase']} on {first['arch']}")
    fig.tight_layout()
    save_png(fig, path)
