"""Time the NumPy kernels against torch.nn.functional.conv2d on the same inputs, in one run.

Ratios are NumPy seconds / torch seconds (> 1: slower than PyTorch); each is the best of `repeats` runs,
taken alternately (torch, kernel, torch, kernel, ...) so that neither profits from a quieter moment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

from stationary.errors import StationaryError
from stationary.transforms.methods import DEFAULT_METHODS, Options, applicable, convolve
from stationary.transforms.roofline import best_seconds
from stationary.transforms.select import DTYPES
from stationary.transforms.spec import ConvSpec, random_operands

# Representative shapes: VGG-16 conv3_2 and conv5_1 (channels cut to 64), an AlexNet-like 5x5, a stride-2
# 3x3 (ResNet downsampling) and a 1x1 (bottleneck); small enough that a bench runs in seconds.
BENCH_SPECS = (
    ConvSpec(1, 1, 64, 64, 56, 56, 3, 3, padding=(1, 1), name="vgg16-conv3_2/4"),
    ConvSpec(1, 1, 64, 64, 14, 14, 3, 3, padding=(1, 1), name="vgg16-conv5_1/8"),
    ConvSpec(1, 1, 32, 32, 27, 27, 5, 5, padding=(2, 2), name="5x5-27"),
    ConvSpec(1, 1, 64, 64, 56, 56, 3, 3, stride=(2, 2), padding=(1, 1), name="3x3-s2-56"),
    ConvSpec(1, 1, 64, 128, 28, 28, 1, 1, name="1x1-28"),
)


@dataclass(frozen=True)
class BenchRow:
    """One kernel against PyTorch on one shape."""

    layer: str
    shape: str
    method: str
    numpy_seconds: float
    torch_seconds: float
    max_abs_error_vs_torch: float

    @property
    def ratio_vs_torch(self) -> float:
        return self.numpy_seconds / self.torch_seconds

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ratio_vs_torch": self.ratio_vs_torch}


def bench(specs: tuple[ConvSpec, ...] = BENCH_SPECS, methods: tuple[str, ...] = DEFAULT_METHODS,
          dtype: str = "float32", repeats: int = 5, options: Options | None = None) -> list[BenchRow]:
    """Every applicable method on every spec, with PyTorch's conv2d timed on the same arrays."""
    options = options or Options()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        raise StationaryError("`transforms bench` compares with PyTorch: pip install 'stationary[torch]'",
                              field="torch") from None
    if dtype == "float16":
        raise StationaryError("bench times float32/float64 (PyTorch's CPU float16 conv is not a fair peer)",
                              field="--dtype")
    rows = []
    for spec in specs:
        x, w = random_operands(spec, DTYPES[dtype])
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)

        def peer(tx: torch.Tensor = tx, tw: torch.Tensor = tw, spec: ConvSpec = spec) -> np.ndarray:
            with torch.no_grad():
                return F.conv2d(tx, tw, stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                                groups=spec.G).numpy()

        ref = peer()
        for m in applicable(spec, methods):
            got = convolve(m, x, w, spec, options)
            err = float(np.max(np.abs(got.astype(np.float64) - ref)))
            run = partial(convolve, m, x, w, spec, options)
            # alternate peer and kernel so both see the same machine state (BLAS threads, caches)
            numpy_s, torch_s = float("inf"), float("inf")
            for _ in range(repeats):
                torch_s = min(torch_s, best_seconds(peer, 1, warmup=True))
                numpy_s = min(numpy_s, best_seconds(run, 1, warmup=True))
            rows.append(BenchRow(spec.name, spec.describe(), m, numpy_s, torch_s, err))
    return rows
