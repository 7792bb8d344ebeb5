"""Distillation: the loss is Hinton et al.'s, and the student learns the teacher's softened outputs.

Whether distillation beats the same student trained on labels alone on held-out digits is NOT asserted: on
this machine it did not hold reliably (docs/codesign.md quotes the seeds), and an assertion that holds on
some seeds only would be tied to one CPU's rounding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from stationary.codesign.data import load_dataset
from stationary.codesign.distill import Distillation, distill, distillation_loss
from stationary.codesign.models import build_model
from stationary.codesign.sweep import trained_model
from stationary.codesign.train import ArrayBatches, predict, train
from stationary.errors import StationaryError


def test_loss_is_t_squared_kl_plus_cross_entropy():
    torch.manual_seed(0)
    teacher = torch.nn.Linear(4, 3).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    s = torch.randn(5, 3, dtype=torch.float64)
    d = Distillation(temperature=3.0, alpha=0.25)
    t = teacher(x).detach()
    p_t = torch.softmax(t / 3, dim=1)
    kl = (p_t * (p_t.log() - torch.log_softmax(s / 3, dim=1))).sum(dim=1).mean()
    expected = 0.25 * 9 * kl + 0.75 * F.cross_entropy(s, y)
    assert distillation_loss(teacher, d)(s, x, y).item() == pytest.approx(expected.item(), rel=1e-12)
    assert distillation_loss(teacher, Distillation(alpha=0.0))(s, x, y).item() == pytest.approx(
        F.cross_entropy(s, y).item(), rel=1e-12)
    with pytest.raises(StationaryError, match="temperature"):
        Distillation(temperature=0.0)


def test_distilled_student_matches_the_teachers_soft_outputs_better_than_a_labels_only_student():
    split = load_dataset("digits")
    teacher = trained_model("mlp_digits")
    batches = ArrayBatches(split.x_train, split.y_train, 64, seed=0)
    test = ArrayBatches(split.x_test, split.y_test, 256, shuffle=False)
    d = Distillation(epochs=10)
    student = distill(build_model("mlp_small_digits"), teacher, batches, d)
    labels = train(build_model("mlp_small_digits"), ArrayBatches(split.x_train, split.y_train, 64, seed=0), 10,
                   d.lr)
    p_t = torch.softmax(predict(teacher, test) / d.temperature, dim=1)

    def kl(model) -> float:
        log_s = torch.log_softmax(predict(model, test) / d.temperature, dim=1)
        return float((p_t * (p_t.log() - log_s)).sum(dim=1).mean())

    # measured (seeds 0-2): 0.08-0.12 vs 0.47-0.56, a ratio of 0.17-0.23; the bound 0.5 leaves over 2x margin
    assert kl(student) < 0.5 * kl(labels)
