"""Loop-nest invariants of layers, property-tested on random shapes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.workload.layer import conv2d, linear, matmul, out_size, pool2d


@st.composite
def conv_args(draw: st.DrawFn) -> dict:
    groups = draw(st.integers(1, 4))
    k = draw(st.integers(1, 5))
    dil = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 3))
    stride = draw(st.integers(1, 3))
    hw = draw(st.integers(dil * (k - 1) + 1, 24))
    return dict(name="c", in_channels=groups * draw(st.integers(1, 8)), out_channels=groups * draw(st.integers(1, 8)),
                in_hw=hw, kernel=k, stride=stride, padding=pad, dilation=dil, groups=groups,
                batch=draw(st.integers(1, 3)))


@given(conv_args())
def test_conv_macs_and_shapes(a: dict) -> None:
    layer = conv2d(**a)
    p = (a["in_hw"] + 2 * a["padding"] - a["dilation"] * (a["kernel"] - 1) - 1) // a["stride"] + 1
    assert layer.P == layer.Q == p
    macs = a["batch"] * a["out_channels"] * p * p * (a["in_channels"] // a["groups"]) * a["kernel"] ** 2
    assert layer.macs == macs == math.prod(layer.bounds.values())
    assert layer.weights == a["out_channels"] * (a["in_channels"] // a["groups"]) * a["kernel"] ** 2
    nest = layer.loop_nest()
    assert nest.macs == layer.macs
    # the input tile a loop nest touches never exceeds the padded input, and covers every output's window
    padded = a["in_hw"] + 2 * a["padding"]
    rows = (p - 1) * a["stride"] + (a["kernel"] - 1) * a["dilation"] + 1
    assert rows <= padded
    assert nest.tensor_size("Inputs") == a["batch"] * a["in_channels"] * rows * rows
    assert nest.tensor_size("Outputs") == layer.output_activations
    assert nest.tensor_size("Weights") == layer.weights


def test_linear_matmul_pool() -> None:
    fc = linear("fc", 9216, 4096, batch=2)
    assert fc.macs == 2 * 9216 * 4096 and fc.weights == 9216 * 4096
    mm = matmul("qk", rows=128, inner=64, cols=128, batch=1, heads=12)
    assert mm.macs == 12 * 128 * 64 * 128 and mm.weights == 0
    assert mm.input_activations == 2 * 12 * 128 * 64
    assert mm.loop_nest().tensor_size("Weights") == 12 * 128 * 64  # second operand depends on batch too
    pool = pool2d("p", 96, 55, 3, 2)
    assert (pool.P, pool.macs, pool.other_ops) == (27, 0, 96 * 27 * 27 * 9)


def test_out_size_ceil_mode_matches_pytorch() -> None:
    assert out_size(112, 3, 2, 0, ceil_mode=True) == 56
    assert out_size(112, 3, 2, 0) == 55
    assert out_size(6, 2, 2, 1, ceil_mode=True) == 4  # last window starts in the padding: dropped


@pytest.mark.parametrize(
    "kwargs",
    [dict(in_channels=3, out_channels=4, in_hw=8, kernel=3, groups=2),  # channels not divisible
     dict(in_channels=3, out_channels=4, in_hw=2, kernel=5),  # filter larger than input
     dict(in_channels=3, out_channels=4, in_hw=8, kernel=3, stride=0)],
)
def test_bad_shapes_raise_clear_errors(kwargs: dict) -> None:
    with pytest.raises(StationaryError):
        conv2d("bad", **kwargs)


@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2))
def test_transposed_conv_window_is_on_the_output(p: int, r: int, stride: int, dil: int, pad: int, n: int) -> None:
    """out[p*stride + r*dilation - pad] += in[p] * w[r]: the loop nest's output extent is the uncropped output."""
    from stationary.workload.layer import Layer, LayerKind

    full = (p - 1) * stride + dil * (r - 1) + 1
    if full - 2 * pad < 1:
        return
    layer = Layer("t", LayerKind.CONV, N=n, M=3, C=2, P=p, Q=p, R=r, S=r, H=full - 2 * pad, W=full - 2 * pad,
                  stride=(stride, stride), dilation=(dil, dil), padding=(pad, pad), transposed=True)
    nest = layer.loop_nest()
    assert nest.macs == layer.macs == n * 3 * 2 * p * p * r * r
    assert nest.tensor_size("Inputs") == layer.input_activations == n * 2 * p * p
    assert nest.tensor_size("Outputs") == n * 3 * full * full
    assert layer.output_activations == n * 3 * (full - 2 * pad) ** 2


def test_only_a_convolution_can_be_transposed() -> None:
    from stationary.workload.layer import Layer, LayerKind

    with pytest.raises(StationaryError, match="only a convolution can be transposed"):
        Layer("m", LayerKind.MATMUL, transposed=True)
