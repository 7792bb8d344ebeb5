"""FFT convolution with overlap-add tiling: pointwise products in the frequency domain.

The input is cut into blocks of `block` x `block`; each block's full linear convolution with the flipped
(and, for dilation, zero-stuffed) filter is an FFT of (block + R_dilated - 1) points per side, and the
block results are added where they overlap. Stride > 1 computes the stride-1 output and keeps every
stride-th value (correct, but the work is that of stride 1: FFT does not profit from stride).
"""

from __future__ import annotations

import numpy as np

from stationary.errors import StationaryError
from stationary.transforms.direct import pad_input
from stationary.transforms.spec import ConvSpec

DEFAULT_FFT_SIZE = 64  # largest FFT length per side before the input is tiled (overlap-add)


def dilated_extent(spec: ConvSpec) -> tuple[int, int]:
    """Filter extent (rows, cols) once dilation spreads its taps."""
    return spec.dilation[0] * (spec.R - 1) + 1, spec.dilation[1] * (spec.S - 1) + 1


def fft_geometry(spec: ConvSpec, fft_size: int = DEFAULT_FFT_SIZE) -> dict[str, int]:
    """Blocks, block size and FFT size per axis of the overlap-add plan."""
    rd, sd = dilated_extent(spec)
    hp, wp = spec.H + 2 * spec.padding[0], spec.W + 2 * spec.padding[1]
    geo: dict[str, int] = {}
    for axis, size, k in (("h", hp, rd), ("w", wp, sd)):
        block = size if size + k - 1 <= fft_size else max(fft_size - k + 1, 1)
        geo[f"block_{axis}"] = block
        geo[f"tiles_{axis}"] = -(-size // block)
        geo[f"fft_{axis}"] = block + k - 1
    return geo


def fft_conv(x: np.ndarray, w: np.ndarray, spec: ConvSpec, fft_size: int = DEFAULT_FFT_SIZE) -> np.ndarray:
    """One group: [N, C, H, W] * [M, C, R, S] -> [N, M, P, Q] via rfft2 products and overlap-add."""
    if x.dtype == object:
        raise StationaryError("FFT convolution cannot run on instrumented scalars; its counts are modelled",
                              field="method")
    work = np.float64 if x.dtype == np.float64 else np.float32  # NumPy's FFT has no float16
    xp = pad_input(x, spec).astype(work, copy=False)
    rd, sd = dilated_extent(spec)
    kern = np.zeros((w.shape[0], spec.C, rd, sd), dtype=work)
    kern[:, :, ::spec.dilation[0], ::spec.dilation[1]] = w
    kern = kern[:, :, ::-1, ::-1]  # correlation = convolution with the flipped filter
    g = fft_geometry(spec, fft_size)
    bh, bw, th, tw, fh, fw = (g[k] for k in ("block_h", "block_w", "tiles_h", "tiles_w", "fft_h", "fft_w"))
    n, c, hp, wp = xp.shape
    mo = w.shape[0]
    tiled = np.zeros((n, c, th * bh, tw * bw), dtype=work)
    tiled[:, :, :hp, :wp] = xp
    blocks = tiled.reshape(n, c, th, bh, tw, bw).transpose(0, 1, 2, 4, 3, 5)  # N, C, Th, Tw, bh, bw
    xf = np.fft.rfft2(blocks, s=(fh, fw))  # [N, C, Th, Tw, fh, fw//2+1]
    kf = np.fft.rfft2(kern, s=(fh, fw))  # [M, C, fh, fw//2+1]
    bins = fh * (fw // 2 + 1)
    xf = xf.reshape(n, c, th * tw, bins).transpose(3, 1, 0, 2).reshape(bins, c, n * th * tw)
    kf = kf.reshape(mo, c, bins).transpose(2, 0, 1)  # [bins, M, C]
    yf = (kf @ xf).reshape(fh, fw // 2 + 1, mo, n, th, tw).transpose(3, 2, 4, 5, 0, 1)
    yt = np.fft.irfft2(yf, s=(fh, fw))  # [N, M, Th, Tw, fh, fw]
    full = np.zeros((n, mo, th * bh + rd - 1, tw * bw + sd - 1), dtype=work)
    for i in range(th):
        for j in range(tw):
            full[:, :, i * bh:i * bh + fh, j * bw:j * bw + fw] += yt[:, :, i, j]
    valid = full[:, :, rd - 1:hp, sd - 1:wp]
    out = valid[:, :, ::spec.stride[0], ::spec.stride[1]][:, :, :spec.P, :spec.Q]
    return np.ascontiguousarray(out).astype(x.dtype, copy=False)
