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

from stationary.arch.load import load_arch
from stationary.arch.spec import Architecture
from stationary.codesign.cost import WEIGHT_CODES, LayerData, TensorData, ZeroMode, check_bits, layer_cost
from stationary.codesign.data import load_dataset
from stationary.codesign.decompose import decompose, pair
from stationary.codesign.deepcomp import STAGES, LayerStages, compress_layer, zigzag
from stationary.codesign.dense import dense_result, dense_search
from stationary.codesign.distill import Distillation, distill
from stationary.codesign.formats import FORMATS, as_matrix, parse_format, size_bits
from stationary.codesign.models import MODELS, build_model
from stationary.codesign.prune import Method, check_ratio, prune
from stationary.codesign.quantize import (
    LOG_SCHEMES,
    CodesignLayer,
    Scheme,
    WeightQuant,
    calibrate,
    codesign_layers,
    set_quantization,
    wrap,
)
from stationary.codesign.train import ArrayBatches, accuracy, model_dtype, train
from stationary.errors import StationaryError
from stationary.pareto import non_dominated
from stationary.workload.layer import Layer, conv2d, linear

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Settings:
    """Everything a sweep point depends on besides the model and data (fine-tune lengths, QAT threshold)."""

    method: Method = Method.MAGNITUDE
    quants: tuple[Scheme, ...] = (Scheme.UNIFORM,)  # weight quantizers swept (names too: parsed below)
    zero_mode: ZeroMode = ZeroMode.GATING
    finetune_epochs: int = 5  # after pruning, float, masked
    finetune_lr: float = 2e-3
    qat_epochs: int = 2  # quantization-aware fine-tune at widths below qat_below_bits
    qat_below_bits: int = 8
    qat_lr: float = 1e-3
    formats: tuple[str, ...] = FORMATS  # candidates; each tensor is stored in the smallest
    seed: int = 0
    huffman: bool = False  # Deep Compression's storage with Huffman-coded codes and positions off chip
    act_log: bool = False  # log-domain activations with log weights (Miyashita et al.)
    kmeans_epochs: int = 3  # fine-tune of the shared centroids (Deep Compression)
    kmeans_lr: float = 1e-3
    index_bits_conv: int = 8  # relative-index widths of Deep Compression's sparse storage (its Sec. 2)
    index_bits_fc: int = 5
    decompose_epochs: int = 8  # fine-tune after a low-rank decomposition
    decompose_lr: float = 2e-3

    def __post_init__(self) -> None:
        object.__setattr__(self, "quants", tuple(parse_quant(q) for q in self.quants))
        if not self.quants:
            raise StationaryError("give at least one quantizer", field="--quant")


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
    quant: str = "uniform"
    variant: str = "base"  # base | <decomposition> r<rank> | distilled | teacher | labels only
    compression_ratio: float = 1.0  # float32 dense weights / weights_bytes
    stages_bytes: dict[str, float] = field(default_factory=dict, compare=False)  # Deep Compression stages
    layers: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not detail:
            d.pop("layers")
            d.pop("stages_bytes")
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
    extra: dict[str, Any] = field(default_factory=dict)  # decomposition / distillation facts

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        return {
            "model": self.model, "dataset": self.dataset, "arch": self.arch, "method": self.method,
            "zero_mode": self.zero_mode, "baseline_accuracy": self.baseline_accuracy,
            "dense_energy_pj": self.dense_energy_pj, "dense_cycles": self.dense_cycles, **self.extra,
            "points": [p.to_json(detail) for p in self.points],
            "pareto": [self.points[i].to_json() for i in self.pareto],
        }


def pareto_front(points: Sequence[Point]) -> tuple[int, ...]:
    """Indices of points no other point beats on both accuracy (higher) and energy (lower), by energy."""
    return tuple(non_dominated([(p.energy_pj, -p.accuracy) for p in points]))


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
            if isinstance(inner.padding, str):  # the bundled models pad by numbers; the loop nest needs them
                raise StationaryError(f"layer {n}: padding {inner.padding!r} is not numeric; pad by numbers")
            layers[n] = conv2d(n, inner.in_channels, inner.out_channels, (shape[2], shape[3]), pair(inner.kernel_size),
                               pair(inner.stride), pair(inner.padding), pair(inner.dilation), inner.groups,
                               bias=inner.bias is not None)
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


def weight_codes(m: CodesignLayer, quant: Scheme, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """A quantized layer's weights as b-bit codes (0 = zero) and the codebook its decoder needs: k-means
    centroids, or per output channel the float32 scale of uniform levels / the base of log levels (codes are
    zigzagged signed levels: uniform l = w / scale, log m = log2(base / |w|) + 1)."""
    if quant is Scheme.KMEANS:
        if m.codebook is None:
            raise StationaryError("k-means codes need a layer with shared weights")
        return m.codes.numpy().copy(), m.codebook.detach().numpy().astype(np.float32)
    w = m.effective_weight().detach()
    rows = w.reshape(w.shape[0], -1)
    base = rows.abs().amax(dim=1, keepdim=True)
    if quant is Scheme.UNIFORM:
        scale = base / (2 ** (bits - 1) - 1)
        levels = torch.where(scale > 0, torch.round(rows / scale.clamp_min(1e-300)), torch.zeros_like(rows))
    elif quant in LOG_SCHEMES:
        scale = base
        mag = torch.round(torch.log2(base.clamp_min(1e-300) / rows.abs().clamp_min(1e-300))) + 1
        levels = torch.where(rows != 0, torch.sign(rows) * mag, torch.zeros_like(rows))
    else:
        raise StationaryError(f"Deep Compression storage takes uniform, log or k-means weights, not {quant.value}",
                              field="--huffman")
    codes = zigzag(levels.numpy().astype(np.int64)).reshape(w.shape)
    return codes, scale.numpy().ravel().astype(np.float32)


def compressed_weights(m: CodesignLayer, quant: Scheme, bits: int, settings: Settings) -> LayerStages:
    """Deep Compression's four stages for one layer (deepcomp.py), at the paper's relative-index widths."""
    codes, codebook = weight_codes(m, quant, bits)
    index_bits = settings.index_bits_conv if isinstance(m.inner, nn.Conv2d) else settings.index_bits_fc
    w = m.effective_weight().detach().numpy()
    return compress_layer(w, codes, codebook, bits, index_bits)


@torch.no_grad()
def measure(model: nn.Module, test: Batches, layers: dict[str, Layer], arch: Architecture, weight_bits: int,
            act_bits: int, settings: Settings, quant: Scheme = Scheme.UNIFORM
            ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the test data through the (pruned, quantized) model and cost every layer (see cost.py's rules).
    Weights are stored in the smallest sparse format, or, for k-means codes or with `settings.huffman`, in
    Deep Compression's relative-index storage (Huffman-coded off chip when asked)."""
    wrapped = codesign_layers(model)
    for _, m in wrapped:
        m.reset_stats()
        m.recording = True
    outputs: dict[str, list[torch.Tensor]] = {n: [] for n, _ in wrapped}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n: outputs[n].append(out.clamp_min(0) if mod.rectified else out)
        if len(outputs[n]) < 1 else None) for n, m in wrapped]
    try:
        accuracy(model, test)
    finally:
        for h in hooks:
            h.remove()
        for _, m in wrapped:
            m.recording = False
    rows = []
    totals: dict[str, Any] = {"weights": 0, "weight_nonzero": 0, "inputs": 0, "input_nonzero": 0,
                              "weights_bits": 0, "energy_pj": 0.0, "cycles": 0,
                              "stages_bits": dict.fromkeys(STAGES, 0)}
    deep = quant is Scheme.KMEANS or settings.huffman
    code = quant.value if quant.value in WEIGHT_CODES else "uniform"
    for i, (n, m) in enumerate(wrapped):
        w = m.effective_weight().detach().numpy()
        w_density = float(np.count_nonzero(w)) / w.size
        stored_bits: float
        if deep:
            st = compressed_weights(m, quant, weight_bits, settings)
            value_bits = arch.compute.word_bits if quant is Scheme.KMEANS else weight_bits
            off = st.bits["huffman"] if settings.huffman else st.bits["shared"]
            w_data = TensorData(w_density, value_bits, st.bits["shared"] / w.size, off / w.size)
            for k in STAGES:
                totals["stages_bits"][k] += st.bits[k]
            stored_bits = off
        else:
            w_data = _store([as_matrix(w)], weight_bits, settings.formats, w_density)
            stored_bits = w_data.stored_bits_per_element * w.size
        in_density = m.input_nonzero / m.input_elements if m.input_elements else 1.0
        in_samples = [s for x in m.input_samples for s in _activation_matrices(x)]
        in_data = _store(in_samples, act_bits, settings.formats, in_density)
        last = i == len(wrapped) - 1
        if last:
            out_data = TensorData.dense(act_bits)
        else:
            nonzero = m.output_positive if m.rectified else m.output_nonzero
            out_density = nonzero / m.output_elements if m.output_elements else 1.0
            out_samples = [s for y in outputs[n] for s in _activation_matrices(y[:16])]
            out_data = _store(out_samples, act_bits, settings.formats, out_density)
        data = LayerData(w_data, in_data, out_data, weight_code=code,
                         act_log=settings.act_log and quant in LOG_SCHEMES,
                         rescale_multiplies=layers[n].output_activations if quant is Scheme.LOG_SCALED else 0)
        cost = layer_cost(layers[n].loop_nest(), dense_search(layers[n], arch).mapping, arch, data,
                          settings.zero_mode)
        rows.append({"layer": n, "macs": layers[n].macs, "weight_density": w_density, "input_density": in_density,
                     "output_density": out_data.density, "weight_bits_per_element": stored_bits / w.size,
                     "input_bits_per_element": in_data.stored_bits_per_element, "energy_pj": cost.energy_pj,
                     "decode_energy_pj": cost.decode_energy_pj, "dense_energy_pj": cost.dense_energy_pj,
                     "cycles": cost.cycles})
        totals["weights"] += w.size
        totals["weight_nonzero"] += int(np.count_nonzero(w))
        totals["inputs"] += m.input_elements
        totals["input_nonzero"] += m.input_nonzero
        totals["weights_bits"] += stored_bits
        totals["energy_pj"] += cost.energy_pj
        totals["cycles"] += cost.cycles
    if not deep:
        totals["stages_bits"] = {}
    return rows, totals


# ----- the sweep ---------------------------------------------------------------------------------------------
QUANTS = tuple(q.value for q in Scheme)


def parse_quant(name: str | Scheme) -> Scheme:
    """A weight quantizer by name, with one clear error listing the valid names."""
    try:
        return Scheme(str(name).strip().lower())
    except ValueError:
        raise StationaryError(f"unknown quantizer {name!r}; quantizers: {', '.join(QUANTS)}", field="--quant") from None


def _weight_quant(bits: int, scheme: Scheme) -> WeightQuant:
    if scheme is Scheme.BINARY:
        return WeightQuant(1, scheme)
    if scheme is Scheme.TERNARY:
        return WeightQuant(2, scheme)
    if bits == 1 and scheme is not Scheme.KMEANS:  # one bit: no symmetric uniform or log grid: a sign weight
        return WeightQuant(1, Scheme.BINARY)
    return WeightQuant(bits, scheme)


def sweep(model: nn.Module, train_batches: Batches, val_batches: Batches, test_batches: Batches,
          input_shape: tuple[int, ...], arch: Architecture, prunes: Sequence[float], bits: Sequence[int],
          settings: Settings = Settings(), name: str = "model", dataset: str = "custom",
          on_point: Callable[[Point], None] | None = None, variant: str = "base") -> Report:
    """Sweep a trained float `model` over every (prune, quantizer, bits) point; the model itself is not changed."""
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
        for quant in settings.quants:
            for b in bits:
                q = copy.deepcopy(pruned)
                wq = _weight_quant(b, quant)
                calibrate(q, calibration)
                set_quantization(q, wq, b, settings.act_log and wq.scheme in LOG_SCHEMES)
                if wq.scheme is Scheme.KMEANS and settings.kmeans_epochs:  # Deep Compression: tune centroids
                    train(q, train_batches, settings.kmeans_epochs, settings.kmeans_lr, settings.seed)
                    calibrate(q, calibration)
                elif b < settings.qat_below_bits and settings.qat_epochs:
                    train(q, train_batches, settings.qat_epochs, settings.qat_lr, settings.seed)
                    calibrate(q, calibration)
                point = measure_point(q, test_batches, layers, arch, wq, b, settings, p, variant)
                points.append(point)
                if on_point is not None:
                    on_point(point)
    return Report(name, dataset, arch.name, settings.method.value, settings.zero_mode.value, baseline,
                  sum(r.energy_pj for r in dense.values()), sum(r.cycles for r in dense.values()),
                  tuple(points), pareto_front(points))


def measure_point(q: nn.Module, test_batches: Batches, layers: dict[str, Layer], arch: Architecture,
                  wq: WeightQuant, act_bits: int, settings: Settings, prune_ratio: float, variant: str) -> Point:
    """Held-out accuracy, densities, stored weights and modelled cost of one prepared (quantized) model."""
    acc = accuracy(q, test_batches)
    rows, t = measure(q, test_batches, layers, arch, wq.bits, act_bits, settings, wq.scheme)
    weights_bytes = t["weights_bits"] / 8
    return Point(prune=prune_ratio, bits=wq.bits, accuracy=acc, weight_density=t["weight_nonzero"] / t["weights"],
                 activation_density=t["input_nonzero"] / t["inputs"] if t["inputs"] else 1.0,
                 weights_bytes=weights_bytes, energy_pj=t["energy_pj"], cycles=int(t["cycles"]),
                 quant=wq.scheme.value, variant=variant,
                 compression_ratio=t["weights"] * 4 / weights_bytes if weights_bytes else float("inf"),
                 stages_bytes={k: v / 8 for k, v in t["stages_bits"].items()}, layers=tuple(rows))


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
                  settings: Settings, decomposition: tuple[str, int] | None = None,
                  distill_from: str | None = None) -> Architecture:
    """Reject bad input before any training: model, dataset, ratios, widths, formats; returns the architecture."""
    for model_name, field_name in ((name, "MODEL"), (distill_from, "--distill-from")):
        if model_name is not None and model_name not in MODELS:
            raise StationaryError(f"unknown model {model_name!r}; trainable models: {', '.join(MODELS)}",
                                  field=field_name)
    if distill_from is not None and decomposition is not None:
        raise StationaryError("give --decompose or --distill-from, not both", field="--distill-from")
    if decomposition is not None:
        method, rank = decomposition
        decompose(build_model(name), method, rank)  # raises the one clear error for a bad method or rank
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
    if settings.huffman and any(q in (Scheme.BINARY, Scheme.TERNARY) for q in settings.quants):
        raise StationaryError("--huffman stores uniform, log or k-means codes, not binary/ternary weights",
                              field="--huffman")
    return arch if isinstance(arch, Architecture) else load_arch(arch)


def run_codesign(name: str, dataset: str = "digits", arch: str | Architecture = "eyeriss",
                 prunes: Sequence[float] = (0.0, 0.5, 0.8), bits: Sequence[int] = (16, 8, 4),
                 settings: Settings = Settings(), on_point: Callable[[Point], None] | None = None,
                 decomposition: tuple[str, int] | None = None, distill_from: str | None = None,
                 distillation: Distillation = Distillation()) -> Report:
    """The CLI's job: a named digits model, trained, swept over (prune, quantizer, bits) on a named
    architecture. With `decomposition` (method, rank) the decomposed, fine-tuned model is swept beside the
    original; with `distill_from` the model is a student distilled from that teacher, shown beside the
    teacher and the same student trained on labels alone (each unpruned, 16-bit uniform)."""
    architecture = check_request(name, dataset, arch, prunes, bits, settings, decomposition, distill_from)
    split = load_dataset(dataset, settings.seed)
    r = MODELS[name]
    train_b = ArrayBatches(split.x_train, split.y_train, r.batch_size, seed=settings.seed)
    val_b = ArrayBatches(split.x_val, split.y_val, 256, shuffle=False)
    test_b = ArrayBatches(split.x_test, split.y_test, 256, shuffle=False)

    def run(model: nn.Module, variant: str, ps=prunes, bs=bits, s=settings, cb=on_point) -> Report:
        return sweep(model, train_b, val_b, test_b, split.input_shape, architecture, ps, bs, s, name, dataset,
                     cb, variant)

    if distill_from is not None:
        teacher = trained_model(distill_from, dataset, settings.seed)
        student = distill(build_model(name, settings.seed), teacher, train_b, distillation, settings.seed)
        main = run(student, "distilled")
        reference = Settings(method=settings.method, zero_mode=settings.zero_mode, seed=settings.seed)
        t = run(teacher, "teacher", (0.0,), (16,), reference, None)
        lab = run(trained_model(name, dataset, settings.seed), "labels only", (0.0,), (16,), reference, None)
        extra = {"distillation": {"teacher": distill_from, "temperature": distillation.temperature,
                                  "alpha": distillation.alpha, "teacher_accuracy": t.baseline_accuracy,
                                  "teacher_energy_pj": t.points[0].energy_pj,
                                  "labels_only_accuracy": lab.baseline_accuracy}}
        return _merge(main, (main.points + t.points + lab.points), extra)
    model = trained_model(name, dataset, settings.seed)
    if decomposition is None:
        return run(model, "base")
    method, rank = decomposition
    small, names = decompose(model, method, rank)
    before = accuracy(wrap(small), test_b)
    train(small, train_b, settings.decompose_epochs, settings.decompose_lr, settings.seed)
    base = run(model, "base")
    dec = run(small, f"{method} r{rank}")
    extra = {"decomposition": {"method": method, "rank": rank, "layers": names, "accuracy_before_finetune": before,
                               "accuracy_after_finetune": dec.baseline_accuracy}}
    return _merge(base, base.points + dec.points, extra)


def _merge(report: Report, points: tuple[Point, ...], extra: dict[str, Any]) -> Report:
    return Report(report.model, report.dataset, report.arch, report.method, report.zero_mode,
                  report.baseline_accuracy, report.dense_energy_pj, report.dense_cycles, points,
                  pareto_front(points), extra)
