"""Real data with no downloads: scikit-learn's bundled `digits` (1,797 8x8 images, 10 classes), split once
with a fixed seed into train / validation / test. Accuracy is always measured on the held-out test split;
the validation split is what pruning decisions may look at."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stationary.errors import StationaryError

DATASETS = ("digits",)


@dataclass(frozen=True)
class Split:
    """Images as float32 [n, 1, 8, 8] in [0, 1] and integer labels, for train, validation and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, int, int]
    classes: int


def load_dataset(name: str, seed: int = 0, test_fraction: float = 0.25, val_fraction: float = 0.15) -> Split:
    """A named bundled dataset, stratified-split by `seed` (the same seed gives the same split)."""
    if name != "digits":
        raise StationaryError(f"unknown dataset {name!r}; datasets: {', '.join(DATASETS)}", field="--dataset")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:  # pragma: no cover - optional dependency
        raise StationaryError("the digits dataset needs scikit-learn: pip install scikit-learn") from None
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), random_state=seed, stratify=y_rest)
    return Split(x_train, y_train, x_val, y_val, x_test, y_test, (1, 8, 8), 10)
