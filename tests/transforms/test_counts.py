"""Closed-form counts equal the operations an instrumented run really performs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.transforms import ConvSpec, Options, applicable, convolve, count, random_operands
from stationary.transforms._arith import Tally, counted_array, values_of
from stationary.transforms.counts import strassen_counts
from stationary.transforms.strassen import strassen_matmul
from stationary.workload.layer import conv2d


@st.composite
def tiny_specs(draw: st.DrawFn) -> ConvSpec:
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    h = draw(st.integers(max(1, r - 2 * pad[0]), 7))
    w = draw(st.integers(max(1, s - 2 * pad[1]), 7))
    return ConvSpec(draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                    draw(st.integers(1, 3)), h, w, r, s, stride, pad)


@settings(max_examples=25, deadline=None)
@given(spec=tiny_specs(), cutoff=st.integers(1, 3))
def test_instrumented_counts_equal_closed_forms(spec: ConvSpec, cutoff: int) -> None:
    opts = Options(strassen_cutoff=cutoff)
    x, w = random_operands(spec)
    ref = convolve("direct", x, w, spec)
    for m in applicable(spec, ("direct", "im2col", "strassen", "winograd-2", "winograd-3")):
        tally = Tally()
        y = convolve(m, counted_array(x, tally), counted_array(w, tally), spec, opts)
        c = count(m, spec, 8, opts)
        assert (tally.multiplications, tally.additions) == (
            c.multiplications + c.transform_multiplications, c.additions), m
        np.testing.assert_allclose(values_of(y), ref, atol=1e-9)


def test_direct_counts_are_the_survey_macs() -> None:
    layer = conv2d("c", 64, 128, 56, 3, stride=2, padding=1, groups=2, batch=3)
    from stationary.transforms import spec_of

    c = count("direct", spec_of(layer))
    assert c.multiplications == layer.macs
    assert c.additions == layer.N * layer.G * layer.M * layer.P * layer.Q * (layer.C * 9 - 1)


def test_strassen_power_of_two_closed_form() -> None:
    """n = cutoff . 2^L: 7^L cutoff^3 multiplications; additions 7^L c^2(c-1) + 18 sum_l 7^l (n/2^(l+1))^2."""
    for c, levels in ((1, 3), (2, 2), (4, 3)):
        n = c * 2**levels
        mults, adds, _ = strassen_counts(n, n, n, cutoff=max(1, c))
        if c == 1:  # a 1x1 block hits the cut-off immediately (min size <= cutoff)
            levels_done = levels
            assert mults == 7**levels_done
        else:
            assert mults == 7**levels * c**3
        expect_adds = 7**levels * c * c * (c - 1) + sum(18 * 7**lv * (n // 2 ** (lv + 1)) ** 2 for lv in range(levels))
        assert adds == expect_adds
        tally = Tally()
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        strassen_matmul(counted_array(a, tally), counted_array(b, tally), c)
        assert (tally.multiplications, tally.additions) == (mults, adds)


def test_im2col_reports_toeplitz_size_and_redundancy() -> None:
    spec = ConvSpec(1, 1, 4, 3, 8, 8, 3, 3, padding=(1, 1))
    d = count("im2col", spec).details
    assert (d["toeplitz_rows"], d["toeplitz_cols"]) == (27, 64)
    assert d["toeplitz_redundancy"] == 27 * 64 / (3 * 64)  # ~9x: each input copied up to R.S times


def test_winograd_cuts_vgg_multiplications_as_published() -> None:
    """On a 3x3 layer whose output is a multiple of the tile: 2.25x (F(2,3)) and 4x (F(4,3)) fewer."""
    spec = ConvSpec(1, 1, 64, 64, 56, 56, 3, 3, padding=(1, 1))
    direct = count("direct", spec).multiplications
    assert direct / count("winograd-2", spec).multiplications == 2.25
    assert direct / count("winograd-4", spec).multiplications == 4.0
