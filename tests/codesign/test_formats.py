"""Sparse formats: sizes equal hand-computed counts; every format decodes to what it encoded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stationary.codesign.formats import FORMATS, RLCParams, best_format, decode, encode, index_bits, size_bits
from stationary.errors import StationaryError

# rows 2, cols 4, nnz 3
EXAMPLE = np.array([[0, 3, 0, 0], [5, 0, 0, 7]])


@pytest.mark.parametrize(("fmt", "bits"), [
    ("dense", 8 * 8),  # 8 elements x 8 bits
    ("bitmask", 8 + 3 * 8),  # one presence bit per element + 3 values
    ("coo", 3 * (8 + 1 + 2)),  # row index 0..1 -> 1 bit, column 0..3 -> 2 bits
    ("csr", 3 * (8 + 2) + 3 * 2),  # 3 row pointers of bits(nnz=3) = 2
    ("csc", 3 * (8 + 1) + 5 * 2),  # 5 column pointers
    ("rlc", 64),  # pairs (1,3) (2,5) (2,7): 13-bit pairs, 4 per 64-bit word -> one word
])
def test_sizes_match_hand_counts(fmt, bits):
    assert size_bits(EXAMPLE, fmt, value_bits=8) == bits


def test_eyeriss_rlc_three_pairs_per_word_and_long_runs():
    p = RLCParams()  # 5-bit run, 16-bit level, 64-bit word
    assert p.pairs_per_word == 3
    stream = np.zeros(50, dtype=np.int64)
    stream[40] = 9  # 40 zeros: (31, 0) covers 32 elements, then (8, 9)
    stream[41] = 4  # (0, 4)
    enc = encode(stream, "rlc", rlc=p)
    assert enc.fields["runs"].tolist() == [31, 8, 0]
    assert enc.fields["levels"].tolist() == [0, 9, 4]
    assert enc.size_bits == 64
    stream[45:49] = 1  # four more pairs: 7 pairs -> 3 words
    assert size_bits(stream, "rlc", rlc=p) == 3 * 64
    np.testing.assert_array_equal(decode(encode(stream, "rlc", rlc=p)).ravel(), stream)


def test_index_bits_and_best_format():
    assert [index_bits(v) for v in (0, 1, 2, 3, 4, 255, 256)] == [1, 1, 2, 2, 3, 8, 9]
    assert best_format(np.ones((4, 4)), 8)[0].value == "dense"
    sparse = np.zeros((16, 16))
    sparse[3, 5] = 1.0
    fmt, bits = best_format(sparse, 16)
    assert bits == min(size_bits(sparse, f, 16) for f in FORMATS) < 16 * 16 * 16
    assert fmt.value in ("coo", "rlc")


def test_unknown_format_is_one_clear_error():
    with pytest.raises(StationaryError, match="unknown sparse format 'zip'"):
        encode(EXAMPLE, "zip")


sparse_ints = arrays(np.int64, st.tuples(st.integers(1, 9), st.integers(1, 70)),
                     elements=st.one_of(st.just(0), st.just(0), st.just(0), st.integers(-500, 500)))


@settings(max_examples=60, deadline=None)
@given(sparse_ints, st.sampled_from(FORMATS), st.integers(1, 6))
def test_round_trip_and_size_at_least_values(a, fmt, run_bits):
    enc = encode(a, fmt, value_bits=16, rlc=RLCParams(run_bits=run_bits))
    np.testing.assert_array_equal(decode(enc), a)
    nnz = int(np.count_nonzero(a))
    per_nonzero = 16 + run_bits if fmt == "rlc" else 16  # every non-zero stores its value (and a run)
    assert enc.size_bits >= nnz * per_nonzero


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)),
              elements=st.sampled_from([0.0, 0.0, 1.5, -2.25, 0.125])), st.sampled_from(FORMATS))
def test_round_trip_float_tensors_viewed_as_matrices(a, fmt):
    np.testing.assert_array_equal(decode(encode(a, fmt), np.float32), a.reshape(a.shape[0], -1))
