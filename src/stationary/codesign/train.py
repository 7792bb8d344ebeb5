"""Seeded, deterministic training and held-out accuracy on CPU (any iterable of (x, y) batches works, so a
user's own DataLoader can replace the bundled digits).

Determinism (issue 17 item 9): every training step and every accuracy pass runs in float64, on one thread,
with torch's deterministic algorithms, so a run repeats bit for bit on one machine and CPUs differ only in the
last bits of float64 kernels (vectorised sums in another order). Tests that assert accuracies add a margin
measured over seeds on top of that, because training amplifies even float64 differences."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

#: The dtype every co-design model trains and evaluates in.
DTYPE = torch.float64


@contextmanager
def deterministic() -> Iterator[None]:
    """One thread, deterministic kernels; the caller's settings are restored afterwards."""
    threads, strict = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(strict)


def model_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the model's parameters (float64 for the co-design models)."""
    p = next(model.parameters(), None)
    return p.dtype if p is not None else DTYPE


class ArrayBatches:
    """Mini-batches over in-memory arrays (images as float64), reshuffled each epoch by a seeded generator."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                 seed: int = 0) -> None:
        self.x, self.y = torch.from_numpy(np.asarray(x, dtype=np.float64)), torch.from_numpy(y)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            yield self.x[idx], self.y[idx]

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)


def train(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], epochs: int,
          lr: float = 3e-3, seed: int = 0, loss: nn.Module | None = None) -> nn.Module:
    """Train in place with Adam for `epochs` passes over `batches` (cross-entropy unless `loss(logits, x, y)`
    is given, e.g. distillation's); returns the model."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    dtype = model_dtype(model)
    with deterministic():
        model.train()
        for _ in range(epochs):
            for x, y in batches:
                x = x.to(dtype)
                opt.zero_grad()
                out = model(x)
                (loss_fn(out, y) if loss is None else loss(out, x, y)).backward()
                opt.step()
        model.eval()
    return model


@torch.no_grad()
def predict(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """The model's logits over all of `batches`, concatenated, in eval mode."""
    model.eval()
    dtype = model_dtype(model)
    with deterministic():
        return torch.cat([model(x.to(dtype)) for x, _ in batches])


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Fraction of correctly classified samples (0..1) over `batches`, in eval mode."""
    model.eval()
    dtype = model_dtype(model)
    correct = total = 0
    with deterministic():
        for x, y in batches:
            correct += int((model(x.to(dtype)).argmax(dim=1) == y).sum())
            total += len(y)
    return correct / total if total else 0.0
