"""Instrumented arithmetic: a scalar that counts the multiplications and additions done on it.

Kernels are written with plain NumPy operators (`@`, `*`, `+`, `-`, slicing), so running one on an
object array of `Counted` scalars counts exactly the operations it performs; that is how the closed-form
counts in `counts.py` are checked (tests/transforms/test_counts.py). Negation is free (a sign flip).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Tally:
    """Running totals of the scalar operations a kernel performed."""

    multiplications: int = 0
    additions: int = 0


class Counted:
    """A real number that adds one to its tally for every `*` and every `+`/`-` it takes part in."""

    __slots__ = ("tally", "value")

    def __init__(self, value: float, tally: Tally) -> None:
        self.value = value
        self.tally = tally

    @staticmethod
    def _v(other: Any) -> float:
        return other.value if isinstance(other, Counted) else other

    def __mul__(self, other: Any) -> Counted:
        self.tally.multiplications += 1
        return Counted(self.value * self._v(other), self.tally)

    __rmul__ = __mul__

    def __add__(self, other: Any) -> Counted:
        self.tally.additions += 1
        return Counted(self.value + self._v(other), self.tally)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Counted:
        self.tally.additions += 1
        return Counted(self.value - self._v(other), self.tally)

    def __rsub__(self, other: Any) -> Counted:
        self.tally.additions += 1
        return Counted(self._v(other) - self.value, self.tally)

    def __neg__(self) -> Counted:
        return Counted(-self.value, self.tally)

    def zero(self) -> Counted:
        """A zero on the same tally, made without counting (padding is data, not arithmetic)."""
        return Counted(0.0, self.tally)


def counted_array(values: np.ndarray, tally: Tally) -> np.ndarray:
    """An object array of `Counted` scalars holding `values`, all reporting to `tally`."""
    out = np.empty(values.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(values.reshape(-1)):
        flat[i] = Counted(float(v), tally)
    return out


def values_of(arr: np.ndarray) -> np.ndarray:
    """The float64 values of an array that may hold `Counted` scalars."""
    if arr.dtype != object:
        return np.asarray(arr, dtype=np.float64)
    return np.vectorize(lambda c: c.value if isinstance(c, Counted) else float(c), otypes=[np.float64])(arr)


def zeros(shape: tuple[int, ...], like: np.ndarray) -> np.ndarray:
    """Zeros of `like`'s dtype; for instrumented arrays, uncounted `Counted` zeros on the same tally."""
    if like.dtype != object:
        return np.zeros(shape, dtype=like.dtype)
    proto = next(v for v in like.reshape(-1) if isinstance(v, Counted))
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [proto.zero() for _ in range(out.size)]
    return out


def pad(x: np.ndarray, widths: list[tuple[int, int]]) -> np.ndarray:
    """Zero-pad `x` (a copy only when some width is non-zero)."""
    if not any(a or b for a, b in widths):
        return x
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, widths, strict=True))
    out = zeros(shape, x)
    out[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths, strict=True))] = x
    return out
