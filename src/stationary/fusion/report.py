"""The fusion section of `stationary evaluate --fuse`: its JSON, and a table with summary lines for a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table

from stationary.arch.spec import Architecture
from stationary.fusion.search import FusionPlan, check_fuse, plan_fusion
from stationary.mapper.network import LayerPlan
from stationary.mapper.search import SearchOptions
from stationary.workload.network import Network

NETWORK_INPUT = "network input"


def named_halos(halos: dict[str, str]) -> dict[str, str] | None:
    """Per-tensor halo choices keyed by producer name; the network input (producer "") is called "network input"."""
    return {(name or NETWORK_INPUT): how for name, how in halos.items()} or None


def fusion_json(plan: FusionPlan) -> dict[str, Any]:
    """The plan with units: bytes at the outermost level's word size."""
    b = plan.word_bits / 8
    return {"level": plan.level, "capacity_words": plan.capacity_words,
            "groups": [{"layers": list(g.names), "fused": g.fused, "attention": g.attention,
                        "dram_bytes": g.dram_words * b, "dram_bytes_layer_by_layer": g.dram_words_layer_by_layer * b,
                        "kv_bytes": g.cost.counts.operand_words * b if g.cost else 0,
                        "buffer_words": g.buffer_words, "recompute_macs": g.recompute_macs,
                        "non_mac_ops": g.cost.counts.other_ops if g.cost else 0,
                        "non_mac_energy_pj": g.cost.other_energy_pj if g.cost else 0.0,
                        "energy_pj": g.energy_pj, "cycles": g.cycles,
                        "tile": list(g.tile) if g.tile else None, "heads_per_tile": g.heads_per_tile,
                        "halo": g.policy or None, "halos": named_halos(g.halos)}
                       for g in plan.groups],
            "dram_bytes_layer_by_layer": plan.layer_by_layer_dram_words * b, "dram_bytes_fused": plan.dram_words * b,
            "energy_pj_layer_by_layer": plan.layer_by_layer_energy_pj, "energy_pj_fused": plan.energy_pj,
            "cycles_layer_by_layer": plan.layer_by_layer_cycles, "cycles_fused": plan.cycles,
            "not_fusible": plan.not_fusible}


def fusion_section(mode: str, net: Network, arch: Architecture, plans: list[LayerPlan],
                   options: SearchOptions) -> dict[str, Any]:
    """`{"fusion": ...}` for `evaluate`'s JSON ({} for --fuse none)."""
    if check_fuse(mode) == "none":
        return {}
    return {"fusion": fusion_json(plan_fusion(net, arch, plans, mode, options))}


def fusion_renderables(out: dict[str, Any], mode: str) -> list[RenderableType]:
    """The fused groups as a table (when any group is fused) and summary lines, for a terminal."""
    t = Table(title=f"fused groups at {out['level']} ({out['capacity_words']:,} words), --fuse {mode}")
    for col in ("layers", "tile", "halo", "DRAM (MB)", "saved (MB)", "buffer (words)", "recompute MACs",
                "energy (pJ)", "cycles"):
        t.add_column(col, justify="left" if col == "layers" else "right")
    for g in out["groups"]:
        if g["fused"]:
            heads = f", {g['heads_per_tile']} heads" if g["heads_per_tile"] else ""
            saved = (g["dram_bytes_layer_by_layer"] - g["dram_bytes"]) / 1e6
            t.add_row("+".join(g["layers"]) + (" (attention)" if g["attention"] else ""),
                      "x".join(map(str, g["tile"])) + heads, g["halo"], f"{g['dram_bytes'] / 1e6:.4g}",
                      f"{saved:.4g}", f"{g['buffer_words']:,}", f"{g['recompute_macs']:,}",
                      f"{g['energy_pj']:,.0f}", f"{g['cycles']:,}")
    fused_any = any(g["fused"] for g in out["groups"])
    lbl, fused = out["dram_bytes_layer_by_layer"], out["dram_bytes_fused"]
    lines: list[RenderableType] = [t] if fused_any else []
    lines.append(f"DRAM {lbl / 1e6:.4g} MB layer by layer -> {fused / 1e6:.4g} MB fused "
                 f"({(1 - fused / lbl) * 100 if lbl else 0:.1f} % saved); energy "
                 f"{out['energy_pj_layer_by_layer']:,.0f} -> {out['energy_pj_fused']:,.0f} pJ; cycles "
                 f"{out['cycles_layer_by_layer']:,} -> {out['cycles_fused']:,}")
    if not fused_any:
        lines.append("no group is worth fusing (or fits): every layer runs alone")
    lines += [f"not fusible: {why}" for why in out["not_fusible"]]
    return lines
