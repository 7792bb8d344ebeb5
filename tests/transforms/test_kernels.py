"""Every method equals direct convolution (and direct equals PyTorch) on random small layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.transforms import ConvSpec, Options, applicable, convolve, random_operands
from stationary.transforms.strassen import strassen_matmul


@st.composite
def conv_specs(draw: st.DrawFn, unit_stride: bool = False) -> ConvSpec:
    """A random small grouped convolution whose window fits its padded input."""
    r, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (1, 1) if unit_stride else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (1, 1) if unit_stride else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, dil[0] * (r - 1) + 1 - 2 * pad[0]), 11))
    w = draw(st.integers(max(1, dil[1] * (s - 1) + 1 - 2 * pad[1]), 11))
    return ConvSpec(draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                    draw(st.integers(1, 3)), h, w, r, s, stride, pad, dil)


@settings(max_examples=60, deadline=None)
@given(spec=conv_specs(), cutoff=st.integers(1, 4), fft_size=st.integers(2, 16), seed=st.integers(0, 99))
def test_every_method_equals_direct(spec: ConvSpec, cutoff: int, fft_size: int, seed: int) -> None:
    x, w = random_operands(spec, np.float64, seed)
    opts = Options(strassen_cutoff=cutoff, fft_size=fft_size)
    ref = convolve("direct", x, w, spec)
    assert ref.shape == spec.output_shape
    for m in applicable(spec, ("im2col", "strassen", "fft", "winograd-2", "winograd-3")):
        np.testing.assert_allclose(convolve(m, x, w, spec, opts), ref, rtol=0, atol=1e-9, err_msg=m)


@settings(max_examples=40, deadline=None)
@given(spec=conv_specs(unit_stride=True), m=st.integers(1, 6), seed=st.integers(0, 99))
def test_winograd_any_tile_equals_direct(spec: ConvSpec, m: int, seed: int) -> None:
    x, w = random_operands(spec, np.float64, seed)
    np.testing.assert_allclose(convolve(f"winograd-{m}", x, w, spec), convolve("direct", x, w, spec),
                               rtol=0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(spec=conv_specs(), seed=st.integers(0, 99))
def test_direct_equals_torch(spec: ConvSpec, seed: int) -> None:
    torch = pytest.importorskip("torch")
    x, w = random_operands(spec, np.float64, seed)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=spec.stride,
                                     padding=spec.padding, dilation=spec.dilation, groups=spec.G).numpy()
    np.testing.assert_allclose(convolve("direct", x, w, spec), ref, rtol=0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40), cutoff=st.integers(1, 8))
def test_strassen_equals_gemm(m: int, k: int, n: int, cutoff: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    np.testing.assert_allclose(strassen_matmul(a, b, cutoff), a @ b, rtol=0, atol=1e-9)


def test_low_precision_error_is_measured_and_winograd_grows_with_m() -> None:
    from stationary.transforms.select import max_abs_error

    spec = ConvSpec(1, 1, 8, 16, 24, 24, 3, 3, padding=(1, 1))
    e32 = {m: max_abs_error(m, spec, np.float32) for m in ("direct", "winograd-2", "winograd-4", "winograd-6")}
    assert 0 < e32["direct"] < 1e-4
    assert e32["winograd-2"] < e32["winograd-4"] < e32["winograd-6"]
    e16 = max_abs_error("winograd-4", spec, np.float16)
    assert e16 > 10 * e32["winograd-4"]


def test_wrong_operand_shapes_are_rejected() -> None:
    spec = ConvSpec(1, 1, 2, 3, 5, 5, 3, 3)
    x, w = random_operands(spec)
    with pytest.raises(StationaryError, match="weight shape"):
        convolve("direct", x, w[:, :2], spec)
