"""Sparsity (Sparseloop-style): compressed formats, zero gating and skipping, applied to dense `Counts`.

One rule set, applied by the costing stage (model/costing.py) to the counts of either counter before energy
and cycles are priced, so the fast model and the loop walk both get it. Densities are per tensor (the expected
fraction of nonzero words, i.i.d.); a format per (level, tensor) turns the dense words moved there into
nonzero data words plus metadata words (both priced at the level's per-word access energy); gating a tensor's
reads at a level (or the MACs) on a zero operand keeps the cycles and drops the energy of the gated actions;
skipping drops both. With no `Sparsity` (or all densities 1, no format) the counts are returned unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from stationary.errors import StationaryError

if TYPE_CHECKING:
    from stationary.model.costing import Counts

Array = np.ndarray

FORMATS = ("uncompressed", "bitmask", "rlc", "csr", "csc", "coo")
ZERO_ACTIONS = ("none", "gate", "skip")
#: Eyeriss JSSC 2017 Sec. IV-B: each nonzero is a 16-bit level preceded by a 5-bit run of zeros (at most 31).
RLC_RUN_BITS = 5
#: The operand whose zero gates or skips a tensor's reads (the other MAC input); Outputs follow both inputs.
OTHER_OPERAND = {"Weights": ("Inputs",), "Inputs": ("Weights",), "Outputs": ("Weights", "Inputs")}


@dataclass(frozen=True)
class TensorFormat:
    """How one tensor is stored at one level: a format and, for CSR/CSC, the fiber (row or column) length."""

    format: str = "uncompressed"
    fiber_words: int = 1  # CSR: words per row; CSC: words per column (one pointer per fiber)
    run_bits: int = RLC_RUN_BITS  # RLC: bits of a zero-run field

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise StationaryError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}",
                                  field="format")
        if not isinstance(self.fiber_words, int) or isinstance(self.fiber_words, bool) or self.fiber_words < 1:
            raise StationaryError(f"fiber_words must be a positive integer, got {self.fiber_words!r}",
                                  field="fiber_words")
        if not isinstance(self.run_bits, int) or isinstance(self.run_bits, bool) or not 1 <= self.run_bits <= 32:
            raise StationaryError(f"run_bits must be an integer in 1..32, got {self.run_bits!r}", field="run_bits")


@dataclass(frozen=True)
class Sparsity:
    """Densities per tensor, formats per (level, tensor), zero gating/skipping per level and at the MACs."""

    densities: tuple[tuple[str, float], ...] = ()  # tensor -> expected nonzero fraction in [0, 1]
    formats: tuple[tuple[str, str, TensorFormat], ...] = ()  # (level, tensor, format)
    level_zero: tuple[tuple[str, str, str], ...] = ()  # (level, tensor, "gate"|"skip") on the other operand's zero
    compute_zero: str = "none"  # MACs with a zero operand: gated (energy only) or skipped (energy and cycles)
    gated_energy_fraction: float = 0.0  # energy of a gated action relative to a performed one

    def __post_init__(self) -> None:
        for t, d in self.densities:
            if not isinstance(d, (int, float)) or isinstance(d, bool) or not 0.0 <= d <= 1.0:
                raise StationaryError(f"density of {t} must be a number in [0, 1], got {d!r}",
                                      field=f"densities.{t}")
        for lv, t, a in self.level_zero:
            if a not in ("gate", "skip"):
                raise StationaryError(f"level {lv}: {t} zero action must be gate or skip, got {a!r}",
                                      field=f"{lv}.zero")
        if self.compute_zero not in ZERO_ACTIONS:
            raise StationaryError(f"compute zero action must be one of {', '.join(ZERO_ACTIONS)}, got "
                                  f"{self.compute_zero!r}", field="compute.zero")
        g = self.gated_energy_fraction
        if not isinstance(g, (int, float)) or isinstance(g, bool) or not 0.0 <= g <= 1.0:
            raise StationaryError(f"gated_energy_fraction must be a number in [0, 1], got {g!r}",
                                  field="gated_energy_fraction")

    def density(self, tensor: str) -> float:
        return dict(self.densities).get(tensor, 1.0)

    def format_at(self, level: str, tensor: str) -> TensorFormat:
        for lv, t, f in self.formats:
            if lv == level and t == tensor:
                return f
        return TensorFormat()

    def zero_at(self, level: str, tensor: str) -> str:
        for lv, t, a in self.level_zero:
            if lv == level and t == tensor:
                return a
        return "none"

    def operand_density(self, tensor: str) -> float:
        """Probability that the operand(s) a tensor's access depends on are all nonzero."""
        return math.prod(self.density(o) for o in OTHER_OPERAND.get(tensor, ()))


def rlc_pairs_per_word(density: float, run_bits: int = RLC_RUN_BITS) -> float:
    """Expected RLC (run, level) pairs per dense word of an i.i.d. stream of the given density.

    Each nonzero is one pair; a zero gap G before it (geometric, P(G >= m) = q^m, q = 1 - density) needs
    floor(G / R) extra pairs with level 0 (R = 2^run_bits: a run of R-1 zeros plus the zero level itself), and
    E[floor(G / R)] = sum_j q^(jR) = q^R / (1 - q^R). An all-zero stream needs one pair per R words.
    """
    r = 2 ** run_bits
    if density <= 0.0:
        return 1.0 / r
    q = 1.0 - density
    return density * (1.0 + q ** r / (1.0 - q ** r))


def encoded_words(fmt: TensorFormat, words: float, density: float, word_bits: int) -> tuple[float, float]:
    """(data words, metadata words) to move `words` dense words of a tensor of `density` in format `fmt`.

    Expected values (no rounding): bitmask one bit per dense word; RLC `run_bits` per pair; COO a flat
    coordinate of ceil(log2 words) bits per nonzero; CSR/CSC a ceil(log2(fiber_words))-bit index per nonzero and
    one pointer of ceil(log2(words + 1)) bits per fiber (plus the closing one).
    """
    if fmt.format == "uncompressed" or words <= 0:
        return float(words), 0.0
    nnz = words * density
    if fmt.format == "bitmask":
        return nnz, words / word_bits
    if fmt.format == "rlc":
        pairs = words * rlc_pairs_per_word(density, fmt.run_bits)
        return pairs, pairs * fmt.run_bits / word_bits
    if fmt.format == "coo":
        return nnz, nnz * max(1, math.ceil(math.log2(max(words, 2)))) / word_bits
    # csr / csc
    index_bits = max(1, math.ceil(math.log2(max(fmt.fiber_words, 2))))
    pointer_bits = max(1, math.ceil(math.log2(words + 1)))
    fibers = words / fmt.fiber_words
    return nnz, (nnz * index_bits + (fibers + 1) * pointer_bits) / word_bits


def _scaled(x: Array, factor: Array | float) -> Array:
    """ceil(x * factor) elementwise, keeping the dtype (int64, or object arrays of Python ints)."""
    f = np.broadcast_to(np.asarray(factor, dtype=np.float64), x.shape)
    if x.dtype == object:
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            out[idx] = math.ceil(int(x[idx]) * float(f[idx]) - 1e-9) if f[idx] != 1.0 else int(x[idx])
        return out
    return np.where(f == 1.0, x, np.ceil(x.astype(np.float64) * f - 1e-9)).astype(x.dtype)


def word_factor(fmt: TensorFormat, density: float, word_bits: int) -> float:
    """Moved words (data + metadata) per dense word in format `fmt` (large-stream limit)."""
    if fmt.format == "uncompressed":
        return 1.0
    n = 1 << 20  # a stream long enough that fiber pointers and coordinate widths take their asymptotic share
    data, meta = encoded_words(fmt, n, density, word_bits)
    return (data + meta) / n


@dataclass(frozen=True)
class Factors:
    """What sparsity multiplies the dense counts by: reads and moves (fills, updates) per (level, tensor), the MAC
    count that costs energy per MAC, and the compute cycles (skipping only). The model applies them (`apply`, each
    count rounded up); the lower bounds scale by their least (mapper/bounds/layer.py)."""

    read: np.ndarray  # (levels, tensors)
    move: np.ndarray  # (levels, tensors)
    mac_energy: float
    cycles: float

    @property
    def least_word(self) -> float:
        """The least factor of any word count, at most 1: every compressed count is at least this x its dense one."""
        return float(min(1.0, self.read.min(initial=1.0), self.move.min(initial=1.0)))


def factors(sp: Sparsity, level_names: tuple[str, ...], word_bits: tuple[int, ...],
            tensors: tuple[str, ...]) -> Factors:
    """The factors of `sp` on an architecture's levels and a layer's tensors: fills and updates of a compressed
    tensor move data + metadata words; reads also scale by the format, and by the other operand's density where
    that level gates or skips them. Gated actions cost `gated_energy_fraction` of a performed one; only skipping
    (at the MACs) shortens the compute cycles."""
    n_l, n_t = len(level_names), len(tensors)
    read_f = np.ones((n_l, n_t))
    move_f = np.ones((n_l, n_t))
    for i, lv in enumerate(level_names):
        for k, t in enumerate(tensors):
            fmt = sp.format_at(lv, t)
            wf = word_factor(fmt, sp.density(t), word_bits[i])
            move_f[i, k] = wf
            read_f[i, k] = wf
            zero = sp.zero_at(lv, t)
            if zero != "none":
                p = sp.operand_density(t)
                g = sp.gated_energy_fraction if zero == "gate" else 0.0
                read_f[i, k] *= p + (1.0 - p) * g
    p_mac = sp.density("Weights") * sp.density("Inputs")
    if sp.compute_zero == "none":
        return Factors(read_f, move_f, 1.0, 1.0)
    g = sp.gated_energy_fraction if sp.compute_zero == "gate" else 0.0
    return Factors(read_f, move_f, p_mac + (1.0 - p_mac) * g, p_mac if sp.compute_zero == "skip" else 1.0)


def apply(c: Counts, sp: Sparsity, level_names: tuple[str, ...], word_bits: tuple[int, ...],
          tensors: tuple[str, ...]) -> tuple[Counts, Array]:
    """The counts after formats and zero gating/skipping (`factors`, each count rounded up), and the MAC count
    that costs energy (B,)."""
    f = factors(sp, level_names, word_bits, tensors)
    reads = _scaled(c.reads, f.read[None])
    fills = _scaled(c.fills, f.move[None])
    updates = _scaled(c.updates, f.move[None])
    energy_macs = np.asarray(c.macs, dtype=np.float64) * f.mac_energy
    cycles = np.maximum(_scaled(c.compute_cycles, f.cycles), 1) if f.cycles != 1.0 else c.compute_cycles
    return replace(c, reads=reads, fills=fills, updates=updates, compute_cycles=cycles), energy_macs
