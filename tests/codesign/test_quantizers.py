"""Log-domain and k-means quantizers: their levels and error bounds (exact properties, float64)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.codesign.quantize import (
    Scheme,
    WeightQuant,
    codesign_layers,
    kmeans_codebook,
    log_scaled,
    nearest_code,
    quantize_activations_log,
    quantize_weights,
    set_quantization,
    wrap,
)

SQRT2_M1 = math.sqrt(2) - 1


def weights(seed: int = 1) -> torch.Tensor:
    return torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("bits", [2, 3, 4, 6])
def test_log_scaled_levels_and_error_bound(bits):
    w = weights()
    q = quantize_weights(w, WeightQuant(bits, Scheme.LOG_SCALED))
    k = 2 ** (bits - 1) - 1  # exponents 0 .. -(k-1), plus the zero code
    for c in range(8):
        s = w[c].abs().max()
        nz = q[c][q[c] != 0]
        ratio = torch.log2(nz.abs() / s)
        assert (ratio - ratio.round()).abs().max() < 1e-12
        assert ratio.max() <= 1e-12 and ratio.min() >= -(k - 1) - 1e-12
        assert len(torch.unique(q[c])) <= 2 * k + 1
        assert torch.equal(torch.sign(nz), torch.sign(w[c][q[c] != 0]))
        inside = w[c].abs() >= s * 2 ** (-(k - 1) - 0.5)
        err = (w[c] - q[c]).abs()
        assert (err[inside] <= SQRT2_M1 * w[c].abs()[inside] + 1e-12).all()  # log-domain rounding
        assert (err[~inside] <= s * 2 ** (-(k - 1) - 0.5) + 1e-12).all()  # underflow to zero


def test_log_without_scale_is_pure_powers_of_two():
    w = weights()
    q = quantize_weights(w, WeightQuant(4, Scheme.LOG))
    nz = q[q != 0].abs()
    assert torch.equal(torch.log2(nz), torch.log2(nz).round())  # shift-only weights
    scaled = log_scaled(w, 4, torch.tensor(3.0, dtype=torch.float64))
    mags = scaled[scaled != 0].abs()
    assert torch.equal(torch.log2(mags / 3), torch.log2(mags / 3).round())  # a power of two times the scale
    assert not torch.equal(torch.log2(mags), torch.log2(mags).round())


@given(st.integers(2, 6), st.floats(0.05, 50.0))
@settings(max_examples=30, deadline=None)
def test_log_activations_levels_and_zeros(bits, hi):
    x = torch.linspace(0, hi, 301, dtype=torch.float64)
    q = quantize_activations_log(x, bits, hi)
    fsr = math.ceil(math.log2(hi))
    nz = q[q != 0]
    e = torch.log2(nz)
    assert torch.equal(e, e.round())
    assert e.max() <= fsr and e.min() >= fsr - (2 ** bits - 2)
    assert len(torch.unique(q)) <= 2 ** bits  # b-bit code incl. zero
    assert q[0] == 0  # ReLU zeros stay zeros
    inside = x >= 2.0 ** (fsr - (2 ** bits - 2) - 0.5)
    assert ((x - q).abs()[inside] <= SQRT2_M1 * x[inside] + 1e-12).all()
    assert (q[~inside] == 0).all()


@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_kmeans_codebook_levels_nearest_assignment_and_no_worse_than_its_linear_init(bits):
    w = weights(4)
    keep = w.abs() > 0.3  # a pruned layer
    centroids, codes = kmeans_codebook(w, keep, bits)
    k = 2 ** bits - 1
    assert centroids.shape == (k,) and codes.min() >= 0 and codes.max() <= k
    assert torch.equal(codes == 0, ~keep)  # code 0 is the exact zero of pruned weights
    kept = w[keep]
    dist = (kept[:, None] - centroids[None, :]).abs()
    assigned = (kept - centroids[codes[keep] - 1]).abs()
    assert (assigned <= dist.min(dim=1).values + 1e-15).all()  # every weight at its nearest centroid
    lin = kept.min() + (kept.max() - kept.min()) * torch.arange(k, dtype=w.dtype) / max(k - 1, 1)
    sse_lin = ((kept - lin[nearest_code(kept, lin)]) ** 2).sum()
    sse = ((kept - centroids[codes[keep] - 1]) ** 2).sum()
    assert sse <= sse_lin * (1 + 1e-12)  # Lloyd never increases the error of its start
    q = quantize_weights(w * keep, WeightQuant(bits, Scheme.KMEANS))
    assert len(torch.unique(q)) <= 2 ** bits


def test_shared_centroids_train_by_the_sum_of_their_weights_gradients():
    torch.manual_seed(0)
    model = wrap(torch.nn.Sequential(torch.nn.Linear(6, 3)).double())
    set_quantization(model, WeightQuant(2, Scheme.KMEANS), None)
    (_, m), = codesign_layers(model)
    assert not m.inner.weight.requires_grad and m.codebook.requires_grad
    w = m.effective_weight()
    assert len(torch.unique(w)) <= 4
    x = torch.randn(5, 6, dtype=torch.float64)
    model(x).square().sum().backward()
    # oracle: the gradient of the loss w.r.t. every weight, summed by cluster
    w_free = w.detach().clone().requires_grad_(True)
    torch.nn.functional.linear(x, w_free, m.inner.bias).square().sum().backward()
    expected = torch.zeros(3, dtype=torch.float64).index_add_(0, m.codes.flatten() - 1, w_free.grad.flatten())
    assert torch.allclose(m.codebook.grad, expected, rtol=1e-12, atol=1e-12)
