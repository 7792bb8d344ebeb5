"""Toom-Cook matrices are exact for every F(m, r), and the multiplication counts are the textbook ones."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.transforms import ConvSpec, convolve, count, random_operands
from stationary.transforms._arith import Tally, counted_array
from stationary.transforms.winograd import toom_cook


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 7), r=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_one_dimensional_winograd_is_exact(m: int, r: int, seed: int) -> None:
    """A^T [(G g) . (B^T d)] equals the correlation y_i = sum_k g_k d_(i+k), in exact rationals."""
    rnd = random.Random(seed)
    t = toom_cook(m, r)
    g = [Fraction(rnd.randint(-9, 9)) for _ in range(r)]
    d = [Fraction(rnd.randint(-9, 9)) for _ in range(m + r - 1)]
    gg = [sum(row[k] * g[k] for k in range(r)) for row in t.G]
    dd = [sum(row[k] * d[k] for k in range(len(d))) for row in t.BT]
    y = [sum(row[k] * gg[k] * dd[k] for k in range(len(d))) for row in t.AT]
    assert y == [sum(g[k] * d[i + k] for k in range(r)) for i in range(m)]


def test_f23_matches_lavin_and_gray() -> None:
    t = toom_cook(2, 3)
    assert [list(map(int, row)) for row in t.AT] == [[1, 1, 1, 0], [0, 1, -1, 1]]
    assert t.alpha == 4


@pytest.mark.parametrize(("m", "per_tile"), [(2, 16), (4, 36), (6, 64)])
def test_multiplications_per_output_tile(m: int, per_tile: int) -> None:
    """F(2x2,3x3): 16 per 2x2 tile (direct: 36); F(4x4,3x3): 36 per 4x4 tile (direct: 144)."""
    spec = ConvSpec(1, 1, 1, 1, m + 2, m + 2, 3, 3)  # exactly one output tile
    c = count(f"winograd-{m}", spec)
    assert c.multiplications == per_tile
    assert count("direct", spec).multiplications == 9 * m * m
    tally = Tally()
    x, w = random_operands(spec)
    convolve(f"winograd-{m}", counted_array(x, tally), counted_array(w, tally), spec)
    assert tally.multiplications == c.multiplications + c.transform_multiplications


def test_winograd_refuses_stride_and_names_the_methods_that_can() -> None:
    spec = ConvSpec(1, 1, 2, 2, 8, 8, 3, 3, stride=(2, 2), name="conv_s2")
    x, w = random_operands(spec)
    with pytest.raises(StationaryError) as err:
        convolve("winograd-2", x, w, spec)
    assert "stride" in str(err.value) and "direct, im2col, strassen, fft" in str(err.value)
    assert err.value.field == "method"


def test_bad_winograd_names() -> None:
    spec = ConvSpec(1, 1, 1, 1, 4, 4, 3, 3)
    x, w = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3))
    for bad in ("winograd", "winograd-0", "winograd-x", "karatsuba"):
        with pytest.raises(StationaryError):
            convolve(bad, x, w, spec)
