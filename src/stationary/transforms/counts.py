"""Closed-form operation counts and memory per method and layer (checked against instrumented runs).

Conventions (all real, scalar operations):
  multiplications            products of a data value with a weight value (the survey's metric);
                             FFT: 4 real multiplications per complex pointwise product.
  transform_multiplications  multiplications by constants inside transforms (Winograd matrix entries other
                             than 0 and +-1; FFT twiddles).
  additions                  every addition or subtraction, transforms and accumulations included.
  workspace_bytes            peak extra memory beyond inputs, weights and outputs (padded copies, the
                             Toeplitz matrix, transformed tiles, Strassen temporaries).
Exact for direct, im2col, strassen and winograd (tests count the operations of real runs); FFT's pointwise
stage and overlap-add are exact, its FFTs are modelled as a radix-2 real FFT: L.log2(L) multiplications and
1.5.L.log2(L) additions for L points (`transform_counts_are_model`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from stationary.transforms.fft import DEFAULT_FFT_SIZE, dilated_extent, fft_geometry
from stationary.transforms.methods import Options, parse_method, require
from stationary.transforms.spec import ConvSpec
from stationary.transforms.strassen import DEFAULT_CUTOFF
from stationary.transforms.winograd import tiles_along, toom_cook, transform_cost


@dataclass(frozen=True)
class OpCounts:
    """What one method costs on one layer (all groups)."""

    method: str
    multiplications: int
    transform_multiplications: int
    additions: int
    workspace_bytes: int
    operand_bytes: int  # inputs + weights + outputs, the least any method must touch
    transform_counts_are_model: bool = False
    details: dict[str, float] = field(default_factory=dict)

    @property
    def total_ops(self) -> int:
        """All arithmetic: multiplications of both kinds plus additions."""
        return self.multiplications + self.transform_multiplications + self.additions

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["total_ops"] = self.total_ops
        return d


@lru_cache(maxsize=4096)
def strassen_counts(m: int, k: int, n: int, cutoff: int = DEFAULT_CUTOFF) -> tuple[int, int, int]:
    """(multiplications, additions, peak workspace elements) of `strassen_matmul` on [m,k] @ [k,n].

    T(m,k,n) = 7 T(m/2,k/2,n/2) + 5(m/2)(k/2) + 5(k/2)(n/2) + 8(m/2)(n/2) additions above the cut-off
    (odd sizes padded to even first); for powers of two: 7^L cutoff^3 multiplications at L levels.
    """
    if min(m, k, n) <= cutoff:
        return m * k * n, m * (k - 1) * n, 0
    h, j, l = (m + 1) // 2, (k + 1) // 2, (n + 1) // 2
    sub_mults, sub_adds, sub_ws = strassen_counts(h, j, l, cutoff)
    pads = (2 * h * 2 * j if (m % 2 or k % 2) else 0) + (2 * j * 2 * l if (k % 2 or n % 2) else 0)
    workspace = pads + h * j + j * l + 7 * h * l + 4 * h * l + sub_ws  # operands, 7 products, result
    return 7 * sub_mults, 7 * sub_adds + 5 * h * j + 5 * j * l + 8 * h * l, workspace


def _operand_bytes(spec: ConvSpec, itemsize: int) -> int:
    n_in = spec.N * spec.G * spec.C * spec.H * spec.W
    n_w = spec.G * spec.M * spec.C * spec.R * spec.S
    n_out = spec.N * spec.G * spec.M * spec.P * spec.Q
    return (n_in + n_w + n_out) * itemsize


def _padded_elements(spec: ConvSpec) -> int:
    """Elements of the zero-padded input copy (0 when the layer has no padding)."""
    if spec.padding == (0, 0):
        return 0
    return spec.N * spec.G * spec.C * (spec.H + 2 * spec.padding[0]) * (spec.W + 2 * spec.padding[1])


def count(method: str, spec: ConvSpec, itemsize: int = 4, options: Options | None = None) -> OpCounts:
    """Closed-form counts of `method` on `spec` with `itemsize`-byte values."""
    options = options or Options()
    require(method, spec)
    base, m = parse_method(method)
    N, G, M, C, P, Q, R, S = spec.N, spec.G, spec.M, spec.C, spec.P, spec.Q, spec.R, spec.S
    opb = _operand_bytes(spec, itemsize)
    pad_el = _padded_elements(spec)
    direct_mults = N * G * M * C * P * Q * R * S
    direct_adds = N * G * M * P * Q * (C * R * S - 1)
    toeplitz = C * R * S * N * P * Q  # per group
    if base == "direct":
        return OpCounts(method, direct_mults, 0, direct_adds, pad_el * itemsize, opb)
    if base in ("im2col", "strassen"):
        details = {"toeplitz_rows": C * R * S, "toeplitz_cols": N * P * Q, "toeplitz_elements": G * toeplitz,
                   "toeplitz_redundancy": toeplitz / (N * C * spec.H * spec.W)}
        ws = pad_el + toeplitz * G  # groups run one after another; the list of outputs is the result
        if base == "im2col":
            return OpCounts(method, direct_mults, 0, direct_adds, ws * itemsize, opb, details=details)
        mults, adds, st_ws = strassen_counts(M, C * R * S, N * P * Q, options.strassen_cutoff)
        details["strassen_cutoff"] = options.strassen_cutoff
        details["multiplication_ratio_vs_gemm"] = mults / (M * C * R * S * N * P * Q)
        return OpCounts(method, G * mults, 0, G * adds, (ws + st_ws) * itemsize, opb, details=details)
    if base == "winograd":
        fr, fs = toom_cook(m, R), toom_cook(m, S)
        ar, as_ = fr.alpha, fs.alpha
        tiles = N * tiles_along(P, m) * tiles_along(Q, m)
        (bm_r, ba_r), (bm_s, ba_s) = transform_cost(fr.BT), transform_cost(fs.BT)
        (gm_r, ga_r), (gm_s, ga_s) = transform_cost(fr.G), transform_cost(fs.G)
        (am_r, aa_r), (am_s, aa_s) = transform_cost(fr.AT), transform_cost(fs.AT)
        in_m, in_a = C * tiles * (as_ * bm_r + ar * bm_s), C * tiles * (as_ * ba_r + ar * ba_s)
        w_m, w_a = M * C * (S * gm_r + ar * gm_s), M * C * (S * ga_r + ar * ga_s)
        out_m, out_a = M * tiles * (as_ * am_r + m * am_s), M * tiles * (as_ * aa_r + m * aa_s)
        mults = ar * as_ * M * C * tiles
        adds = ar * as_ * M * (C - 1) * tiles
        ext = N * C * (tiles_along(P, m) * m + R - 1) * (tiles_along(Q, m) * m + S - 1)
        ws = (pad_el // G if pad_el else 0) + ext + C * tiles * ar * as_ + M * C * ar * as_ + M * tiles * ar * as_
        details = {"tile_outputs": m * m, "tiles": G * tiles, "multiplications_per_tile": ar * as_,
                   "input_transform_ops": G * (in_m + in_a), "filter_transform_ops": G * (w_m + w_a),
                   "output_transform_ops": G * (out_m + out_a),
                   "multiplication_ratio_vs_direct": G * mults / direct_mults}
        return OpCounts(method, G * mults, G * (in_m + w_m + out_m), G * (adds + in_a + w_a + out_a),
                        ws * itemsize, opb, details=details)
    # fft
    geo = fft_geometry(spec, options.fft_size)
    tiles = geo["tiles_h"] * geo["tiles_w"]
    fh, fw = geo["fft_h"], geo["fft_w"]
    bins = fh * (fw // 2 + 1)
    points = fh * fw
    fft_m, fft_a = points * math.log2(points), 1.5 * points * math.log2(points)
    ffts = N * C * tiles + M * C + N * M * tiles  # inputs, filters, inverse on outputs
    pointwise = N * M * C * tiles * bins
    mults = 4 * pointwise
    adds = 2 * pointwise + 2 * N * M * (C - 1) * tiles * bins + N * M * tiles * points
    rd, sd = dilated_extent(spec)
    work_item = 8 if itemsize == 8 else 4
    full = N * M * (geo["tiles_h"] * geo["block_h"] + rd - 1) * (geo["tiles_w"] * geo["block_w"] + sd - 1)
    ws_el = (N * C * tiles * geo["block_h"] * geo["block_w"] + M * C * rd * sd  # tiled input, filter
             + 2 * (N * C * tiles * bins + M * C * bins + N * M * tiles * bins)  # spectra (complex)
             + N * M * tiles * points + full)
    ws = (pad_el // G if pad_el else 0) * itemsize + ws_el * work_item
    details = {**{k: float(v) for k, v in geo.items()}, "ffts": G * ffts,
               "multiplication_ratio_vs_direct": G * mults / direct_mults}
    return OpCounts(method, G * mults, round(G * ffts * fft_m), round(G * (adds + ffts * fft_a)), ws, opb,
                    transform_counts_are_model=True, details=details)


__all__ = ["DEFAULT_FFT_SIZE", "OpCounts", "count", "strassen_counts"]
