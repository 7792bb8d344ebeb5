"""Low-rank decomposition: at full rank every method reproduces the layer; factors are real, mappable layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stationary.codesign.decompose import cp_als, cp_conv, decompose, svd_linear, tucker_conv
from stationary.codesign.models import build_model
from stationary.codesign.quantize import codesign_layers, wrap
from stationary.codesign.sweep import model_layers
from stationary.errors import StationaryError


def conv(c=3, m=5, k=3, stride=1, padding=1) -> nn.Conv2d:
    torch.manual_seed(2)
    return nn.Conv2d(c, m, k, stride, padding).double()


def x_image(c=3) -> torch.Tensor:
    return torch.randn(2, c, 7, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_svd_at_full_rank_reproduces_the_fc_layer():
    torch.manual_seed(0)
    fc = nn.Linear(12, 7).double()
    x = torch.randn(4, 12, dtype=torch.float64)
    f = svd_linear(fc, 7)
    assert [type(m) for m in f] == [nn.Linear, nn.Linear] and f[0].bias is None
    assert torch.allclose(f(x), fc(x), rtol=0, atol=1e-12)
    low = svd_linear(fc, 3)
    assert (f[0].out_features, low[0].out_features) == (7, 3)
    # rank 3: the best rank-3 approximation (Eckart-Young): the error equals the dropped singular values
    s = torch.linalg.svdvals(fc.weight.detach())
    err = float(torch.linalg.matrix_norm(low[1].weight @ low[0].weight - fc.weight).detach())
    assert err == pytest.approx(float(s[3:].square().sum().sqrt()), rel=1e-9)


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0)])
def test_tucker_at_full_rank_reproduces_the_conv_layer(stride, padding):
    layer = conv(stride=stride, padding=padding)
    f = tucker_conv(layer, 5)
    x = x_image()
    assert [m.kernel_size for m in f] == [(1, 1), (3, 3), (1, 1)]
    assert torch.allclose(f(x), layer(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0)])
def test_cp_at_full_rank_reproduces_the_conv_layer_as_1x1_depthwise_1x1(stride, padding):
    layer = conv(stride=stride, padding=padding)
    full = min(5 * 3, 3 * 9, 5 * 9)  # the smallest product of two mode sizes of [M, C, k*k]
    f = cp_conv(layer, full)
    x = x_image()
    assert f[1].groups == full and f[1].kernel_size == (3, 3)
    assert torch.allclose(f(x), layer(x), rtol=0, atol=1e-12)


def test_cp_als_recovers_a_tensor_of_low_cp_rank():
    g = torch.Generator().manual_seed(5)
    a, b, c = (torch.randn(n, 2, generator=g, dtype=torch.float64) for n in (6, 4, 9))
    t = torch.einsum("ir,jr,kr->ijk", a, b, c)
    fa, fb, fc = cp_als(t, 2, iterations=300)
    rel = torch.linalg.vector_norm(torch.einsum("ir,jr,kr->ijk", fa, fb, fc) - t) / torch.linalg.vector_norm(t)
    assert rel < 1e-6


@pytest.mark.parametrize(("method", "kinds"), [("svd", {"linear"}), ("tucker", {"conv"}), ("cp", {"conv"})])
def test_decomposed_model_is_real_layers_the_workload_maps(method, kinds):
    model = build_model("lenet5_digits")
    small, names = decompose(model, method, 2)
    assert names and names[-1] != "11"  # the classifier is kept
    wrapped = wrap(small)
    layers = model_layers(wrapped, (1, 8, 8))
    assert len(layers) > 5
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    assert small(x).shape == (3, 10) and wrapped(x).shape == (3, 10)
    inner = [m for _, m in codesign_layers(wrapped) if not m.rectified]
    assert inner  # no ReLU between the factors: output density counts non-zeros, not positives
    weights = sum(layer.weights for layer in layers.values())
    assert weights < sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    if method == "cp":
        assert any(layer.is_depthwise for layer in layers.values())


def test_bad_decomposition_requests_are_clear_errors():
    model = build_model("mlp_digits")
    with pytest.raises(StationaryError, match="unknown decomposition"):
        decompose(model, "qr", 4)
    with pytest.raises(StationaryError, match="positive integer"):
        decompose(model, "svd", 0)
    with pytest.raises(StationaryError, match="saves weights in no layer"):
        decompose(model, "tucker", 2)  # an MLP has no k x k convolution
