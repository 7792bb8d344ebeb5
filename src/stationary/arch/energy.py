"""Energy (and area) per action from published tables, so a native spec can say `energy: survey` instead of
listing pJ. Every number's source is named next to it; docs/energy.md explains the scaling rules.
"""

from __future__ import annotations

import math

from stationary.arch.spec import ActionEnergy, StorageKind
from stationary.errors import StationaryError

# (a) Sze et al. 2017, Fig. 22: normalized energy per access, relative to one MAC (= 1).
SURVEY_NORMALIZED = {StorageKind.DRAM: 200.0, StorageKind.BUFFER: 6.0, "array": 2.0, StorageKind.RF: 1.0, "MAC": 1.0}

# (b) Horowitz, ISSCC 2014, 45 nm 0.9 V (docs/references.md §2), pJ.
HOROWITZ_SRAM_64BIT_READ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))  # (bytes, pJ)
HOROWITZ_DRAM_PJ_PER_BIT = 20.0  # 640 pJ per 32-bit access (1.3-2.6 nJ per 64 bits: 20-40 pJ/bit)
HOROWITZ_INT_MULT = {8: 0.2, 32: 3.1}  # pJ
HOROWITZ_INT_ADD = {8: 0.03, 32: 0.1}
HOROWITZ_FP = {16: (1.1, 0.4), 32: (3.7, 0.9)}  # (mult, add) pJ

# Area estimates at 45 nm (not from the survey; order-of-magnitude figures for comparisons at equal area):
SRAM_UM2_PER_BIT = 0.6  # 6T cell ~0.35 um^2 plus periphery
RF_UM2_PER_BIT = 2.0  # flip-flop / latch register files
DRAM_UM2_PER_BIT = 0.0  # off chip
MAC_UM2_PER_BIT2 = 4.0  # a b-bit multiplier-accumulator ~ 4 b^2 um^2 (16-bit: ~1000 um^2)

TABLES = ("survey", "horowitz45")


def sram_read_pj(size_bytes: float, width_bits: int) -> float:
    """Horowitz SRAM read energy interpolated log-log in capacity, scaled linearly with access width."""
    if size_bytes <= 0:
        raise StationaryError(f"SRAM size must be positive, got {size_bytes} bytes")
    pts = HOROWITZ_SRAM_64BIT_READ
    if size_bytes <= pts[0][0]:
        (s0, e0), (s1, e1) = pts[0], pts[1]
    elif size_bytes >= pts[-1][0]:
        (s0, e0), (s1, e1) = pts[-2], pts[-1]
    else:
        k = next(i for i in range(len(pts) - 1) if pts[i][0] <= size_bytes <= pts[i + 1][0])
        (s0, e0), (s1, e1) = pts[k], pts[k + 1]
    slope = math.log(e1 / e0) / math.log(s1 / s0)
    e64 = e0 * (size_bytes / s0) ** slope
    return e64 * width_bits / 64


def mac_pj(bits: int, floating: bool = False) -> float:
    """One multiply-accumulate: multiplier ~ quadratic and adder ~ linear in the operand width (Horowitz)."""
    if not 1 <= bits <= 64:
        raise StationaryError(f"MAC width must be 1..64 bits, got {bits}")
    if floating:
        b = 16 if bits <= 16 else 32
        mult, add = HOROWITZ_FP[b]
        return mult + add
    mult = HOROWITZ_INT_MULT[8] * (bits / 8) ** 2
    add = HOROWITZ_INT_ADD[8] * (bits / 8)
    return mult + add


def storage_energy(table: str, kind: StorageKind | str, size_bytes: float | None, width_bits: int) -> ActionEnergy:
    """Per-access energy of a storage level of `kind` (DRAM / buffer / RF) under a named table."""
    kind = StorageKind.parse(kind)
    if table == "survey":
        e = SURVEY_NORMALIZED[kind]
        return ActionEnergy(e, e, e)
    if table == "horowitz45":
        if kind == StorageKind.DRAM or size_bytes is None:
            e = HOROWITZ_DRAM_PJ_PER_BIT * width_bits
        else:
            e = sram_read_pj(size_bytes, width_bits)
        return ActionEnergy(e, e, e)
    raise StationaryError(f"unknown energy table {table!r}; tables: {', '.join(TABLES)} (or give pJ values)")


def compute_energy(table: str, bits: int) -> float:
    """One MAC's energy under a named table (survey: 1, the unit; horowitz45: `mac_pj(bits)`)."""
    if table == "survey":
        return SURVEY_NORMALIZED["MAC"]
    if table == "horowitz45":
        return mac_pj(bits)
    raise StationaryError(f"unknown energy table {table!r}; tables: {', '.join(TABLES)}")


def storage_area_um2(kind: StorageKind | str, size_bytes: float | None) -> float:
    """Area estimate of a storage level of `kind` holding `size_bytes` (DRAM is off chip: 0)."""
    kind = StorageKind.parse(kind)
    if size_bytes is None or kind == StorageKind.DRAM:
        return 0.0
    per_bit = RF_UM2_PER_BIT if kind == StorageKind.RF else SRAM_UM2_PER_BIT
    return size_bytes * 8 * per_bit


def mac_area_um2(bits: int) -> float:
    """Area estimate of one b-bit MAC (~ 4 b^2 um^2)."""
    return MAC_UM2_PER_BIT2 * bits * bits
