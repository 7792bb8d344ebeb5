"""3-D stacked DRAM vaults (HMC/HBM) against off-chip DDR: energy per bit and bandwidth.

Sources (recalled from the papers, not re-read here; docs/neardata.md):
* HMC vault access (DRAM arrays + TSVs, no SerDes link): 3.7 pJ/bit, the figure Tetris (Gao et al.,
  ASPLOS 2017) and Neurocube (Kim et al., ISCA 2016) build on, from Jeddeloh & Keeth, "Hybrid Memory Cube",
  VLSI 2012 (10.48 pJ/bit for a whole external HMC access including the links).
* HMC organisation as Neurocube and Tetris use it: 16 vaults, 10 GB/s per vault (160 GB/s per stack).
* HBM2: 3.9 pJ/bit (O'Connor et al., "Fine-grained DRAM", MICRO 2017).
* Off-chip DDR3: 70 pJ/bit including the I/O (Jeddeloh & Keeth 2012's comparison); a DDR3-1600 x64 channel
  gives 12.8 GB/s. The project's own DRAM figure is Horowitz's 20 pJ/bit (arch/energy.py), and the eyeriss
  preset's 460 pJ per 16-bit word (28.75 pJ/bit).
"""

from __future__ import annotations

from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError

HMC_VAULT_PJ_PER_BIT = 3.7
HMC_EXTERNAL_PJ_PER_BIT = 10.48
HMC_VAULTS = 16
HMC_VAULT_GBPS = 10.0  # GB/s per vault
HBM2_PJ_PER_BIT = 3.9
DDR3_PJ_PER_BIT = 70.0
DDR3_CHANNEL_GBPS = 12.8  # DDR3-1600, 64-bit channel

MEMORIES = {  # name -> (pJ per bit, GB/s per channel or vault)
    "hmc_vault": (HMC_VAULT_PJ_PER_BIT, HMC_VAULT_GBPS),
    "hmc_external": (HMC_EXTERNAL_PJ_PER_BIT, HMC_VAULTS * HMC_VAULT_GBPS),
    "hbm2": (HBM2_PJ_PER_BIT, 256.0),  # one HBM2 stack: 1024 bits at 2 Gb/s per pin
    "ddr3": (DDR3_PJ_PER_BIT, DDR3_CHANNEL_GBPS),
}


def memory_pj_per_bit(kind: str) -> float:
    """Energy per bit moved between the DRAM cells and the compute die for a named memory."""
    if kind not in MEMORIES:
        raise StationaryError(f"unknown memory {kind!r}; known: {', '.join(MEMORIES)}", field="memory")
    return MEMORIES[kind][0]


def memory_gbps(kind: str) -> float:
    """Peak bandwidth (GB/s) of one vault (3-D stacks) or one channel (DDR) of a named memory."""
    memory_pj_per_bit(kind)
    return MEMORIES[kind][1]


def dram_energy(kind: str, width_bits: int, pj_per_bit: float | None = None) -> ActionEnergy:
    """Read = write = update energy of one `width_bits` access to a named memory (or an explicit pJ/bit)."""
    e = memory_pj_per_bit(kind) if pj_per_bit is None else pj_per_bit
    if not e > 0:
        raise StationaryError(f"pJ per bit must be positive, got {e!r}", field="pj_per_bit")
    return ActionEnergy(e * width_bits, e * width_bits, e * width_bits)


def words_per_cycle(gbps: float, clock_mhz: float, word_bits: int) -> float:
    """A bandwidth in GB/s as words per cycle of the accelerator's clock (the model's bandwidth unit)."""
    if not gbps > 0 or not clock_mhz > 0:
        raise StationaryError("bandwidth and clock must be positive", field="bandwidth_gbps")
    return gbps * 1e9 * 8 / word_bits / (clock_mhz * 1e6)


def stack_words_per_cycle(kind: str, vaults: int, clock_mhz: float, word_bits: int) -> float:
    """Aggregate bandwidth of `vaults` vaults (or channels) of a memory, in words per cycle."""
    if not isinstance(vaults, int) or vaults < 1:
        raise StationaryError(f"vaults must be a positive integer, got {vaults!r}", field="vaults")
    return words_per_cycle(memory_gbps(kind) * vaults, clock_mhz, word_bits)
