"""Self-contained HTML reports (inline CSS and SVG, no scripts, no network): one network on one accelerator,
or a design-space sweep with its Pareto front."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from stationary.arch.spec import Architecture
from stationary.mapper.network import LayerPlan
from stationary.mapping.looptext import loop_nest_text
from stationary.report import plots
from stationary.report.tables import template_rows

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2}
figure{margin:10px 0}figure svg{max-width:100%;height:auto}pre{background:#f7f7f7;padding:8px;font-size:12px}
.sec{font-weight:600;background:#fafafa}
"""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n")


def _figure(svg: str, caption: str, name: str) -> str:
    return f'<figure class="plot" id="{name}">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _table(header: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = "".join(f'<td class="{"num" if i >= numeric_from else ""}">{html.escape(str(v))}</td>'
                        for i, v in enumerate(row))
        out.append(f"<tr>{cells}</tr>")
    return "".join(out) + "</table>"


def dram_gbytes_per_s(arch: Architecture) -> float | None:
    """Off-chip bandwidth from the DRAM level's read bandwidth (words per cycle), or None when unlimited."""
    dram = [lv for lv in arch.levels if lv.cls == "DRAM"]
    lv = dram[0] if dram else None
    if lv is None or lv.read_bandwidth is None:
        return None
    return lv.read_bandwidth * lv.instances * lv.word_bits / 8 * arch.clock_mhz * 1e6 / 1e9


def fusion_html(fusion: dict[str, Any]) -> list[str]:
    """The fused-layers section: the picture of the groups, their table and the totals, from the JSON
    "fusion" section of `evaluate --fuse` (bytes at the DRAM word size)."""
    lbl, fused = fusion["dram_bytes_layer_by_layer"], fusion["dram_bytes_fused"]
    rows = [["+".join(g["layers"]) + (" (attention)" if g["attention"] else ""),
             "x".join(map(str, g["tile"])) + (f", {g['heads_per_tile']} heads" if g["heads_per_tile"] else ""),
             g["halo"], f"{g['dram_bytes_layer_by_layer']:,.0f}", f"{g['dram_bytes']:,.0f}",
             f"{g['buffer_words']:,}", f"{g['recompute_macs']:,}", f"{g['energy_pj']:,.0f}", f"{g['cycles']:,}"]
            for g in fusion["groups"] if g["fused"]]
    out = ['<h2 id="fusion-section">Fused layers</h2>',
           _figure(plots.fusion_groups_svg(fusion), "The layer chain with each fused group boxed, and each group's "
                   "DRAM bytes fused against its layers run one by one.", "fusion"),
           _table(["group", "tile", "halo", "DRAM bytes layer by layer", "DRAM bytes fused", "buffer words",
                   "recompute MACs", "energy (pJ)", "cycles"], rows) if rows else
           "<p>No group is worth fusing (or fits): every layer runs alone.</p>",
           f'<p id="fusion-totals">DRAM {lbl:,.0f} bytes layer by layer -> {fused:,.0f} bytes fused '
           f"({(1 - fused / lbl) * 100 if lbl else 0:.1f} % saved); energy "
           f"{fusion['energy_pj_layer_by_layer']:,.0f} -> {fusion['energy_pj_fused']:,.0f} pJ; cycles "
           f"{fusion['cycles_layer_by_layer']:,} -> {fusion['cycles_fused']:,}.</p>"]
    out += [f"<p>not fusible: {html.escape(why)}</p>" for why in fusion["not_fusible"]]
    return out


def evaluation_html(report: dict[str, Any], plans: list[LayerPlan], arch: Architecture,
                    fusion: dict[str, Any] | None = None) -> str:
    """The report of one network on one accelerator: template table, breakdowns, roofline, loop nests, and the
    fused groups when `fusion` (the JSON "fusion" section of `evaluate --fuse`) is given."""
    m, h = report["model"], report["hardware"]
    body = ["<h2>Benchmarking metrics</h2>",
            '<table id="template"><tr><th>section</th><th>metric</th><th>value</th></tr>']
    for section, metric, value in template_rows(report):
        body.append(f'<tr><td class="sec">{html.escape(section)}</td><td>{html.escape(metric)}</td>'
                    f"<td>{html.escape(value)}</td></tr>")
    body.append("</table>")
    layers = report["layers"]
    body += ["<h2>Energy per layer</h2>",
             _figure(plots.energy_breakdown_svg(layers), "Energy of each MAC layer, stacked by storage level "
                     "(and the MACs) and by tensor (leakage separately).", "energy"),
             "<h2>Cycles and utilization</h2>",
             _figure(plots.cycles_svg(layers), "Cycles (compute- or bandwidth-bound) and utilization of the MAC "
                     "array per layer.", "cycles"),
             "<h2>Roofline</h2>",
             _figure(plots.roofline_svg(layers, h["peak_gmacs"], dram_gbytes_per_s(arch)),
                     "Achieved throughput of each layer against its operational intensity.", "roofline"),
             "<h2>Per layer</h2>",
             _table(["layer", "MACs", "energy (pJ)", "pJ/MAC", "cycles", "utilization", "DRAM bytes"],
                    [[r["name"] + (" *" if r["same_shape_as_earlier"] else ""), f"{r['macs']:,}",
                      f"{r['energy_pj']:,.0f}", f"{r['energy_per_mac_pj']:.3f}", f"{r['cycles']:,}",
                      f"{r['utilization']:.1%}", f"{r['dram_bytes']:,.0f}"] for r in layers]),
             "<p>* same shape as an earlier layer: mapped once.</p>",
             *(fusion_html(fusion) if fusion else []),
             "<h2>Chosen loop nests</h2>"]
    for p in plans:
        if p.cached:
            continue
        text = loop_nest_text(p.layer.loop_nest(), arch, p.found.mapping)
        body.append(f"<details><summary>{html.escape(p.layer.name)} ({p.found.result.energy_per_mac_pj:.3f} "
                    f"pJ/MAC, {p.found.strategy} search over {p.found.evaluated:,} mappings)</summary>"
                    f'<pre class="loopnest">{html.escape(text)}</pre></details>')
    body.append("<h2>Report as JSON</h2><details><summary>JSON</summary><pre>"
                + html.escape(json.dumps(report, indent=1)) + "</pre></details>")
    return _page(f"{m['name']} on {h['name']}", body)


def write_html_report(path: str | Path, report: dict[str, Any], plans: list[LayerPlan], arch: Architecture,
                      fusion: dict[str, Any] | None = None) -> Path:
    """Write the self-contained HTML report (template, breakdowns, roofline, loop nests, and the fused groups
    when `fusion`, the JSON "fusion" section, is given) of `report` to `path`."""
    out = Path(path)
    out.write_text(evaluation_html(report, plans, arch, fusion))
    return out


def sweep_html(result: dict[str, Any]) -> str:
    """The report of a design-space sweep: the Pareto plot and tables of the front and of every point."""
    points, pareto = result["points"], result["pareto"]
    front = {p["key"] for p in pareto}
    keys = sorted({k for p in points for k in p["params"]})

    def rows(ps: list[dict[str, Any]]) -> list[list[Any]]:
        return [[*(p["params"].get(k, "") for k in keys),
                 "error: " + p["error"] if p.get("error") else f"{p['energy_pj']:,.0f}",
                 "" if p.get("error") else f"{p['cycles']:,}",
                 "" if p.get("error") else f"{p['area_mm2']:.4g}"] for p in ps]

    header = [*keys, "energy (pJ)", "cycles", "area (mm2)"]
    body = ["<h2>Pareto front</h2>",
            _figure(plots.pareto_svg(points, front), "Every point's energy and cycles (colour: area); circled: "
                    "not dominated in energy, cycles and area together.", "pareto"),
            _table(header, rows(pareto), numeric_from=len(keys)),
            "<h2>All points</h2>", _table(header, rows(points), numeric_from=len(keys))]
    return _page(f"design-space sweep: {len(points)} points", body)
