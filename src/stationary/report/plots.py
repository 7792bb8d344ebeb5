"""Report figures as inline SVG text (matplotlib, imported only when a report is asked for)."""

from __future__ import annotations

import io
from typing import Any

from stationary.errors import StationaryError


def _pyplot(salt: str) -> Any:
    """matplotlib's pyplot on the Agg backend, with deterministic SVG ids and text kept as text."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise StationaryError("reports need matplotlib: pip install 'stationary[plot]'", field="--report") from None
    plt.rcParams.update({"svg.hashsalt": salt, "svg.fonttype": "none", "font.size": 9})
    return plt


def _svg(fig: Any, plt: Any) -> str:
    """The figure as an <svg> element (XML prolog and DOCTYPE dropped) so it can be inlined in HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _stacked(ax: Any, names: list[str], parts: list[dict[str, float]], title: str, ylabel: str) -> None:
    keys: list[str] = []
    for p in parts:
        keys += [k for k in p if k not in keys]
    bottom = [0.0] * len(names)
    x = list(range(len(names)))
    for k in keys:
        vals = [p.get(k, 0.0) for p in parts]
        if not any(vals):
            continue
        ax.bar(x, vals, bottom=bottom, label=k, width=0.8)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.legend(fontsize=7, ncol=2)


def energy_breakdown_svg(layers: list[dict[str, Any]]) -> str:
    """Per-layer energy, stacked by memory level (left) and by tensor (right), in uJ."""
    plt = _pyplot("energy")
    names = [r["name"] for r in layers]
    width = min(24.0, max(8.0, 0.2 * len(names) + 2))
    fig, (a, b) = plt.subplots(2, 1, figsize=(width, 8.0))
    to_uj = 1e-6
    _stacked(a, names, [{k: v * to_uj for k, v in r["energy_by_level_pj"].items()} for r in layers],
             "energy per layer by level", "energy (uJ)")
    _stacked(b, names, [{k: v * to_uj for k, v in r["energy_by_tensor_pj"].items()} for r in layers],
             "energy per layer by tensor", "energy (uJ)")
    fig.tight_layout()
    return _svg(fig, plt)


def cycles_svg(layers: list[dict[str, Any]]) -> str:
    """Per-layer cycles (bars) and MAC-array utilization (line, right axis)."""
    plt = _pyplot("cycles")
    return _svg(cycles_figure(plt, layers), plt)


def cycles_figure(plt: Any, layers: list[dict[str, Any]]) -> Any:
    """The figure of `cycles_svg` (rows: name, cycles, utilization in [0, 1]), for SVG or PNG output."""
    names = [r["name"] for r in layers]
    fig, ax = plt.subplots(figsize=(min(24.0, max(8.0, 0.2 * len(names) + 2)), 3.6))
    x = list(range(len(names)))
    ax.bar(x, [r["cycles"] for r in layers], color="#4c72b0", label="cycles")
    ax.set_ylabel("cycles")
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax2 = ax.twinx()
    ax2.plot(x, [100 * r["utilization"] for r in layers], color="#dd8452", marker="o", ms=3, label="utilization")
    ax2.set_ylabel("utilization (%)")
    ax2.set_ylim(0, 105)
    ax.set_title("cycles and utilization per layer")
    fig.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def roofline_svg(layers: list[dict[str, Any]], peak_gmacs: float, dram_gbytes_per_s: float | None) -> str:
    """Achieved GMACS per layer against operational intensity (MACs per DRAM byte), under the roofs."""
    plt = _pyplot("roofline")
    pts = [(r["macs_per_dram_byte"], r["gmacs"], r["name"]) for r in layers if r["macs_per_dram_byte"]]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    xs = [p[0] for p in pts] or [1.0]
    lo, hi = min(xs) / 4, max(xs) * 4
    if dram_gbytes_per_s:
        ridge = peak_gmacs / dram_gbytes_per_s
        lo, hi = min(lo, ridge / 4), max(hi, ridge * 4)
        ax.plot([lo, ridge, hi], [dram_gbytes_per_s * lo, peak_gmacs, peak_gmacs], color="k", lw=1.5,
                label=f"roof: {peak_gmacs:.4g} GMACS, {dram_gbytes_per_s:.4g} GB/s")
    else:
        ax.plot([lo, hi], [peak_gmacs, peak_gmacs], color="k", lw=1.5,
                label=f"compute roof {peak_gmacs:.4g} GMACS (DRAM bandwidth not limited in this spec)")
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, color="#c44e52", zorder=3, label="layers")
    for x, y, name in pts if len(pts) <= 20 else []:  # labels only where they stay readable
        ax.annotate(name, (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs per DRAM byte)")
    ax.set_ylabel("achieved throughput (GMACS)")
    ax.set_title("roofline")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _svg(fig, plt)


def pareto_svg(points: list[dict[str, Any]], front_keys: set[str]) -> str:
    """Energy against cycles for every sweep point (colour: area), the Pareto front circled."""
    plt = _pyplot("pareto")
    return _svg(pareto_figure(plt, points, front_keys), plt)


def pareto_figure(plt: Any, points: list[dict[str, Any]], front_keys: set[str]) -> Any:
    """The figure of `pareto_svg` (sweep points as `sweep_json` gives them), for SVG or PNG output."""
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    ok = [p for p in points if p.get("energy_pj") is not None]
    sc = ax.scatter([p["cycles"] for p in ok], [p["energy_pj"] * 1e-6 for p in ok],
                    c=[p["area_mm2"] for p in ok], cmap="viridis", s=18)
    fig.colorbar(sc, ax=ax, label="area (mm2)")
    front = [p for p in ok if p["key"] in front_keys]
    ax.scatter([p["cycles"] for p in front], [p["energy_pj"] * 1e-6 for p in front], s=70, facecolors="none",
               edgecolors="#c44e52", linewidths=1.3, label="Pareto front (energy, cycles, area)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cycles")
    ax.set_ylabel("energy (uJ)")
    ax.set_title(f"design space: {len(ok)} points, {len(front)} on the front")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fusion_groups_svg(fusion: dict[str, Any]) -> str:
    """The layer chain with a box around each fused group (attention in its own colour), and each group's DRAM
    bytes fused against its layers run one by one, in MB (the JSON "fusion" section of `evaluate --fuse`)."""
    plt = _pyplot("fusion")
    groups = fusion["groups"]
    names = [n for g in groups for n in g["layers"]]
    fig, (a, b) = plt.subplots(2, 1, figsize=(min(24.0, max(8.0, 0.25 * len(names) + 2)), 6.0),
                               gridspec_kw={"height_ratios": [1, 2]})
    x = 0
    for g in groups:
        k = len(g["layers"])
        if g["fused"]:
            colour = "#c44e52" if g["attention"] else "#4c72b0"
            a.add_patch(plt.Rectangle((x - 0.45, -0.45), k - 0.1, 0.9, fill=True, alpha=0.18, color=colour))
            a.add_patch(plt.Rectangle((x - 0.45, -0.45), k - 0.1, 0.9, fill=False, lw=1.5, color=colour))
        for i in range(k):
            a.add_patch(plt.Rectangle((x + i - 0.3, -0.2), 0.6, 0.4, fill=False, lw=0.8, color="#444"))
        x += k
    a.plot(range(len(names)), [0] * len(names), color="#444", lw=0.6, zorder=0)
    a.set_xlim(-0.6, len(names) - 0.4)
    a.set_ylim(-0.6, 0.6)
    a.set_yticks([])
    a.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    a.set_title(f"fused groups at {fusion['level']} ({fusion['capacity_words']:,} words): blue boxes, "
                "attention red")
    fused = [g for g in groups if g["fused"]]
    labels = ["+".join(g["layers"]) if len(g["layers"]) <= 3 else f"{g['layers'][0]} .. {g['layers'][-1]}"
              for g in fused]
    pos = list(range(len(fused)))
    b.bar([p - 0.2 for p in pos], [g["dram_bytes_layer_by_layer"] / 1e6 for g in fused], width=0.4,
          color="#999", label="layer by layer")
    b.bar([p + 0.2 for p in pos], [g["dram_bytes"] / 1e6 for g in fused], width=0.4, color="#4c72b0",
          label="fused")
    b.set_xticks(pos, labels, rotation=30, ha="right", fontsize=7)
    b.set_xlim(-0.8, max(len(fused), 4) - 0.2)  # a lone group keeps a narrow bar pair
    b.set_ylabel("DRAM (MB)")
    lbl, fu = fusion["dram_bytes_layer_by_layer"], fusion["dram_bytes_fused"]
    b.set_title(f"DRAM per fused group; whole network {lbl / 1e6:.4g} MB layer by layer -> {fu / 1e6:.4g} MB fused")
    b.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig, plt)
