"""Small trainable CNNs for 8x8 digits: LeNet-5 style, an MLP, and a depthwise-separable (MobileNet-style) net.
Every MAC layer is an nn.Conv2d or nn.Linear followed by a ReLU (except the classifier), which is what the
activation-density measurement assumes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from stationary.codesign.train import DTYPE
from stationary.errors import StationaryError


def lenet5_digits() -> nn.Module:
    """LeNet-5 shape scaled to 8x8: conv 6@3x3, pool, conv 16@3x3, pool, FC 120, 84, 10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mlp_digits() -> nn.Module:
    """Three fully connected layers: 64 -> 128 -> 64 -> 10."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def dwsep_digits() -> nn.Module:
    """A standard conv, two depthwise-separable blocks (3x3 depthwise + 1x1 pointwise), each pooled, classifier.
    (Flattening the 2x2 map rather than global pooling trains several times faster and steadier on digits.)"""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU(), nn.Conv2d(16, 32, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.ReLU(), nn.Conv2d(32, 32, 1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10))


def lenet5_small_digits() -> nn.Module:
    """A distillation student: LeNet-5's shape with a quarter of the channels and units (conv 2, 4; FC 16)."""
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))


def mlp_small_digits() -> nn.Module:
    """A distillation student: one hidden layer of 16 units (64 -> 16 -> 10)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))


@dataclass(frozen=True)
class Recipe:
    """How to train one model on digits: passes over the training split, Adam learning rate, batch size."""

    factory: Callable[[], nn.Module]
    epochs: int
    lr: float
    batch_size: int


# Chosen so each reaches >= 95% held-out accuracy on digits in well under a minute on 2 CPU cores.
MODELS: dict[str, Recipe] = {
    "lenet5_digits": Recipe(lenet5_digits, 30, 1e-2, 64),
    "mlp_digits": Recipe(mlp_digits, 30, 1e-2, 64),
    "dwsep_digits": Recipe(dwsep_digits, 12, 5e-3, 32),
    "lenet5_small_digits": Recipe(lenet5_small_digits, 30, 1e-2, 64),
    "mlp_small_digits": Recipe(mlp_small_digits, 30, 1e-2, 64),
}


def build_model(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised float64 model by name (weights seeded by `seed`)."""
    if name not in MODELS:
        raise StationaryError(f"unknown model {name!r}; trainable models: {', '.join(MODELS)}", field="MODEL")
    torch.manual_seed(seed)
    return MODELS[name].factory().to(DTYPE)


def mac_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The conv and linear modules in execution order of registration, with their qualified names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
