"""Sparse storage formats (survey Sec. VII-B): encode, decode and the exact size in bits of each encoding.

Every format stores a 2-D array of integer levels (a tensor is viewed as [rows, cols]: a weight tensor as
[output channels, everything else], an activation map as [channels, pixels]); values take `value_bits` each.
Index and pointer fields take the fewest bits that can hold their largest value (at least 1):

  dense:   rows*cols*value_bits
  bitmask: rows*cols (one presence bit per element) + nnz*value_bits
  COO:     nnz*(value_bits + bits(rows-1) + bits(cols-1))
  CSR:     nnz*(value_bits + bits(cols-1)) + (rows+1)*bits(nnz)
  CSC:     nnz*(value_bits + bits(rows-1)) + (cols+1)*bits(nnz)
  RLC:     Eyeriss's run-length coding of the row-major stream: (run, level) pairs with a `run_bits` count of
           zeros before a `level_bits` value; a run longer than 2**run_bits - 1 emits an explicit zero level;
           trailing zeros are implied by the known length; floor(word_bits / (run_bits + level_bits)) pairs per
           `word_bits`-bit word (Eyeriss: 5 + 16 bits, 3 pairs per 64-bit word), size = words*word_bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from stationary.errors import StationaryError


class Format(StrEnum):
    """A storage format for one tensor."""

    DENSE = "dense"
    BITMASK = "bitmask"
    COO = "coo"
    CSR = "csr"
    CSC = "csc"
    RLC = "rlc"


FORMATS = tuple(f.value for f in Format)


def index_bits(max_value: int) -> int:
    """Bits of an unsigned field that must hold 0..max_value (at least one bit)."""
    return max(1, int(max_value).bit_length())


def as_matrix(values: np.ndarray) -> np.ndarray:
    """View a tensor as the 2-D [rows, cols] array the formats store (first axis = rows)."""
    a = np.asarray(values)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(a.shape[0], -1)


@dataclass(frozen=True)
class Encoded:
    """One encoded tensor: the format's fields as arrays, the shape, and the size in bits."""

    format: Format
    shape: tuple[int, int]
    fields: dict[str, np.ndarray]
    size_bits: int


@dataclass(frozen=True)
class RLCParams:
    """Eyeriss run-length coding: 5-bit runs, 16-bit levels, pairs packed into 64-bit words."""

    run_bits: int = 5
    level_bits: int = 16
    word_bits: int = 64

    @property
    def pairs_per_word(self) -> int:
        return self.word_bits // (self.run_bits + self.level_bits)

    def __post_init__(self) -> None:
        if min(self.run_bits, self.level_bits) < 1 or self.pairs_per_word < 1:
            raise StationaryError(f"RLC needs run and level fields that fit a {self.word_bits}-bit word",
                                  field="rlc")


def encode(values: np.ndarray, fmt: Format | str, value_bits: int = 16, rlc: RLCParams | None = None) -> Encoded:
    """Encode a tensor (viewed as [rows, cols]) in `fmt`; the size counts values at `value_bits` each."""
    fmt = parse_format(fmt)
    if not 1 <= value_bits <= 64:
        raise StationaryError(f"value width must be 1..64 bits, got {value_bits}", field="value_bits")
    m = as_matrix(values)
    rows, cols = m.shape
    nz_r, nz_c = np.nonzero(m)
    nnz = len(nz_r)
    if fmt is Format.DENSE:
        return Encoded(fmt, (rows, cols), {"values": m.ravel().copy()}, rows * cols * value_bits)
    if fmt is Format.BITMASK:
        mask = m != 0
        return Encoded(fmt, (rows, cols), {"mask": mask.ravel(), "values": m[mask]},
                       rows * cols + nnz * value_bits)
    if fmt is Format.COO:
        bits = nnz * (value_bits + index_bits(rows - 1) + index_bits(cols - 1))
        return Encoded(fmt, (rows, cols), {"rows": nz_r, "cols": nz_c, "values": m[nz_r, nz_c]}, bits)
    if fmt is Format.CSR:
        ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(m, axis=1))])
        bits = nnz * (value_bits + index_bits(cols - 1)) + (rows + 1) * index_bits(nnz)
        return Encoded(fmt, (rows, cols), {"ptr": ptr, "cols": nz_c, "values": m[nz_r, nz_c]}, bits)
    if fmt is Format.CSC:
        c_c, c_r = np.nonzero(m.T)
        ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(m, axis=0))])
        bits = nnz * (value_bits + index_bits(rows - 1)) + (cols + 1) * index_bits(nnz)
        return Encoded(fmt, (rows, cols), {"ptr": ptr, "rows": c_r, "values": m[c_r, c_c]}, bits)
    p = rlc or RLCParams(level_bits=value_bits)
    runs, levels = _rlc_pairs(m.ravel(), (1 << p.run_bits) - 1)
    words = math.ceil(len(runs) / p.pairs_per_word)
    return Encoded(fmt, (rows, cols), {"runs": runs, "levels": levels}, words * p.word_bits)


def _rlc_pairs(stream: np.ndarray, max_run: int) -> tuple[np.ndarray, np.ndarray]:
    """(run, level) pairs of a 1-D stream; a gap longer than `max_run` zeros emits (max_run, 0) pairs."""
    runs: list[int] = []
    levels: list = []
    last = -1
    for i in np.flatnonzero(stream):
        gap = int(i) - last - 1
        while gap > max_run:
            runs.append(max_run)
            levels.append(stream.dtype.type(0))
            gap -= max_run + 1
        runs.append(gap)
        levels.append(stream[i])
        last = int(i)
    return np.asarray(runs, dtype=np.int64), np.asarray(levels, dtype=stream.dtype)


def decode(enc: Encoded, dtype: np.dtype | type = np.int64) -> np.ndarray:
    """The [rows, cols] array an encoding stands for."""
    rows, cols = enc.shape
    f = enc.fields
    out = np.zeros((rows, cols), dtype=f["values"].dtype if "values" in f else f["levels"].dtype)
    if enc.format is Format.DENSE:
        out[:] = f["values"].reshape(rows, cols)
    elif enc.format is Format.BITMASK:
        out.ravel()[f["mask"]] = f["values"]
    elif enc.format is Format.COO:
        out[f["rows"], f["cols"]] = f["values"]
    elif enc.format is Format.CSR:
        r = np.repeat(np.arange(rows), np.diff(f["ptr"]))
        out[r, f["cols"]] = f["values"]
    elif enc.format is Format.CSC:
        c = np.repeat(np.arange(cols), np.diff(f["ptr"]))
        out[f["rows"], c] = f["values"]
    else:
        pos = np.cumsum(f["runs"] + 1) - 1
        flat = out.ravel()
        flat[pos] = f["levels"]
    return out.astype(dtype, copy=False)


def size_bits(values: np.ndarray, fmt: Format | str, value_bits: int = 16, rlc: RLCParams | None = None) -> int:
    """Exact size in bits of `values` stored in `fmt` (what `encode` reports)."""
    return encode(values, fmt, value_bits, rlc).size_bits


def best_format(values: np.ndarray, value_bits: int, candidates: tuple[str, ...] = FORMATS) -> tuple[Format, int]:
    """The smallest of `candidates` for this tensor, and its size in bits (ties: the earlier candidate)."""
    sizes = [(size_bits(values, c, value_bits), i, parse_format(c)) for i, c in enumerate(candidates)]
    bits, _, fmt = min(sizes)
    return fmt, bits


def parse_format(fmt: Format | str) -> Format:
    """A format by name, with a clear error listing the valid names."""
    try:
        return Format(str(fmt).lower())
    except ValueError:
        raise StationaryError(f"unknown sparse format {fmt!r}; formats: {', '.join(FORMATS)}",
                              field="format") from None
