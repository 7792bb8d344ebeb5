"""Energy of a systolic run: action counts x a per-access energy table.

The default table is the project's one Horowitz 45 nm table (arch/energy.py, docs/energy.md (b)) at SCALE-Sim's
one-byte words: an 8-bit MAC (multiplier + adder), each SRAM's read at its own capacity (log-log
interpolation; writes charged as reads) and DRAM per bit. Pass your own EnergyTable to override it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from stationary.arch.energy import HOROWITZ_DRAM_PJ_PER_BIT, mac_pj, sram_read_pj
from stationary.arch.spec import check_energy_pj
from stationary.systolic.config import SystolicConfig

WORD_BITS = 8  # SCALE-Sim's words are one byte


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action in picojoules per one-byte word; each SRAM has its own (they may differ in size)."""

    mac_pj: float
    ifmap_sram_word_pj: float
    filter_sram_word_pj: float
    ofmap_sram_word_pj: float
    dram_word_pj: float

    def __post_init__(self) -> None:
        for f in fields(self):
            check_energy_pj(getattr(self, f.name), f.name, "systolic energy table: ")


def horowitz45(cfg: SystolicConfig) -> EnergyTable:
    """The default table for `cfg`: arch/energy.py's Horowitz 45 nm MAC, SRAM (at each SRAM's size) and DRAM."""
    def sram(kb: int) -> float:
        return sram_read_pj(kb * 1024, WORD_BITS)

    return EnergyTable(mac_pj=mac_pj(WORD_BITS), ifmap_sram_word_pj=sram(cfg.ifmap_sram_kb),
                       filter_sram_word_pj=sram(cfg.filter_sram_kb), ofmap_sram_word_pj=sram(cfg.ofmap_sram_kb),
                       dram_word_pj=HOROWITZ_DRAM_PJ_PER_BIT * WORD_BITS)


def layer_energy_pj(macs: int, counts: dict[str, int], table: EnergyTable) -> dict[str, float]:
    """MAC, SRAM and DRAM energy (pJ) from access counts: energy = sum(count x energy per action)."""
    t = table
    e_mac = macs * t.mac_pj
    e_sram = (counts["sram_ifmap_reads"] * t.ifmap_sram_word_pj + counts["sram_filter_reads"] * t.filter_sram_word_pj
              + counts["sram_ofmap_writes"] * t.ofmap_sram_word_pj)
    e_dram = (counts["dram_ifmap_reads"] + counts["dram_filter_reads"] + counts["dram_ofmap_writes"]) * t.dram_word_pj
    return {"energy_mac_pj": e_mac, "energy_sram_pj": e_sram, "energy_dram_pj": e_dram,
            "energy_total_pj": e_mac + e_sram + e_dram}
