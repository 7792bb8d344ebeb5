"""Quantizers produce the promised grids; STE passes gradients; pruning masks exactly what it says."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stationary.codesign.models import build_model
from stationary.codesign.prune import prune, prune_energy_aware, prune_magnitude, prune_structured
from stationary.codesign.quantize import (
    Scheme,
    WeightQuant,
    codesign_layers,
    quantize_activations,
    quantize_weights,
    set_quantization,
    wrap,
)
from stationary.errors import StationaryError


def weights() -> torch.Tensor:
    return torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_uniform_symmetric_per_channel_grid(bits):
    w = weights()
    q = quantize_weights(w, WeightQuant(bits))
    for k in range(8):
        scale = w[k].abs().max() / (2 ** (bits - 1) - 1)
        codes = q[k] / scale
        assert torch.allclose(codes, codes.round(), atol=1e-4)
        assert codes.abs().max() <= 2 ** (bits - 1) - 1 + 1e-4
        assert (w[k] - q[k]).abs().max() <= scale / 2 + 1e-6


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_uniform_asymmetric_per_tensor_has_at_most_2_to_the_b_levels_and_exact_zero(bits):
    w = weights()
    w[0, 0, 0, 0] = 0.0
    q = quantize_weights(w, WeightQuant(bits, symmetric=False, per_channel=False))
    assert len(torch.unique(q)) <= 2 ** bits
    assert q[0, 0, 0, 0] == 0.0


def test_log_binary_ternary_grids():
    w = weights()
    q = quantize_weights(w, WeightQuant(4, Scheme.LOG))
    nz = q[q != 0].abs()
    assert torch.allclose(torch.log2(nz), torch.log2(nz).round())
    for k in range(8):  # sign bit + 3 bits: 7 exponents and one zero code per channel
        assert len(torch.unique(q[k].abs())) <= 8
    b = quantize_weights(w, WeightQuant(1, Scheme.BINARY))
    t = quantize_weights(w, WeightQuant(2, Scheme.TERNARY))
    for k in range(8):
        assert len(torch.unique(b[k])) == 2
        assert len(torch.unique(t[k])) <= 3 and (t[k] == 0).any()


def test_quantizer_width_errors():
    for bad in (0, 17):
        with pytest.raises(StationaryError, match="1..16"):
            WeightQuant(bad)
    with pytest.raises(StationaryError, match="binary"):
        WeightQuant(4, Scheme.BINARY)


def test_activation_quantization_and_straight_through_gradient():
    x = torch.linspace(0, 1, 101, requires_grad=True)
    q = quantize_activations(x, 2, 0.0, 1.0)
    assert sorted(set(torch.round(q * 3).tolist())) == [0.0, 1.0, 2.0, 3.0]
    layer = wrap(nn.Sequential(nn.Linear(4, 3)))
    set_quantization(layer, WeightQuant(2), 2)
    (_, m), = codesign_layers(layer)
    m.act_hi = 1.0
    layer(torch.rand(5, 4)).sum().backward()
    assert m.inner.weight.grad is not None and m.inner.weight.grad.abs().sum() > 0


def test_magnitude_structured_and_energy_aware_masks():
    model = wrap(build_model("lenet5_digits"))
    layers = codesign_layers(model)
    total = sum(m.mask.numel() for _, m in layers)
    prune_magnitude(model, 0.6)
    assert sum(int((m.mask == 0).sum()) for _, m in layers) == round(0.6 * total)
    kept = torch.cat([(m.inner.weight * m.mask).abs().flatten() for _, m in layers])
    pruned = torch.cat([(m.inner.weight * (1 - m.mask)).abs().flatten() for _, m in layers])
    assert pruned.max() <= kept[kept > 0].min()  # one global threshold
    prune_structured(model, 0.5)
    for _, m in layers[:-1]:
        rows = m.mask.flatten(1)
        assert set(rows.min(1).values.tolist()) <= {0.0, 1.0} and (rows.min(1).values == rows.max(1).values).all()
        assert int((rows[:, 0] == 0).sum()) == round(0.5 * rows.shape[0])
    assert bool((layers[-1][1].mask == 1).all())
    names = [n for n, _ in layers]
    energy = {n: float(i) for i, n in enumerate(names)}  # the last layer costs most
    ratios = prune_energy_aware(model, 0.3, energy, validate=lambda m: 1.0)
    assert ratios[names[-1]] > 0 and ratios[names[0]] == 0  # most energy first
    assert sum(int((m.mask == 0).sum()) for _, m in layers) == pytest.approx(0.3 * total, abs=2)


def test_prune_errors():
    model = wrap(build_model("mlp_digits"))
    for bad in (1.0, -0.1):
        with pytest.raises(StationaryError, match=r"\[0, 1\)"):
            prune(model, bad, "magnitude")
    with pytest.raises(StationaryError, match="unknown pruning method"):
        prune(model, 0.5, "random")
