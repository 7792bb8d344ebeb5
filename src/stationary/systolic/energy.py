"""Energy of a systolic run: action counts x a per-access energy table.

Default table: Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V (the numbers quoted in
Sze et al. 2017 and docs/references.md §2): 8-bit integer multiply 0.2 pJ + add 0.03 pJ per MAC; a 64-bit
read from an 8 kB SRAM 10 pJ (1.25 pJ per 8-bit word; 32 kB: 20 pJ; 1 MB: 100 pJ per 64 bits); DRAM
1.3-2.6 nJ per 64 bits (we take 2.0 nJ, i.e. 250 pJ per byte). SCALE-Sim words are 1 byte. The SRAM
cost per word is scaled with sqrt(capacity / 8 kB) between Horowitz's 8 kB and 1 MB points. A shared
cost-model table will replace this one; pass your own EnergyTable to override.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action in picojoules (8-bit words)."""

    mac_pj: float = 0.23  # 8-bit mult 0.2 + 8-bit add 0.03 (Horowitz 2014)
    sram_word_pj_at_8kb: float = 1.25  # 10 pJ per 64-bit read of an 8 kB SRAM (Horowitz 2014)
    sram_kb: int = 64  # SRAM size the per-word cost is scaled to
    dram_word_pj: float = 250.0  # ~2 nJ per 64 bits (Horowitz 2014: 1.3-2.6 nJ)

    @property
    def sram_word_pj(self) -> float:
        return self.sram_word_pj_at_8kb * (max(self.sram_kb, 1) / 8) ** 0.5


HOROWITZ_45NM = EnergyTable()


def layer_energy_pj(macs: int, counts: dict[str, int], table: EnergyTable | None = None) -> dict[str, float]:
    """MAC, SRAM and DRAM energy (pJ) from access counts: energy = sum(count x energy per action)."""
    t = table or HOROWITZ_45NM
    sram = counts["sram_ifmap_reads"] + counts["sram_filter_reads"] + counts["sram_ofmap_writes"]
    dram = counts["dram_ifmap_reads"] + counts["dram_filter_reads"] + counts["dram_ofmap_writes"]
    e_mac, e_sram, e_dram = macs * t.mac_pj, sram * t.sram_word_pj, dram * t.dram_word_pj
    return {"energy_mac_pj": e_mac, "energy_sram_pj": e_sram, "energy_dram_pj": e_dram,
            "energy_total_pj": e_mac + e_sram + e_dram}
