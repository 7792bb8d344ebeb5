"""Fake quantization (survey Sec. VII-A): weights uniform (symmetric/asymmetric, per tensor or per output
channel), logarithmic (power of two), binary or ternary; activations uniform over a calibrated range; any width
1..16. Forward passes use the quantized values; gradients pass straight through (STE) for a short QAT.

`CodesignLayer` wraps one nn.Conv2d / nn.Linear with a pruning mask, a weight quantizer and an activation
(input) quantizer, and records the density of the inputs it sees, so one wrapped model serves pruning,
quantization and the measurements the cost model needs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import nn

from stationary.codesign.cost import check_bits
from stationary.codesign.train import deterministic, model_dtype
from stationary.errors import StationaryError


class Scheme(StrEnum):
    """How weights are quantized."""

    UNIFORM = "uniform"
    LOG = "log"  # sign + a power of two, no scale (the MAC is a shift-add)
    LOG_SCALED = "log_scaled"  # sign + a power of two times a per-channel scale (one multiply per output)
    KMEANS = "kmeans"  # weight sharing: a per-layer codebook (Deep Compression)
    BINARY = "binary"
    TERNARY = "ternary"


#: Schemes whose MAC is a shift-add (the weight is a signed power of two, possibly times a per-output scale).
LOG_SCHEMES = (Scheme.LOG, Scheme.LOG_SCALED)


@dataclass(frozen=True)
class WeightQuant:
    """A weight quantizer: scheme, width (binary: 1, ternary: 2), symmetry and granularity."""

    bits: int
    scheme: Scheme = Scheme.UNIFORM
    symmetric: bool = True
    per_channel: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", Scheme(self.scheme))
        check_bits(self.bits, "weight_bits")
        need = {Scheme.BINARY: 1, Scheme.TERNARY: 2}.get(self.scheme)
        if need is not None and self.bits != need:
            raise StationaryError(f"{self.scheme.value} weights take {need} bit(s), got {self.bits}",
                                  field="weight_bits")
        if self.scheme is Scheme.UNIFORM and self.symmetric and self.bits < 2:
            raise StationaryError("symmetric uniform weights need >= 2 bits (1 bit: use the binary scheme)",
                                  field="weight_bits")
        if self.scheme in LOG_SCHEMES and self.bits < 2:
            raise StationaryError("log weights need >= 2 bits (a sign bit and an exponent code)",
                                  field="weight_bits")


def _reduce_dims(w: torch.Tensor, per_channel: bool) -> tuple[int, ...] | None:
    return tuple(range(1, w.dim())) if per_channel and w.dim() > 1 else None


def _amax(t: torch.Tensor, dims: tuple[int, ...] | None) -> torch.Tensor:
    return t.abs().amax(dim=dims, keepdim=True) if dims else t.abs().max()


def quantize_weights(w: torch.Tensor, q: WeightQuant) -> torch.Tensor:
    """The fake-quantized values of `w` (same shape, float); zeros stay zero under every scheme but binary."""
    dims = _reduce_dims(w, q.per_channel)
    if q.scheme is Scheme.UNIFORM:
        if q.symmetric:
            levels = 2 ** (q.bits - 1) - 1
            scale = (_amax(w, dims) / levels).clamp_min(1e-12)
            return torch.clamp(torch.round(w / scale), -levels, levels) * scale
        lo = (w.amin(dim=dims, keepdim=True) if dims else w.min()).clamp(max=0.0)
        hi = (w.amax(dim=dims, keepdim=True) if dims else w.max()).clamp(min=0.0)
        top = 2 ** q.bits - 1
        scale = ((hi - lo) / top).clamp_min(1e-12)
        zero = torch.round(-lo / scale)
        return (torch.clamp(torch.round(w / scale) + zero, 0, top) - zero) * scale
    if q.scheme is Scheme.LOG:
        exponents = 2 ** (q.bits - 1) - 1  # one code of the b-1 magnitude bits means zero
        top = torch.floor(torch.log2(_amax(w, dims).clamp_min(1e-12)))
        e = torch.round(torch.log2(w.abs().clamp_min(1e-30)))
        e = torch.minimum(e, top)
        keep = (e > top - exponents) & (w != 0)
        return torch.where(keep, torch.sign(w) * torch.pow(2.0, e), torch.zeros_like(w))
    if q.scheme is Scheme.LOG_SCALED:
        return log_scaled(w, q.bits, _amax(w, dims))
    if q.scheme is Scheme.KMEANS:
        codebook, codes = kmeans_codebook(w, w != 0, q.bits)
        return torch.cat([torch.zeros(1, dtype=w.dtype), codebook])[codes]
    mean_abs = w.abs().mean(dim=dims, keepdim=True) if dims else w.abs().mean()
    if q.scheme is Scheme.BINARY:
        return torch.where(w >= 0, mean_abs, -mean_abs)
    delta = 0.7 * mean_abs  # ternary weight networks (Li & Liu 2016)
    big = w.abs() > delta
    alpha = (w.abs() * big).sum(dim=dims, keepdim=True) if dims else (w.abs() * big).sum()
    count = big.sum(dim=dims, keepdim=True) if dims else big.sum()
    alpha = alpha / count.clamp_min(1)
    return torch.sign(w) * big * alpha


def log_scaled(w: torch.Tensor, bits: int, scale: torch.Tensor) -> torch.Tensor:
    """Levels 0 and +-scale * 2^-k, k = 0 .. 2^(b-1) - 2 (a sign bit, b-1 bits of exponent, one code for zero):
    the exponent is rounded in the log domain, so |w - q| <= (sqrt 2 - 1)|w| inside the range; below
    scale * 2^-(K - 0.5) (K = 2^(b-1) - 1 exponents) a weight becomes 0."""
    exponents = 2 ** (bits - 1) - 1
    scale = scale.clamp_min(1e-12)
    e = torch.round(torch.log2((w.abs() / scale).clamp_min(1e-300))).clamp(max=0.0)
    keep = (e > -exponents) & (w != 0)
    return torch.where(keep, torch.sign(w) * scale * torch.pow(2.0, e), torch.zeros_like(w))


def quantize_activations_log(x: torch.Tensor, bits: int, hi: float) -> torch.Tensor:
    """Log-domain activations after Miyashita et al. (2016), for x >= 0 (after ReLU): code 0 is zero, codes
    1 .. 2^b - 1 are 2^e for e = fsr - 2^b + 2 .. fsr with fsr = ceil(log2 hi) (the calibrated full-scale range);
    e = round(log2 x) clipped at fsr; x below 2^(lowest e - 0.5) becomes 0, so ReLU zeros stay zeros."""
    fsr = math.ceil(math.log2(hi)) if hi > 0 else 0
    lowest = fsr - (2 ** bits - 2)
    e = torch.round(torch.log2(x.clamp_min(1e-300))).clamp(max=float(fsr))
    keep = (e >= lowest) & (x > 0)
    return torch.where(keep, torch.pow(2.0, e), torch.zeros_like(x))


@torch.no_grad()
def kmeans_codebook(w: torch.Tensor, keep: torch.Tensor, bits: int, iterations: int = 50
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Deep Compression's weight sharing for one layer: 2^b codes, code 0 the exact zero (pruned weights and
    the sparse format's padding fillers need it), codes 1 .. 2^b - 1 the centroids of 1-D k-means over the kept
    weights, linearly initialised over [min, max] (Han et al.'s best init), Lloyd iterations until no weight
    changes cluster. Returns (centroids [2^b - 1], codes of w's shape, int64)."""
    k = 2 ** bits - 1
    values = w[keep].flatten()
    if values.numel() == 0:
        return torch.zeros(k, dtype=w.dtype), torch.zeros(w.shape, dtype=torch.int64)
    lo, hi = values.min(), values.max()
    centroids = lo + (hi - lo) * torch.arange(k, dtype=w.dtype) / max(k - 1, 1)
    assign = nearest_code(values, centroids)
    for _ in range(iterations):
        sums = torch.zeros(k, dtype=w.dtype).index_add_(0, assign, values)
        counts = torch.zeros(k, dtype=w.dtype).index_add_(0, assign, torch.ones_like(values))
        centroids = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)  # empty: stays put
        new = nearest_code(values, centroids)
        if torch.equal(new, assign):
            break
        assign = new
    codes = torch.zeros(w.shape, dtype=torch.int64)
    codes[keep] = assign + 1
    return centroids, codes


def nearest_code(values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid of each value (ties: the lower index); centroids in any order."""
    order = torch.argsort(centroids, stable=True)
    ranked = centroids[order]
    mids = (ranked[1:] + ranked[:-1]) / 2
    return order[torch.bucketize(values, mids, right=False)]


def quantize_activations(x: torch.Tensor, bits: int, lo: float, hi: float) -> torch.Tensor:
    """Uniform asymmetric fake quantization of `x` over the calibrated range [lo, hi] (zero exact)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    top = 2 ** bits - 1
    scale = max((hi - lo) / top, 1e-12)
    zero = round(-lo / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, top) - zero) * scale


def ste(x: torch.Tensor, xq: torch.Tensor) -> torch.Tensor:
    """Straight-through estimator: the forward value of `xq`, the gradient of the identity."""
    return x + (xq - x).detach()


class CodesignLayer(nn.Module):
    """A conv/linear layer with a pruning mask, optional weight and input quantizers, and input statistics."""

    mask: torch.Tensor  # buffers, registered in __init__ (declared so they type as tensors, not Tensor | Module)
    codes: torch.Tensor

    def __init__(self, inner: nn.Conv2d | nn.Linear) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("mask", torch.ones_like(inner.weight))
        self.weight_quant: WeightQuant | None = None
        self.act_bits: int | None = None
        self.act_lo = 0.0
        self.act_hi = 0.0
        self.calibrating = False
        self.recording = False
        self.input_nonzero = 0
        self.input_elements = 0
        self.output_positive = 0
        self.output_nonzero = 0
        self.rectified = True  # a ReLU follows (False for the inner factors of a decomposed layer)
        self.output_elements = 0
        self.input_samples: list[torch.Tensor] = []
        self.act_log = False  # log-domain activations (with log weights: Miyashita et al.)
        self.codebook: nn.Parameter | None = None  # k-means weight sharing: centroids, trained by gradient
        self.register_buffer("codes", torch.zeros(inner.weight.shape, dtype=torch.int64))

    def share_weights(self, bits: int) -> None:
        """Replace this layer's weights by a k-means codebook of 2^b codes; only the centroids train from now
        on (the gradient of a centroid is the sum of its weights' gradients, Han et al. Fig. 3)."""
        centroids, codes = kmeans_codebook(self.inner.weight.detach(), self.mask != 0, bits)
        self.codebook = nn.Parameter(centroids)
        self.codes.copy_(codes)
        self.inner.weight.requires_grad_(False)
        if self.inner.bias is not None:
            self.inner.bias.requires_grad_(False)

    def effective_weight(self) -> torch.Tensor:
        """The weight the forward pass uses: masked, then quantized (mask again: pruned weights stay zero)."""
        if self.codebook is not None:
            return torch.cat([self.codebook.new_zeros(1), self.codebook])[self.codes]
        w = self.inner.weight * self.mask
        if self.weight_quant is None:
            return w
        return ste(w, quantize_weights(w, self.weight_quant) * self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.act_lo = min(self.act_lo, float(x.min()))
            self.act_hi = max(self.act_hi, float(x.max()))
        if self.act_bits is not None and self.act_log:
            x = ste(x, quantize_activations_log(x, self.act_bits, self.act_hi))
        elif self.act_bits is not None:
            x = ste(x, quantize_activations(x, self.act_bits, self.act_lo, self.act_hi))
        w = self.effective_weight()
        m = self.inner
        if isinstance(m, nn.Conv2d):
            y = F.conv2d(x, w, m.bias, m.stride, m.padding, m.dilation, m.groups)
        else:
            y = F.linear(x, w, m.bias)
        if self.recording:
            self.input_nonzero += int(torch.count_nonzero(x))
            self.input_elements += x.numel()
            self.output_positive += int((y > 0).sum())
            self.output_nonzero += int(torch.count_nonzero(y))
            self.output_elements += y.numel()
            if len(self.input_samples) < 16:
                self.input_samples.append(x[: 16 - len(self.input_samples)].detach().clone())
        return y

    def reset_stats(self) -> None:
        self.input_nonzero = self.input_elements = self.output_positive = self.output_elements = 0
        self.output_nonzero = 0
        self.input_samples = []


def wrap(model: nn.Module) -> nn.Module:
    """A deep copy of `model` with every nn.Conv2d / nn.Linear replaced by a CodesignLayer (idempotent)."""
    model = copy.deepcopy(model)
    if any(isinstance(m, CodesignLayer) for m in model.modules()):
        return model
    for name, child in list(model.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Linear)):
            setattr(model, name, CodesignLayer(child))
        else:
            setattr(model, name, wrap(child))
    if getattr(model, "factorized", False):  # decompose.Factorized: no ReLU between the factors
        for child in list(model.children())[:-1]:
            if isinstance(child, CodesignLayer):
                child.rectified = False
    return model


def codesign_layers(model: nn.Module) -> list[tuple[str, CodesignLayer]]:
    """The wrapped layers of a wrapped model, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, CodesignLayer)]


def set_quantization(model: nn.Module, weights: WeightQuant | None, act_bits: int | None,
                     act_log: bool = False) -> None:
    """Give every wrapped layer the same weight quantizer and activation width (None: float); k-means weights
    get their per-layer codebooks here; `act_log`: log-domain activations."""
    if act_bits is not None:
        check_bits(act_bits, "act_bits")
    for _, layer in codesign_layers(model):
        layer.weight_quant = weights
        layer.act_bits = act_bits
        layer.act_log = act_log
        if weights is not None and weights.scheme is Scheme.KMEANS:
            layer.share_weights(weights.bits)


@torch.no_grad()
def calibrate(model: nn.Module, batches: list[torch.Tensor]) -> None:
    """Record each layer's input range (min, max) over `batches` in float, for activation quantization."""
    layers = [m for _, m in codesign_layers(model)]
    saved = [m.act_bits for m in layers]
    for m in layers:
        m.act_lo, m.act_hi, m.calibrating, m.act_bits = 0.0, 0.0, True, None
    model.eval()
    dtype = model_dtype(model)
    with deterministic():
        for x in batches:
            model(x.to(dtype))
    for m, bits in zip(layers, saved):
        m.calibrating, m.act_bits = False, bits
    if not math.isfinite(sum(m.act_hi for m in layers)):
        raise StationaryError("activation calibration saw a non-finite value")
