"""Deep Compression's storage (Han, Mao, Dally, ICLR 2016), stage by stage, as real bit streams: every size is
the length of a stream that `decode_*` reads back (tests compare the decoded arrays bit for bit).

One layer's weights, flattened row-major, are stored as (relative index, value) entries: the relative index
is the number of zeros skipped before the entry, in `index_bits` bits; a gap longer than 2^index_bits - 1
zeros inserts a padding entry of value zero (the paper's Fig. 2 "filler zero"; the same rule as Eyeriss'
RLC, `formats._rlc_pairs`). Zeros after the last entry are implied by the known layer size.

  stage "dense":   n * 32 (float32 weights)
  stage "pruned":  32 (entry count) + entries * (index_bits + 32)          (float32 values, fillers 0.0)
  stage "shared":  32 + entries * (index_bits + b) + codebook              (b-bit codes, code 0 = zero)
  stage "huffman": 32 + codebook + two canonical Huffman tables + the Huffman-coded code and index streams
The codebook is (2^b - 1) float32 centroids for k-means codes, or one float32 scale per output channel for
uniform / log codes (the zigzag code of the integer level: 0 -> 0, +l -> 2l - 1, -l -> 2l). A Huffman table
stores every symbol's code length in 5 bits (0 = unused symbol); a stream with one symbol uses a 1-bit code.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from stationary.codesign.formats import _rlc_pairs
from stationary.errors import StationaryError

COUNT_BITS = 32  # the entry count heading each layer's stream
FLOAT_BITS = 32
LENGTH_BITS = 5  # a Huffman table entry: one symbol's code length, 0..31
STAGES = ("dense", "pruned", "shared", "huffman")


# ----- bit streams -------------------------------------------------------------------------------------------
class BitWriter:
    """Append unsigned fields MSB first; `bits` is the exact stream length, `to_bytes` pads the last byte."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.bits = 0

    def write(self, value: int, width: int) -> None:
        if width < 0 or value < 0 or value >> width:
            raise StationaryError(f"value {value} does not fit {width} bits")
        if width:
            self._parts.append(format(value, f"0{width}b"))
            self.bits += width

    def write_float32(self, values: np.ndarray) -> None:
        for v in np.asarray(values, dtype=np.float32).view(np.uint32):
            self.write(int(v), 32)

    def to_bytes(self) -> bytes:
        s = "".join(self._parts)
        s += "0" * (-len(s) % 8)
        return int(s, 2).to_bytes(len(s) // 8, "big") if s else b""


class BitReader:
    """Read unsigned fields MSB first from bytes written by BitWriter."""

    def __init__(self, data: bytes) -> None:
        self._s = "".join(format(b, "08b") for b in data)
        self.pos = 0

    def read(self, width: int) -> int:
        if self.pos + width > len(self._s):
            raise StationaryError("stream ended early")
        v = int(self._s[self.pos:self.pos + width], 2) if width else 0
        self.pos += width
        return v

    def read_bit(self) -> int:
        return self.read(1)

    def read_float32(self, n: int) -> np.ndarray:
        return np.array([self.read(32) for _ in range(n)], dtype=np.uint32).view(np.float32)


# ----- canonical Huffman -------------------------------------------------------------------------------------
def huffman_lengths(symbols: np.ndarray, alphabet: int) -> list[int]:
    """Code length of every symbol 0..alphabet-1 in a Huffman code of `symbols` (0 = absent; one symbol: 1)."""
    counts = np.bincount(np.asarray(symbols, dtype=np.int64), minlength=alphabet)
    present = [int(s) for s in np.flatnonzero(counts)]
    lengths = [0] * alphabet
    if len(present) == 1:
        lengths[present[0]] = 1
        return lengths
    # (count, smallest symbol, symbols): ties broken by the smallest symbol, so the code is deterministic
    heap: list[tuple[int, int, tuple[int, ...]]] = [(int(counts[s]), s, (s,)) for s in present]
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, k1, a = heapq.heappop(heap)
        c2, k2, b = heapq.heappop(heap)
        for s in a + b:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, min(k1, k2), a + b))
    if max(lengths) >= 1 << LENGTH_BITS:
        raise StationaryError(f"a Huffman code longer than {(1 << LENGTH_BITS) - 1} bits")
    return lengths


def canonical_codes(lengths: list[int]) -> dict[int, tuple[int, int]]:
    """symbol -> (code, length) of the canonical Huffman code with these lengths (by length, then symbol)."""
    code, prev, out = 0, 0, {}
    for length, s in sorted((n, s) for s, n in enumerate(lengths) if n):
        code <<= length - prev
        out[s] = (code, length)
        code += 1
        prev = length
    return out


def write_huffman(w: BitWriter, symbols: np.ndarray, alphabet: int) -> None:
    """The table (alphabet x 5-bit lengths), then every symbol's code."""
    lengths = huffman_lengths(symbols, alphabet) if len(symbols) else [0] * alphabet
    for n in lengths:
        w.write(n, LENGTH_BITS)
    codes = canonical_codes(lengths)
    for s in symbols:
        w.write(*codes[int(s)])


def read_huffman(r: BitReader, count: int, alphabet: int) -> np.ndarray:
    """Inverse of write_huffman for `count` symbols."""
    lengths = [r.read(LENGTH_BITS) for _ in range(alphabet)]
    decode = {v: s for s, v in canonical_codes(lengths).items()}
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        code = length = 0
        while (code, length) not in decode:
            code = (code << 1) | r.read_bit()
            length += 1
            if length >= 1 << LENGTH_BITS:
                raise StationaryError("invalid Huffman code")
        out[i] = decode[(code, length)]
    return out


# ----- one layer, stage by stage ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entries:
    """A layer's (relative index, code) entries and what the codes mean."""

    deltas: np.ndarray  # zeros skipped before each entry, < 2^index_bits
    codes: np.ndarray  # 0 = zero (fillers and pruned), else a codebook index or a zigzag level
    index_bits: int
    code_bits: int
    size: int  # elements of the layer


def relative_entries(codes: np.ndarray, index_bits: int, code_bits: int) -> Entries:
    """Relative-index entries of a flat code array (code 0 is zero), with padding fillers for long gaps."""
    flat = np.asarray(codes, dtype=np.int64).ravel()
    if flat.size and (flat.min() < 0 or flat.max() >= 1 << code_bits):
        raise StationaryError(f"codes must lie in 0..{(1 << code_bits) - 1}")
    deltas, values = _rlc_pairs(flat, (1 << index_bits) - 1)
    return Entries(deltas, values.astype(np.int64), index_bits, code_bits, flat.size)


def expand(deltas: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """The flat array of `size` elements that relative entries stand for."""
    out = np.zeros(size, dtype=codes.dtype)
    if len(deltas):
        out[np.cumsum(np.asarray(deltas) + 1) - 1] = codes
    return out


def encode_dense(weights: np.ndarray) -> bytes:
    w = BitWriter()
    w.write_float32(np.asarray(weights).ravel())
    return w.to_bytes()


def encode_pruned(weights: np.ndarray, index_bits: int) -> tuple[bytes, int]:
    """Stage "pruned": float32 values of the non-zeros (and fillers) with relative indices. (bytes, bits)"""
    flat = np.asarray(weights, dtype=np.float32).ravel()
    deltas, values = _rlc_pairs(flat, (1 << index_bits) - 1)
    w = BitWriter()
    w.write(len(deltas), COUNT_BITS)
    for d, v in zip(deltas, np.asarray(values, dtype=np.float32).view(np.uint32)):
        w.write(int(d), index_bits)
        w.write(int(v), FLOAT_BITS)
    return w.to_bytes(), w.bits


def decode_pruned(data: bytes, size: int, index_bits: int) -> np.ndarray:
    r = BitReader(data)
    n = r.read(COUNT_BITS)
    deltas, values = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.uint32)
    for i in range(n):
        deltas[i] = r.read(index_bits)
        values[i] = r.read(FLOAT_BITS)
    return expand(deltas, values.view(np.float32), size)


def encode_shared(e: Entries, codebook: np.ndarray) -> tuple[bytes, int]:
    """Stage "shared": the codebook (float32), then (relative index, code) entries at fixed widths."""
    w = BitWriter()
    w.write(len(e.deltas), COUNT_BITS)
    w.write_float32(codebook)
    for d, c in zip(e.deltas, e.codes):
        w.write(int(d), e.index_bits)
        w.write(int(c), e.code_bits)
    return w.to_bytes(), w.bits


def decode_shared(data: bytes, size: int, index_bits: int, code_bits: int, codebook_len: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(flat codes, codebook) of a stage-"shared" stream."""
    r = BitReader(data)
    n = r.read(COUNT_BITS)
    codebook = r.read_float32(codebook_len)
    deltas, codes = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for i in range(n):
        deltas[i] = r.read(index_bits)
        codes[i] = r.read(code_bits)
    return expand(deltas, codes, size), codebook


def encode_huffman(e: Entries, codebook: np.ndarray) -> tuple[bytes, int]:
    """Stage "huffman": count, codebook, then the code stream and the index stream, each Huffman-coded."""
    w = BitWriter()
    w.write(len(e.deltas), COUNT_BITS)
    w.write_float32(codebook)
    write_huffman(w, e.codes, 1 << e.code_bits)
    write_huffman(w, e.deltas, 1 << e.index_bits)
    return w.to_bytes(), w.bits


def decode_huffman(data: bytes, size: int, index_bits: int, code_bits: int, codebook_len: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    r = BitReader(data)
    n = r.read(COUNT_BITS)
    codebook = r.read_float32(codebook_len)
    codes = read_huffman(r, n, 1 << code_bits)
    deltas = read_huffman(r, n, 1 << index_bits)
    return expand(deltas, codes, size), codebook


@dataclass(frozen=True)
class LayerStages:
    """Exact stored bits of one layer after each stage, and the streams themselves (for decoding)."""

    elements: int
    bits: dict[str, int]
    streams: dict[str, bytes]


def compress_layer(weights: np.ndarray, codes: np.ndarray, codebook: np.ndarray, code_bits: int,
                   index_bits: int) -> LayerStages:
    """All four stages of one layer: `weights` the (pruned, quantized) values, `codes` their b-bit codes
    (0 = zero) and `codebook` what the decoder needs to turn codes into values."""
    if not 1 <= index_bits <= 16:
        raise StationaryError(f"relative index width must be 1..16 bits, got {index_bits}", field="index_bits")
    e = relative_entries(codes, index_bits, code_bits)
    dense = encode_dense(weights)
    pruned, pruned_bits = encode_pruned(weights, index_bits)
    shared, shared_bits = encode_shared(e, codebook)
    huff, huff_bits = encode_huffman(e, codebook)
    n = int(np.asarray(weights).size)
    return LayerStages(n, {"dense": n * FLOAT_BITS, "pruned": pruned_bits, "shared": shared_bits,
                           "huffman": huff_bits},
                       {"dense": dense, "pruned": pruned, "shared": shared, "huffman": huff})


def zigzag(levels: np.ndarray) -> np.ndarray:
    """Signed integer levels to codes with 0 -> 0: +l -> 2l - 1, -l -> 2l."""
    lv = np.asarray(levels, dtype=np.int64)
    return np.where(lv > 0, 2 * lv - 1, -2 * lv)


def unzigzag(codes: np.ndarray) -> np.ndarray:
    c = np.asarray(codes, dtype=np.int64)
    return np.where(c % 2 == 1, (c + 1) // 2, -(c // 2))
