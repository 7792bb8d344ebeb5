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
    LOG = "log"
    BINARY = "binary"
    TERNARY = "ternary"


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
        if self.scheme is Scheme.LOG and self.bits < 2:
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
    mean_abs = w.abs().mean(dim=dims, keepdim=True) if dims else w.abs().mean()
    if q.scheme is Scheme.BINARY:
        return torch.where(w >= 0, mean_abs, -mean_abs)
    delta = 0.7 * mean_abs  # ternary weight networks (Li & Liu 2016)
    big = w.abs() > delta
    alpha = (w.abs() * big).sum(dim=dims, keepdim=True) if dims else (w.abs() * big).sum()
    count = big.sum(dim=dims, keepdim=True) if dims else big.sum()
    alpha = alpha / count.clamp_min(1)
    return torch.sign(w) * big * alpha


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
        self.output_elements = 0
        self.input_samples: list[torch.Tensor] = []

    def effective_weight(self) -> torch.Tensor:
        """The weight the forward pass uses: masked, then quantized (mask again: pruned weights stay zero)."""
        w = self.inner.weight * self.mask
        if self.weight_quant is None:
            return w
        return ste(w, quantize_weights(w, self.weight_quant) * self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.act_lo = min(self.act_lo, float(x.min()))
            self.act_hi = max(self.act_hi, float(x.max()))
        if self.act_bits is not None:
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
            self.output_elements += y.numel()
            if len(self.input_samples) < 16:
                self.input_samples.append(x[: 16 - len(self.input_samples)].detach().clone())
        return y

    def reset_stats(self) -> None:
        self.input_nonzero = self.input_elements = self.output_positive = self.output_elements = 0
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
    return model


def codesign_layers(model: nn.Module) -> list[tuple[str, CodesignLayer]]:
    """The wrapped layers of a wrapped model, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, CodesignLayer)]


def set_quantization(model: nn.Module, weights: WeightQuant | None, act_bits: int | None) -> None:
    """Give every wrapped layer the same weight quantizer and activation width (None: float)."""
    if act_bits is not None:
        check_bits(act_bits, "act_bits")
    for _, layer in codesign_layers(model):
        layer.weight_quant = weights
        layer.act_bits = act_bits


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
