"""im2col: lower the convolution to one GEMM on the Toeplitz matrix (survey Fig. 20).

The Toeplitz matrix has C.R.S rows and N.P.Q columns; each input value is copied into it up to R.S times
(its redundancy), which is the price of turning the convolution into a matrix multiply.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stationary.transforms.direct import pad_input, window
from stationary.transforms.spec import ConvSpec

Gemm = Callable[[np.ndarray, np.ndarray], np.ndarray]


def toeplitz(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """One group's Toeplitz matrix [C.R.S, N.P.Q] (row = (c, r, s), column = (n, p, q))."""
    xp = pad_input(x, spec)
    taps = [window(xp, spec, r, s) for r in range(spec.R) for s in range(spec.S)]  # each [N, C, P, Q]
    cols = np.stack(taps, axis=2)  # [N, C, R.S, P, Q]
    n = x.shape[0]
    return cols.reshape(n, spec.C * spec.R * spec.S, spec.P * spec.Q).transpose(1, 0, 2).reshape(
        spec.C * spec.R * spec.S, n * spec.P * spec.Q)


def im2col_conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec, gemm: Gemm | None = None) -> np.ndarray:
    """One group: weights [M, C.R.S] times the Toeplitz matrix, with `gemm` (default: NumPy's `@`)."""
    t = toeplitz(x, spec)
    m, n = w.shape[0], x.shape[0]
    a = w.reshape(m, spec.C * spec.R * spec.S)
    y = gemm(a, t) if gemm is not None else a @ t  # [M, N.P.Q]
    return y.reshape(m, n, spec.P, spec.Q).transpose(1, 0, 2, 3)
