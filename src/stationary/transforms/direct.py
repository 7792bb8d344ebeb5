"""Direct convolution: the survey's loop nest, one (M x C) @ (C x N.P.Q) product per filter tap.

The reference every other method is checked against; multiplications = N.M.C.P.Q.R.S (padding zeros
included, as hardware that does not skip them would).
"""

from __future__ import annotations

import numpy as np

from stationary.transforms import _arith
from stationary.transforms.spec import ConvSpec


def window(xp: np.ndarray, spec: ConvSpec, r: int, s: int) -> np.ndarray:
    """The [N, C, P, Q] input values that filter tap (r, s) meets, from the padded input `xp`."""
    (sh, sw), (dh, dw) = spec.stride, spec.dilation
    r0, s0 = r * dh, s * dw
    return xp[:, :, r0:r0 + sh * (spec.P - 1) + 1:sh, s0:s0 + sw * (spec.Q - 1) + 1:sw]


def pad_input(x: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """The input with the layer's zero padding on every side of H and W."""
    ph, pw = spec.padding
    return _arith.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])


def direct_conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """One group: x [N, C, H, W], w [M, C, R, S] -> [N, M, P, Q], by accumulating R.S channel GEMMs."""
    xp = pad_input(x, spec)
    n, p, q = x.shape[0], spec.P, spec.Q
    out = None
    for r in range(spec.R):
        for s in range(spec.S):
            win = window(xp, spec, r, s).reshape(n, spec.C, p * q)
            term = w[:, :, r, s] @ win  # [M, C] @ [N, C, P.Q] -> [N, M, P.Q]
            out = term if out is None else out + term
    assert out is not None
    return out.reshape(n, w.shape[0], p, q)
