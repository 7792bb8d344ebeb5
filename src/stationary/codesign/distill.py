"""Knowledge distillation (Hinton, Vinyals, Dean 2015; survey Sec. VII-C): a small student trained on a
large teacher's temperature-softened outputs plus the labels:

  loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, labels)

(the T^2 keeps the soft term's gradients on the scale of the hard term's as T changes, as in the paper)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stationary.codesign.train import model_dtype, train
from stationary.errors import StationaryError


@dataclass(frozen=True)
class Distillation:
    """Temperature, weight of the soft term, epochs and learning rate of the student's training."""

    temperature: float = 4.0
    alpha: float = 0.7
    epochs: int = 30
    lr: float = 1e-2

    def __post_init__(self) -> None:
        if not self.temperature > 0 or not 0.0 <= self.alpha <= 1.0:
            raise StationaryError("distillation needs a temperature > 0 and alpha in [0, 1]", field="--distill-from")


def labelled_subset(x: np.ndarray, y: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `per_class` samples of each class, in class order: a small labelled training set, which is
    where soft targets help most (Hinton et al.'s 3 % experiment); deterministic, so runs repeat."""
    classes = np.unique(y)
    picks = [np.flatnonzero(y == c)[:per_class] for c in classes]
    if per_class < 1 or any(len(p) < per_class for p in picks):
        raise StationaryError(f"a labelled subset of {per_class} per class needs 1..{min(map(len, picks))} "
                              "(the fewest samples of any class)", field="per_class")
    idx = np.concatenate(picks)
    return x[idx], y[idx]


def distillation_loss(teacher: nn.Module, d: Distillation):
    """The loss(logits, x, labels) `train` takes: the teacher's soft targets are computed on the same batch."""
    teacher.eval()
    t_dtype = model_dtype(teacher)

    def loss(logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            soft = F.softmax(teacher(x.to(t_dtype)).to(logits.dtype) / d.temperature, dim=1)
        kl = F.kl_div(F.log_softmax(logits / d.temperature, dim=1), soft, reduction="batchmean")
        return d.alpha * d.temperature ** 2 * kl + (1 - d.alpha) * F.cross_entropy(logits, y)

    return loss


def distill(student: nn.Module, teacher: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
            d: Distillation = Distillation(), seed: int = 0) -> nn.Module:
    """Train `student` in place on the teacher's softened outputs and the labels; returns the student."""
    return train(student, batches, d.epochs, d.lr, seed, loss=distillation_loss(teacher, d))
