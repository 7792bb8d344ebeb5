"""The methods by name: which layers each can do, and one `convolve` entry point for all of them.

Names: direct, im2col, strassen (im2col with Strassen as its GEMM), fft, and winograd-<m> for
F(m x m, R x S) with any m >= 1 (winograd-2 and winograd-4 by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from stationary.errors import StationaryError
from stationary.transforms.direct import direct_conv
from stationary.transforms.fft import DEFAULT_FFT_SIZE, fft_conv
from stationary.transforms.im2col import im2col_conv
from stationary.transforms.spec import ConvSpec
from stationary.transforms.strassen import DEFAULT_CUTOFF, strassen_matmul
from stationary.transforms.winograd import winograd_conv

DEFAULT_METHODS = ("direct", "im2col", "strassen", "winograd-2", "winograd-4", "fft")
BASE_METHODS = ("direct", "im2col", "strassen", "winograd-<m>", "fft")


@dataclass(frozen=True)
class Options:
    """Tuning knobs shared by execution and counting, so both describe the same algorithm."""

    strassen_cutoff: int = DEFAULT_CUTOFF
    fft_size: int = DEFAULT_FFT_SIZE


def parse_method(name: str) -> tuple[str, int]:
    """'winograd-4' -> ('winograd', 4); 'im2col' -> ('im2col', 0); unknown names raise."""
    base, _, arg = name.partition("-")
    if base == "winograd":
        if not arg.isdigit() or int(arg) < 1:
            raise StationaryError(f"Winograd is named winograd-<m> with output tile m >= 1, got {name!r}",
                                  field="method")
        return base, int(arg)
    if name in ("direct", "im2col", "strassen", "fft"):
        return name, 0
    raise StationaryError(f"unknown method {name!r}; known: {', '.join(BASE_METHODS)}", field="method")


def why_not(method: str, spec: ConvSpec) -> str | None:
    """Why `method` cannot compute `spec`, or None when it can."""
    base, _ = parse_method(method)
    if base == "winograd" and not spec.unit_stride:
        return f"winograd needs stride 1 and dilation 1, this layer has stride {spec.stride} and " \
               f"dilation {spec.dilation}"
    return None


def applicable(spec: ConvSpec, methods: tuple[str, ...] = DEFAULT_METHODS) -> tuple[str, ...]:
    """The methods of `methods` that can compute `spec`."""
    return tuple(m for m in methods if why_not(m, spec) is None)


def require(method: str, spec: ConvSpec) -> None:
    """Raise one clear error when `method` cannot do `spec`, naming the methods that can."""
    reason = why_not(method, spec)
    if reason:
        raise StationaryError(f"layer {spec.name}: {reason}; methods that can: "
                              f"{', '.join(applicable(spec))}", field="method")


def convolve(method: str, x: np.ndarray, w: np.ndarray, spec: ConvSpec, options: Options | None = None) -> np.ndarray:
    """Run `method` on inputs [N, G.C, H, W] and weights [G.M, C, R, S]; groups run one after another."""
    options = options or Options()
    require(method, spec)
    spec.check_operands(x, w)
    base, m = parse_method(method)
    outs = []
    for g in range(spec.G):
        xg = x[:, g * spec.C:(g + 1) * spec.C]
        wg = w[g * spec.M:(g + 1) * spec.M]
        if base == "direct":
            outs.append(direct_conv(xg, wg, spec))
        elif base == "im2col":
            outs.append(im2col_conv(xg, wg, spec))
        elif base == "strassen":
            cutoff = options.strassen_cutoff
            outs.append(im2col_conv(xg, wg, spec, gemm=partial(strassen_matmul, cutoff=cutoff)))
        elif base == "winograd":
            outs.append(winograd_conv(xg, wg, spec, m))
        else:
            outs.append(fft_conv(xg, wg, spec, options.fft_size))
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)
