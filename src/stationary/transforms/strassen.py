"""Strassen's matrix multiply: 7 half-size products instead of 8 per level, O(n^2.807).

Recursive; a dimension of odd size is zero-padded to even at that level, and below `cutoff` (any of
m, k, n) it falls back to the ordinary GEMM. Used as the GEMM of im2col (method `strassen`).
"""

from __future__ import annotations

import numpy as np

from stationary.errors import StationaryError
from stationary.transforms import _arith

DEFAULT_CUTOFF = 64


def strassen_matmul(a: np.ndarray, b: np.ndarray, cutoff: int = DEFAULT_CUTOFF) -> np.ndarray:
    """A [m, k] @ B [k, n] by Strassen's recursion down to `cutoff`, then NumPy's GEMM."""
    if cutoff < 1:
        raise StationaryError(f"Strassen cut-off must be >= 1, got {cutoff}", field="cutoff")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise StationaryError(f"Strassen needs [m,k] @ [k,n], got {a.shape} @ {b.shape}", field="shape")
    m, k = a.shape
    n = b.shape[1]
    if min(m, k, n) <= cutoff:
        return a @ b
    a = _arith.pad(a, [(0, m % 2), (0, k % 2)])
    b = _arith.pad(b, [(0, k % 2), (0, n % 2)])
    h, j, l = (m + 1) // 2, (k + 1) // 2, (n + 1) // 2
    a11, a12, a21, a22 = a[:h, :j], a[:h, j:], a[h:, :j], a[h:, j:]
    b11, b12, b21, b22 = b[:j, :l], b[:j, l:], b[j:, :l], b[j:, l:]
    m1 = strassen_matmul(a11 + a22, b11 + b22, cutoff)
    m2 = strassen_matmul(a21 + a22, b11, cutoff)
    m3 = strassen_matmul(a11, b12 - b22, cutoff)
    m4 = strassen_matmul(a22, b21 - b11, cutoff)
    m5 = strassen_matmul(a11 + a12, b22, cutoff)
    m6 = strassen_matmul(a21 - a11, b11 + b12, cutoff)
    m7 = strassen_matmul(a12 - a22, b21 + b22, cutoff)
    top = np.concatenate([m1 + m4 - m5 + m7, m3 + m5], axis=1)
    bottom = np.concatenate([m2 + m4, m1 - m2 + m3 + m6], axis=1)
    return np.concatenate([top, bottom], axis=0)[:m, :n]
