"""Pruning (survey Sec. VII-B): magnitude (unstructured, one global threshold, as Han et al.), structured
(whole output channels by L1 norm, per layer, the classifier's outputs kept), and energy-aware (Yang, Chen, Sze,
CVPR 2017: prune first the layers where the cost model says the energy goes, each as far as the validation
accuracy allows). Pruning only sets masks on wrapped layers; fine-tuning then trains the surviving weights.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import torch
from torch import nn

from stationary.codesign.quantize import CodesignLayer, codesign_layers
from stationary.errors import StationaryError

#: Energy-aware pruning raises a layer's ratio in these steps, and never past the cap.
ENERGY_STEP = 0.05
ENERGY_MAX_RATIO = 0.95


class Method(StrEnum):
    """Which pruning rule."""

    MAGNITUDE = "magnitude"
    STRUCTURED = "structured"
    ENERGY = "energy"


METHODS = tuple(m.value for m in Method)


def check_ratio(ratio: float) -> None:
    """A pruning ratio is the fraction of weights removed, in [0, 1)."""
    if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise StationaryError(f"prune ratio must be in [0, 1), got {ratio!r}", field="--prune")


def _layers(model: nn.Module) -> list[tuple[str, CodesignLayer]]:
    layers = codesign_layers(model)
    if not layers:
        raise StationaryError("the model has no wrapped conv/linear layers: call quantize.wrap(model) first")
    return layers


@torch.no_grad()
def prune_layer_magnitude(layer: CodesignLayer, ratio: float) -> None:
    """Mask the `ratio` fraction of this layer's weights with the smallest magnitude."""
    w = layer.inner.weight.abs().flatten()
    k = int(round(ratio * w.numel()))
    mask = torch.ones_like(w)
    if k:
        mask[torch.argsort(w, stable=True)[:k]] = 0.0
    layer.mask.copy_(mask.view_as(layer.mask))


@torch.no_grad()
def prune_magnitude(model: nn.Module, ratio: float) -> None:
    """Unstructured: one global magnitude threshold removes `ratio` of all weights."""
    check_ratio(ratio)
    layers = _layers(model)
    flat = torch.cat([m.inner.weight.abs().flatten() for _, m in layers])
    k = int(round(ratio * flat.numel()))
    keep = torch.ones_like(flat)
    if k:
        keep[torch.argsort(flat, stable=True)[:k]] = 0.0
    start = 0
    for _, m in layers:
        n = m.mask.numel()
        m.mask.copy_(keep[start:start + n].view_as(m.mask))
        start += n


@torch.no_grad()
def prune_structured(model: nn.Module, ratio: float) -> None:
    """Structured: in every layer but the classifier, mask the `ratio` fraction of filters with least L1 norm."""
    check_ratio(ratio)
    layers = _layers(model)
    for _, m in layers[:-1]:
        w = m.inner.weight
        norms = w.abs().flatten(1).sum(dim=1)
        k = int(round(ratio * len(norms)))
        mask = torch.ones_like(norms)
        if k:
            mask[torch.argsort(norms, stable=True)[:k]] = 0.0
        m.mask.copy_(mask.view(-1, *([1] * (w.dim() - 1))).expand_as(w))
    layers[-1][1].mask.fill_(1.0)


@torch.no_grad()
def prune_energy_aware(model: nn.Module, ratio: float, layer_energy_pj: dict[str, float],
                       validate: Callable[[nn.Module], float], tolerance: float = 0.02) -> dict[str, float]:
    """Yang et al.'s order: most energy first, each layer pruned by magnitude in ENERGY_STEP increments while
    the validation accuracy stays within `tolerance` of the unpruned model's, until `ratio` of all weights is
    gone; if the budget is left, a second pass in the same order ignores the tolerance. Returns layer ratios."""
    check_ratio(ratio)
    layers = _layers(model)
    names = [n for n, _ in layers]
    missing = set(names) - set(layer_energy_pj)
    if missing:
        raise StationaryError(f"energy-aware pruning needs an energy for every layer; missing {sorted(missing)}")
    sizes = {n: m.mask.numel() for n, m in layers}
    budget = int(round(ratio * sum(sizes.values())))
    ratios = dict.fromkeys(names, 0.0)
    for _, m in layers:
        m.mask.fill_(1.0)
    if budget == 0:
        return ratios
    by_name = dict(layers)
    order = sorted(names, key=lambda n: -layer_energy_pj[n])
    floor = validate(model) - tolerance

    def removed() -> int:
        return sum(int(round(ratios[n] * sizes[n])) for n in names)

    for strict in (True, False):
        for n in order:
            while removed() < budget and ratios[n] < ENERGY_MAX_RATIO - 1e-9:
                left = budget - removed()
                trial = min(ENERGY_MAX_RATIO, ratios[n] + ENERGY_STEP, ratios[n] + left / sizes[n])
                prune_layer_magnitude(by_name[n], trial)
                if strict and validate(model) < floor:
                    prune_layer_magnitude(by_name[n], ratios[n])
                    break
                ratios[n] = trial
            if removed() >= budget:
                return ratios
    return ratios


def prune(model: nn.Module, ratio: float, method: Method | str, layer_energy_pj: dict[str, float] | None = None,
          validate: Callable[[nn.Module], float] | None = None) -> None:
    """Apply one pruning method in place (energy-aware needs per-layer energies and a validation function)."""
    try:
        method = Method(method)
    except ValueError:
        raise StationaryError(f"unknown pruning method {method!r}; methods: {', '.join(METHODS)}",
                              field="--method") from None
    if method is Method.MAGNITUDE:
        prune_magnitude(model, ratio)
    elif method is Method.STRUCTURED:
        prune_structured(model, ratio)
    else:
        if layer_energy_pj is None or validate is None:
            raise StationaryError("energy-aware pruning needs per-layer energies and a validation function")
        prune_energy_aware(model, ratio, layer_energy_pj, validate)
