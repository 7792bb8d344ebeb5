"""Distillation: the loss is Hinton et al.'s, the student learns the teacher's softened outputs, and with few
labels it beats the same student trained on labels alone on held-out digits (averaged over 5 seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from stationary.codesign.data import load_dataset
from stationary.codesign.distill import Distillation, distill, distillation_loss, labelled_subset
from stationary.codesign.models import build_model
from stationary.codesign.sweep import trained_model
from stationary.codesign.train import ArrayBatches, accuracy, predict, train
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


def test_labelled_subset_takes_the_first_per_class_and_rejects_too_many():
    x, y = np.arange(12.0)[:, None], np.array([0, 1, 0, 1, 0, 1, 0, 2, 2, 1, 0, 2])
    xs, ys = labelled_subset(x, y, 2)
    assert ys.tolist() == [0, 0, 1, 1, 2, 2] and xs[:, 0].tolist() == [0, 2, 1, 3, 7, 8]
    for bad in (0, 4):
        with pytest.raises(StationaryError, match="per class"):
            labelled_subset(x, y, bad)


def test_with_five_labels_per_class_distillation_beats_labels_only_on_held_out_digits_over_five_seeds():
    """The classic setting (Hinton et al.'s 3 % of the data): 50 labelled training images, a 64-16-10 student,
    the mlp_digits teacher (trained on all 1,077 labels; 98.0 % held out). Labels alone, the student fits 50
    one-hot targets and generalises poorly; the teacher's T = 4 outputs on the same 50 images add how much each
    image resembles every other class, a richer target per image. Both students train to convergence (300
    epochs) with the same init, batches, seed and learning rate, so the soft targets are the only difference."""
    split = load_dataset("digits")
    teacher = trained_model("mlp_digits")
    x, y = labelled_subset(split.x_train, split.y_train, 5)
    test = ArrayBatches(split.x_test, split.y_test, 256, shuffle=False)
    d = Distillation(temperature=4.0, alpha=0.9, epochs=300)
    extra_correct = []
    for seed in range(5):
        student = distill(build_model("mlp_small_digits", seed), teacher, ArrayBatches(x, y, 32, seed=seed), d, seed)
        labels = train(build_model("mlp_small_digits", seed), ArrayBatches(x, y, 32, seed=seed), d.epochs, d.lr,
                       seed)
        extra_correct.append(round((accuracy(student, test) - accuracy(labels, test)) * len(split.y_test)))
    # Measured (seeds 0-4, 450 test images): distilled 89.3, 89.3, 88.0, 89.6, 89.8 % vs labels only 88.0, 84.7,
    # 83.3, 84.0, 85.8 %: +6, +21, +21, +25, +18 images (+1.3..+5.6 points, mean +4.06); seeds 5-9 gave +21, +32,
    # +8, +12, +15 (all 10 seeds positive, mean +3.99 points). The bound, a mean of 7 images (1.6 points), is
    # under half the measured mean of 18.2: training is float64 on one thread with deterministic kernels, so
    # another CPU differs only in the last bits of float64 sums, far from moving 11 images per seed on average.
    assert sum(extra_correct) >= 5 * 7, extra_correct
