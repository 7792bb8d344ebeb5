"""The co-design sweep: train (or take) a model, then for every (prune ratio, bit width) point prune and
fine-tune, quantize (post-training, plus a short QAT at low widths), measure held-out accuracy, weight and
activation densities and compressed sizes, and model the energy and cycles on an architecture."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from stationary.arch.native import load_arch
from stationary.arch.spec import Architecture
from stationary.codesign.cost import LayerData, TensorData, ZeroMode, check_bits, layer_cost
from stationary.codesign.data import load_dataset
from stationary.codesign.dense import dense_result
from stationary.codesign.formats import FORMATS, as_matrix, parse_format, size_bits
from stationary.codesign.models import MODELS, build_model
from stationary.codesign.prune import Method, check_ratio, prune
from stationary.codesign.quantize import (
    Scheme,
    WeightQuant,
    calibrate,
    codesign_layers,
    set_quantization,
    wrap,
)
from stationary.codesign.train import ArrayBatches, accuracy, model_dtype, train
from stationary.errors import StationaryError
from stationary.workload.layer import Layer, conv2d, linear

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Settings:
    """Everything a sweep point depends on besides the model and data (fine-tune lengths, QAT threshold)."""

    method: Method = Method.MAGNITUDE
    scheme: Scheme = Scheme.UNIFORM
    zero_mode: ZeroMode = ZeroMode.GATING
    finetune_epochs: int = 5  # after pruning, float, masked
    finetune_lr: float = 2e-3
    qat_epochs: int = 2  # quantization-aware fine-tune at widths below qat_below_bits
    qat_below_bits: int = 8
    qat_lr: float = 1e-3
    formats: tuple[str, ...] = FORMATS  # candidates; each tensor is stored in the smallest
    seed: int = 0


@dataclass(frozen=True)
class Point:
    """One measured (prune, bits) point: accuracy on held-out data, densities, compressed weights, cost."""

    prune: float
    bits: int
    accuracy: float
    weight_density: float
    activation_density: float
    weights_bytes: float
    energy_pj: float
    cycles: int
    layers: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not detail:
            d.pop("layers")
        else:
            d["layers"] = list(self.layers)
        return d


@dataclass(frozen=True)
class Report:
    """All points of a sweep, the Pareto front (accuracy up, energy down), and the float baseline."""

    model: str
    dataset: str
    arch: str
    method: str
    zero_mode: str
    baseline_accuracy: float
    dense_energy_pj: float
    dense_cycles: int
    points: tuple[Point, ...]
    pareto: tuple[int, ...]

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        return {
            "model": self.model, "dataset": self.dataset, "arch": self.arch, "method": self.method,
            "zero_mode": self.zero_mode, "baseline_accuracy": self.baseline_accuracy,
            "dense_energy_pj": self.dense_energy_pj, "dense_cycles": self.dense_cycles,
            "points": [p.to_json(detail) for p in self.points],
            "pareto": [self.points[i].to_json() for i in self.pareto],
        }


def pareto_front(points: Sequence[Point]) -> tuple[int, ...]:
    """Indices of points no other point beats on both accuracy (higher) and energy (lower), by energy."""
    front = []
    for i, p in enumerate(points):
        dominated = any((q.accuracy >= p.accuracy and q.energy_pj <= p.energy_pj)
                        and (q.accuracy > p.accuracy or q.energy_pj < p.energy_pj) for q in points)
        if not dominated:
            front.append(i)
    return tuple(sorted(front, key=lambda i: (points[i].energy_pj, -points[i].accuracy)))


# ----- workload of a torch model ------------------------------------------------------------------------------
@torch.no_grad()
def model_layers(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, Layer]:
    """One stationary Layer (batch 1) per wrapped conv/linear layer, from the shapes seen on a zero input."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: shapes.__setitem__(n, tuple(inp[0].shape)))
             for n, m in codesign_layers(model)]
    try:
        model.eval()
        model(torch.zeros((1, *input_shape), dtype=model_dtype(model)))
    finally:
        for h in hooks:
            h.remove()
    layers = {}
    for n, m in codesign_layers(model):
        inner, shape = m.inner, shapes[n]
        if isinstance(inner, nn.Conv2d):
            layers[n] = conv2d(n, inner.in_channels, inner.out_channels, (shape[2], shape[3]), inner.kernel_size,
                               inner.stride, inner.padding, inner.dilation, inner.groups, bias=inner.bias is not None)
        else:
            rows = int(np.prod(shape[1:-1])) if len(shape) > 2 else 1
            layers[n] = linear(n, inner.in_features, inner.out_features, rows=rows, bias=inner.bias is not None)
    return layers


# ----- measurement -------------------------------------------------------------------------------------------
def _store(samples: list[np.ndarray], value_bits: int, formats: tuple[str, ...], density: float) -> TensorData:
    """Stored bits per element of tensors in the one format (of `formats`) that makes them smallest in total."""
    elements = sum(s.size for s in samples)
    best = min(sum(size_bits(s, f, value_bits) for s in samples) for f in formats)
    return TensorData(min(1.0, density), value_bits, best / elements if elements else float(value_bits))


def _activation_matrices(x: torch.Tensor) -> list[np.ndarray]:
    """Per sample, the [channels, pixels] (or [1, features]) matrix a format stores."""
    a = x.detach().numpy()
    return [as_matrix(s.reshape(s.shape[0], -1) if s.ndim > 1 else s) for s in a]


@torch.no_grad()
def measure(model: nn.Module, test: Batches, layers: dict[str, Layer], arch: Architecture, weight_bits: int,
            act_bits: int, settings: Settings) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Run the test data through the (pruned, quantized) model and cost every layer (see cost.py's rules)."""
    wrapped = codesign_layers(model)
    for _, m in wrapped:
        m.reset_stats()
        m.recording = True
    outputs: dict[str, list[torch.Tensor]] = {n: [] for n, _ in wrapped}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n: outputs[n].append(out.clamp_min(0)) if len(outputs[n]) < 1 else None)
        for n, m in wrapped]
    try:
        accuracy(model, test)
    finally:
        for h in hooks:
            h.remove()
        for _, m in wrapped:
            m.recording = False
    rows = []
    totals = {"weights": 0, "weight_nonzero": 0, "inputs": 0, "input_nonzero": 0, "weights_bits": 0,
              "energy_pj": 0.0, "cycles": 0}
    for i, (n, m) in enumerate(wrapped):
        w = m.effective_weight().detach().numpy()
        w_density = float(np.count_nonzero(w)) / w.size
        w_data = _store([as_matrix(w)], weight_bits, settings.formats, w_density)
        in_density = m.input_nonzero / m.input_elements if m.input_elements else 1.0
        in_samples = [s for x in m.input_samples for s in _activation_matrices(x)]
        in_data = _store(in_samples, act_bits, settings.formats, in_density)
        last = i == len(wrapped) - 1
        if last:
            out_data = TensorData.dense(act_bits)
        else:
            out_density = m.output_positive / m.output_elements if m.output_elements else 1.0
            out_samples = [s for y in outputs[n] for s in _activation_matrices(y[:16])]
            out_data = _store(out_samples, act_bits, settings.formats, out_density)
        data = LayerData(w_data, in_data, out_data)
        cost = layer_cost(dense_result(layers[n], arch), arch, data, settings.zero_mode)
        rows.append({"layer": n, "macs": layers[n].macs, "weight_density": w_density, "input_density": in_density,
                     "output_density": out_data.density, "weight_bits_per_element": w_data.stored_bits_per_element,
                     "input_bits_per_element": in_data.stored_bits_per_element, "energy_pj": cost.energy_pj,
                     "dense_energy_pj": cost.dense_energy_pj, "cycles": cost.cycles})
        totals["weights"] += w.size
        totals["weight_nonzero"] += int(np.count_nonzero(w))
        totals["inputs"] += m.input_elements
        totals["input_nonzero"] += m.input_nonzero
        totals["weights_bits"] += w_data.stored_bits_per_element * w.size
        totals["energy_pj"] += cost.energy_pj
        totals["cycles"] += cost.cycles
    return rows, totals


# ----- the sweep ---------------------------------------------------------------------------------------------
def _weight_quant(bits: int, scheme: Scheme) -> WeightQuant:
    if scheme is Scheme.BINARY:
        return WeightQuant(1, scheme)
    if scheme is Scheme.TERNARY:
        return WeightQuant(2, scheme)
    if bits == 1:  # one bit has no symmetric uniform grid: it is a sign (binary) weight
        return WeightQuant(1, Scheme.BINARY)
    return WeightQuant(bits, scheme)


def sweep(model: nn.Module, train_batches: Batches, val_batches: Batches, test_batches: Batches,
          input_shape: tuple[int, ...], arch: Architecture, prunes: Sequence[float], bits: Sequence[int],
          settings: Settings = Settings(), name: str = "model", dataset: str = "custom",
          on_point: Callable[[Point], None] | None = None) -> Report:
    """Sweep a trained float `model` over every (prune, bits) point; the model itself is not changed."""
    for p in prunes:
        check_ratio(p)
    for b in bits:
        check_bits(b, "--bits")
    if not prunes or not bits:
        raise StationaryError("give at least one prune ratio and one bit width")
    base = wrap(model)
    layers = model_layers(base, input_shape)
    dense = {n: dense_result(layer, arch) for n, layer in layers.items()}
    baseline = accuracy(base, test_batches)
    calibration = [x for x, _ in train_batches]
    points: list[Point] = []
    for p in prunes:
        pruned = copy.deepcopy(base)
        if p > 0:
            prune(pruned, p, settings.method, {n: r.energy_pj for n, r in dense.items()},
                  lambda m: accuracy(m, val_batches))
            train(pruned, train_batches, settings.finetune_epochs, settings.finetune_lr, settings.seed)
        for b in bits:
            q = copy.deepcopy(pruned)
            wq = _weight_quant(b, settings.scheme)
            calibrate(q, calibration)
            set_quantization(q, wq, b)
            if b < settings.qat_below_bits and settings.qat_epochs:
                train(q, train_batches, settings.qat_epochs, settings.qat_lr, settings.seed)
                calibrate(q, calibration)
            acc = accuracy(q, test_batches)
            rows, t = measure(q, test_batches, layers, arch, wq.bits, b, settings)
            point = Point(prune=p, bits=b, accuracy=acc, weight_density=t["weight_nonzero"] / t["weights"],
                          activation_density=t["input_nonzero"] / t["inputs"] if t["inputs"] else 1.0,
                          weights_bytes=t["weights_bits"] / 8, energy_pj=t["energy_pj"], cycles=int(t["cycles"]),
                          layers=tuple(rows))
            points.append(point)
            if on_point is not None:
                on_point(point)
    return Report(name, dataset, arch.name, settings.method.value, settings.zero_mode.value, baseline,
                  sum(r.energy_pj for r in dense.values()), sum(r.cycles for r in dense.values()),
                  tuple(points), pareto_front(points))


_TRAINED: dict[tuple[str, str, int], dict[str, torch.Tensor]] = {}


def trained_model(name: str, dataset: str = "digits", seed: int = 0) -> nn.Module:
    """A named model trained on `dataset` with its recipe (cached for the process: training is seeded)."""
    model = build_model(name, seed)
    key = (name, dataset, seed)
    if key not in _TRAINED:
        split = load_dataset(dataset, seed)
        r = MODELS[name]
        train(model, ArrayBatches(split.x_train, split.y_train, r.batch_size, seed=seed), r.epochs, r.lr, seed)
        _TRAINED[key] = copy.deepcopy(model.state_dict())
    model.load_state_dict(_TRAINED[key])
    return model.eval()


def check_request(name: str, dataset: str, arch: str | Architecture, prunes: Sequence[float], bits: Sequence[int],
                  settings: Settings) -> Architecture:
    """Reject bad input before any training: model, dataset, ratios, widths, formats; returns the architecture."""
    if name not in MODELS:
        raise StationaryError(f"unknown model {name!r}; trainable models: {', '.join(MODELS)}", field="MODEL")
    if dataset != "digits":
        load_dataset(dataset)  # raises the one clear error
    if not prunes or not bits:
        raise StationaryError("give at least one prune ratio and one bit width")
    for p in prunes:
        check_ratio(p)
    for b in bits:
        check_bits(b, "--bits")
    for f in settings.formats:
        parse_format(f)
    return arch if isinstance(arch, Architecture) else load_arch(arch)


def run_codesign(name: str, dataset: str = "digits", arch: str | Architecture = "eyeriss",
                 prunes: Sequence[float] = (0.0, 0.5, 0.8), bits: Sequence[int] = (16, 8, 4),
                 settings: Settings = Settings(), on_point: Callable[[Point], None] | None = None) -> Report:
    """The CLI's job: a named digits model, trained, swept over (prune, bits) on a named architecture."""
    architecture = check_request(name, dataset, arch, prunes, bits, settings)
    split = load_dataset(dataset, settings.seed)
    model = trained_model(name, dataset, settings.seed)
    r = MODELS[name]
    return sweep(model, ArrayBatches(split.x_train, split.y_train, r.batch_size, seed=settings.seed),
                 ArrayBatches(split.x_val, split.y_val, 256, shuffle=False),
                 ArrayBatches(split.x_test, split.y_test, 256, shuffle=False), split.input_shape, architecture,
                 prunes, bits, settings, name, dataset, on_point)
