"""Deep Compression storage: every stage's stream decodes back bit for bit, and its length is the size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.codesign.deepcomp import (
    BitReader,
    BitWriter,
    compress_layer,
    decode_huffman,
    decode_pruned,
    decode_shared,
    expand,
    huffman_lengths,
    read_huffman,
    relative_entries,
    unzigzag,
    write_huffman,
    zigzag,
)


def test_relative_index_with_paper_padding_zeros():
    # 3-bit relative index: at most 7 zeros before an entry; a gap of 10 zeros inserts one filler zero
    codes = np.zeros(20, dtype=np.int64)
    codes[[1, 12, 13]] = [5, 2, 7]
    e = relative_entries(codes, index_bits=3, code_bits=3)
    assert e.deltas.tolist() == [1, 7, 2, 0]  # entry at 1; filler at 9 (7 zeros skipped); 12 after 2 more; 13
    assert e.codes.tolist() == [5, 0, 2, 7]
    np.testing.assert_array_equal(expand(e.deltas, e.codes, 20), codes)


def test_stage_sizes_are_hand_counts():
    w = np.zeros(20, dtype=np.float32)
    w[[1, 12, 13]] = [0.5, -0.25, 1.0]
    codes = np.zeros(20, dtype=np.int64)
    codes[[1, 12, 13]] = [1, 2, 3]
    codebook = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    st_ = compress_layer(w, codes, codebook, code_bits=2, index_bits=3)
    assert st_.bits["dense"] == 20 * 32
    assert st_.bits["pruned"] == 32 + 4 * (3 + 32)  # count + 4 entries (one filler) of index + float32
    assert st_.bits["shared"] == 32 + 3 * 32 + 4 * (3 + 2)  # count + codebook + 4 entries of index + code
    # Huffman: codes {1,0,2,3} one each -> lengths 2,2,2,2 (8 bits); deltas {1,7,2,0} -> 2 bits each (8 bits);
    # tables: 4 and 8 symbols x 5 bits
    assert st_.bits["huffman"] == 32 + 3 * 32 + 4 * 5 + 8 * 5 + 8 + 8
    for name, data in st_.streams.items():
        assert len(data) == -(-st_.bits[name] // 8)  # the stored bytes are the stream, padded to a byte


def test_huffman_lengths_are_optimal_on_a_textbook_example():
    symbols = np.repeat(np.arange(6), [45, 13, 12, 16, 9, 5])  # CLRS 16.3: a 0, b 101, c 100, d 111, ...
    lengths = huffman_lengths(symbols, 6)
    assert lengths == [1, 3, 3, 3, 4, 4]
    assert huffman_lengths(np.array([3, 3, 3]), 4) == [0, 0, 0, 1]  # one symbol: a 1-bit code


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=0, max_size=200), st.integers(0, 7))
def test_huffman_round_trip(symbols, pad):
    w = BitWriter()
    w.write(pad, 3)
    write_huffman(w, np.array(symbols, dtype=np.int64), 16)
    r = BitReader(w.to_bytes())
    assert r.read(3) == pad
    np.testing.assert_array_equal(read_huffman(r, len(symbols), 16), symbols)
    assert r.pos == w.bits


layers = st.tuples(st.integers(1, 6), st.integers(1, 40), st.integers(1, 4), st.integers(1, 6), st.integers(0, 99))


@settings(max_examples=40, deadline=None)
@given(layers)
def test_every_stage_decodes_back_bit_exactly(params):
    rows, cols, code_bits, index_bits, seed = params
    rng = np.random.default_rng(seed)
    codebook = rng.standard_normal(2 ** code_bits - 1).astype(np.float32)
    codes = rng.integers(0, 2 ** code_bits, size=(rows, cols))
    codes[rng.random((rows, cols)) < 0.6] = 0  # pruned
    weights = np.concatenate([[np.float32(0)], codebook])[codes]
    st_ = compress_layer(weights, codes, codebook, code_bits, index_bits)
    dense = BitReader(st_.streams["dense"]).read_float32(rows * cols)
    assert dense.tobytes() == weights.astype(np.float32).ravel().tobytes()
    pruned = decode_pruned(st_.streams["pruned"], rows * cols, index_bits)
    assert pruned.tobytes() == weights.astype(np.float32).ravel().tobytes()
    for stage, decoder in (("shared", decode_shared), ("huffman", decode_huffman)):
        got, book = decoder(st_.streams[stage], rows * cols, index_bits, code_bits, len(codebook))
        np.testing.assert_array_equal(got, codes.ravel())
        assert book.tobytes() == codebook.tobytes()
        decoded = np.concatenate([[np.float32(0)], book])[got]
        assert decoded.tobytes() == weights.astype(np.float32).ravel().tobytes()
    assert st_.bits["huffman"] <= st_.bits["shared"] + 5 * (2 ** code_bits + 2 ** index_bits)  # + tables only


def test_zigzag_round_trip_and_range():
    levels = np.arange(-7, 8)
    codes = zigzag(levels)
    assert codes.min() == 0 and codes.max() == 14 and len(set(codes.tolist())) == 15
    np.testing.assert_array_equal(unzigzag(codes), levels)


def test_codes_out_of_range_are_refused():
    from stationary.errors import StationaryError

    with pytest.raises(StationaryError, match="codes must lie"):
        relative_entries(np.array([0, 4]), 3, 2)
