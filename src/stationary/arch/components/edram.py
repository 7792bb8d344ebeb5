"""Embedded DRAM (1T1C) buffers: denser than SRAM at the same area, but every bit must be refreshed.

Sources (docs/neardata.md lists them with the scaling rules):
* density: a 1T1C eDRAM macro stores about 3x the bits of a 6T SRAM macro in the same area (IBM 45 nm SOI:
  cell 0.067 um^2 vs 0.37 um^2 for 6T, i.e. ~5x at the cell, ~3x with periphery; DaDianNao, MICRO 2014, and
  ISAAC, ISCA 2016, chose eDRAM for this reason). Figures recalled from those papers, not re-read here.
* access energy: taken equal to an SRAM of the same capacity (Horowitz 45 nm interpolation, arch/energy.py);
  this is a modelling assumption (CACTI/DESTINY report the same order for both at 100 kB-1 MB).
* retention: 40 us worst case for logic-process eDRAM (Barth et al., IBM 45 nm SOI eDRAM, JSSC 2011; the
  POWER7 L3), so every bit is refreshed once per 40 us.
* refresh energy: 30 fJ per bit refreshed (assumption: one bit-line swing, ~30 fF at 1 V, per cell; a row
  refresh stays inside the sub-array, so no port or H-tree energy is spent).
"""

from __future__ import annotations

from stationary.arch.energy import SRAM_UM2_PER_BIT, sram_read_pj
from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError

EDRAM_DENSITY_VS_SRAM = 3.0  # bits per unit area, relative to 6T SRAM (see module docstring)
EDRAM_ACCESS_VS_SRAM = 1.0  # access energy relative to an SRAM of equal capacity (assumption)
EDRAM_RETENTION_US = 40.0  # Barth et al., JSSC 2011 (IBM 45 nm SOI eDRAM)
EDRAM_REFRESH_FJ_PER_BIT = 30.0  # one bit-line swing per refreshed cell (assumption)


def _positive(value: float, field: str) -> float:
    """The value itself, or a StationaryError naming `field` when it is not a positive number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise StationaryError(f"must be a positive number, got {value!r}", field=field)
    return float(value)


def edram_bytes_at_sram_area(sram_bytes: float, density_vs_sram: float = EDRAM_DENSITY_VS_SRAM) -> float:
    """Capacity of the eDRAM that fits in the area of an SRAM of `sram_bytes`: density times larger."""
    return _positive(sram_bytes, "sram_kb") * _positive(density_vs_sram, "density_vs_sram")


def edram_area_um2(size_bytes: float, density_vs_sram: float = EDRAM_DENSITY_VS_SRAM) -> float:
    """Area of an eDRAM macro: the project's SRAM area per bit divided by the density advantage."""
    return _positive(size_bytes, "size_kb") * 8 * SRAM_UM2_PER_BIT / _positive(density_vs_sram, "density_vs_sram")


def edram_access_pj(size_bytes: float, width_bits: int, reference: tuple[float, float] | None = None,
                    access_vs_sram: float = EDRAM_ACCESS_VS_SRAM) -> float:
    """Energy of one `width_bits` access: an equal-capacity SRAM's (Horowitz law), or a reference SRAM's
    energy (bytes, pJ per access of the same width) scaled to this capacity by the same law."""
    _positive(size_bytes, "size_kb")
    if reference is None:
        sram = sram_read_pj(size_bytes, width_bits)
    else:
        ref_bytes, ref_pj = _positive(reference[0], "sram_kb"), _positive(reference[1], "sram_access_pj")
        sram = ref_pj * sram_read_pj(size_bytes, width_bits) / sram_read_pj(ref_bytes, width_bits)
    return sram * _positive(access_vs_sram, "access_vs_sram")


def edram_refresh_pj_per_cycle(size_bytes: float, clock_mhz: float, retention_us: float = EDRAM_RETENTION_US,
                               refresh_fj_per_bit: float = EDRAM_REFRESH_FJ_PER_BIT) -> float:
    """Refresh energy charged per clock cycle (as leakage): every bit once per retention time, so it grows
    linearly with capacity and with the cycle time."""
    bits = _positive(size_bytes, "size_kb") * 8
    cycle_us = 1.0 / _positive(clock_mhz, "clock_mhz")
    return bits * _positive(refresh_fj_per_bit, "refresh_fj_per_bit") * 1e-3 * cycle_us / _positive(
        retention_us, "retention_us")


def edram_energy(size_bytes: float, width_bits: int, clock_mhz: float, reference: tuple[float, float] | None = None,
                 retention_us: float = EDRAM_RETENTION_US, refresh_fj_per_bit: float = EDRAM_REFRESH_FJ_PER_BIT,
                 extra_leak_pj: float = 0.0) -> ActionEnergy:
    """Per-access energies of an eDRAM level (reads = fills = updates) and its refresh as per-cycle leakage."""
    e = edram_access_pj(size_bytes, width_bits, reference)
    leak = edram_refresh_pj_per_cycle(size_bytes, clock_mhz, retention_us, refresh_fj_per_bit)
    return ActionEnergy(e, e, e, leak + extra_leak_pj)
