"""The benchmarking template as rows of (section, metric, value) text, for a rich table and the HTML report."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from stationary.arch.spec import Architecture
from stationary.mapping.looptext import loop_nest_text
from stationary.mapping.mapping import Mapping
from stationary.model.result import Result
from stationary.workload.loopnest import LoopNest


def _si(v: float | int | None, unit: str = "", base: int = 1000) -> str:
    """12.3M, 4.5G, ... (three significant digits; base 1024 for bytes: 108 kB = 110,592 B)."""
    if v is None:
        return "n/a"
    for power, prefix in ((4, "T"), (3, "G"), (2, "M"), (1, "k")):
        scale = float(base) ** power
        if abs(v) >= scale:
            return f"{v / scale:.3g}{prefix}{unit}"
    return f"{v:.3g}{unit}"


def template_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The eyeriss.mit.edu benchmarking layout: model, hardware and results, one metric per row."""
    m, h, r = report["model"], report["hardware"], report["results"]
    acc = m["accuracy"] + (f" ({m['accuracy_source']})" if m["accuracy_source"] else "")
    nz = "n/a (densities unknown)" if m["nonzero_macs"] is None else (
        f"{_si(m['nonzero_macs'])} (weights {m['weight_density']:.0%}, inputs {m['input_density']:.0%} non-zero)")
    mem = ", ".join(f"{lv['name']} {_si(lv['bytes_per_instance'], ' B', 1024)}" + (f" x{lv['instances']}"
                    if lv["instances"] > 1 else "") for lv in h["memory_levels"] if lv["bytes_per_instance"])
    return [
        ("model", "network", f"{m['name']} (batch {m['batch']}, input {'x'.join(map(str, m['input_shape']))})"),
        ("model", "accuracy", acc),
        ("model", "layers", f"{m['conv_layers']} CONV, {m['fc_layers']} FC ({m['mac_layers']} with MACs)"),
        ("model", "filter sizes", m["filter_sizes"]),
        ("model", "channels / filters", f"{m['channels']} / {m['filters']}"),
        ("model", "weights", _si(m["weights"])),
        ("model", "MACs", _si(m["macs"])),
        ("model", "non-zero MACs", nz),
        ("hardware", "accelerator", f"{h['name']}, {h['evaluation']}"),
        ("hardware", "technology", h["technology"]),
        ("hardware", "MACs (PEs) x bit width", f"{h['mac_units']:,} ({h['array']}) x {h['mac_bits']} b"),
        ("hardware", "clock", f"{h['clock_mhz']:g} MHz"),
        ("hardware", "peak throughput", f"{h['peak_gmacs']:.4g} GMACS"),
        ("hardware", "on-chip memory", f"{_si(h['on_chip_memory_bytes'], ' B', 1024)} ({mem})"),
        ("hardware", "area (estimate)", f"{h['area_mm2']:.3g} mm2 ({h['area_per_mac_mm2'] * 1e6:.4g} um2 per MAC)"),
        ("results", "dataflow / objective", f"{report['mapping']['dataflow']} / {report['mapping']['objective']}"),
        ("results", "throughput", f"{r['throughput_inferences_per_s']:.4g} inferences/s "
                                  f"({r['throughput_gmacs']:.4g} GMACS) at batch {r['batch']}"),
        ("results", "latency", f"{r['latency_ms']:.4g} ms ({r['cycles']:,} cycles)"),
        ("results", "utilization", f"{r['utilization']:.1%}"),
        ("results", "energy", f"{r['energy_pj'] / 1e6:.4g} uJ per batch ({r['energy_per_inference_uj']:.4g} uJ "
                              f"per inference; off-chip {r['dram_energy_pj'] / max(r['energy_pj'], 1e-300):.1%})"),
        ("results", "power (incl. off-chip)", f"{r['power_mw']:.4g} mW"),
        ("results", "energy per MAC", f"{r['energy_per_mac_pj']:.4g} pJ ({r['gmacs_per_w']:.4g} GMACS/W)"),
        ("results", "energy per non-zero MAC", "n/a" if r["energy_per_nonzero_mac_pj"] is None
         else f"{r['energy_per_nonzero_mac_pj']:.4g} pJ"),
        ("results", "DRAM traffic",
         f"{_si(r['dram_bytes'], ' B', 1024)} ({r['dram_bytes_per_mac']:.4g} bytes per MAC)"),
    ]


def template_table(report: dict[str, Any]) -> Table:
    """The template as a rich table."""
    t = Table(title=f"{report['model']['name']} on {report['hardware']['name']} — benchmarking metrics "
                    "(Sze et al. 2017, Sec. VIII)")
    t.add_column("section")
    t.add_column("metric")
    t.add_column("value", overflow="fold")
    last = ""
    for section, metric, value in template_rows(report):
        t.add_row(section if section != last else "", metric, value)
        last = section
    return t


def result_renderables(r: Result, nest: LoopNest, arch: Architecture, mapping: Mapping) -> list[RenderableType]:
    """One mapping's cost for a terminal: its loop nest, actions and energy per level and tensor, totals."""
    t = Table(title="actions and energy per level (totals over utilized instances)")
    for col in ("level", "tensor", "reads", "fills", "updates", "energy (pJ)", "share"):
        t.add_column(col, justify="left" if col in ("level", "tensor") else "right")
    for lv in r.levels:
        for name, tc in lv.tensors.items():
            if tc.kept:
                t.add_row(lv.name, name, f"{tc.reads:,}", f"{tc.fills:,}", f"{tc.updates:,}",
                          f"{tc.energy_pj:,.3f}", f"{tc.energy_pj / r.energy_pj:.1%}")
        if lv.leak_energy_pj:
            t.add_row(lv.name, "(leakage)", "", "", "", f"{lv.leak_energy_pj:,.3f}",
                      f"{lv.leak_energy_pj / r.energy_pj:.1%}")
    t.add_row("MAC", "(compute)", "", "", "", f"{r.compute_energy_pj:,.3f}", f"{r.compute_energy_pj / r.energy_pj:.1%}")
    return [Text(loop_nest_text(nest, arch, mapping)), t,
            Text(f"MACs {r.macs:,}   cycles {r.cycles:,}   utilization {r.utilization:.1%}   "
                 f"energy {r.energy_pj:,.3f} pJ ({r.energy_per_mac_pj:.4f} pJ/MAC)")]
