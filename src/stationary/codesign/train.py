"""Seeded, deterministic training and held-out accuracy on CPU (any iterable of (x, y) batches works, so a
user's own DataLoader can replace the bundled digits)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn


class ArrayBatches:
    """Mini-batches over in-memory arrays, reshuffled each epoch by a seeded generator (re-iterable)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                 seed: int = 0) -> None:
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
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
          lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """Train in place with Adam and cross-entropy for `epochs` passes over `batches`; returns the model."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    model.eval()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Fraction of correctly classified samples (0..1) over `batches`, in eval mode."""
    model.eval()
    correct = total = 0
    for x, y in batches:
        correct += int((model(x).argmax(dim=1) == y).sum())
        total += len(y)
    return correct / total if total else 0.0
