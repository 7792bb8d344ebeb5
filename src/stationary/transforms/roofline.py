"""A quick roofline of this machine: peak multiply-accumulates per second and memory bandwidth.

Measured, not looked up: the best of a few large GEMMs (MACs = m.k.n) and of a few large array copies
(bytes read + written). A layer and method then sit at intensity = multiplications / bytes touched, and
the roofline bounds their time by max(multiplications / peak, bytes / bandwidth). GPU numbers come from
torch.cuda when a GPU is present; they are never required.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from stationary.transforms.counts import OpCounts


@dataclass(frozen=True)
class Roofline:
    """Peak compute and bandwidth of one device, as measured."""

    device: str
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    dtype: str

    @property
    def ridge_macs_per_byte(self) -> float:
        """Intensity above which the device is compute-bound."""
        return self.peak_macs_per_s / self.bandwidth_bytes_per_s

    def place(self, c: OpCounts) -> dict[str, float | str]:
        """Where `c` sits: intensity, roofline-bound seconds and which roof binds it."""
        nbytes = c.operand_bytes + c.workspace_bytes
        intensity = c.multiplications / nbytes
        compute_s = c.multiplications / self.peak_macs_per_s
        memory_s = nbytes / self.bandwidth_bytes_per_s
        return {"intensity_macs_per_byte": intensity, "roofline_seconds": max(compute_s, memory_s),
                "bound": "compute" if compute_s >= memory_s else "memory"}

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ridge_macs_per_byte": self.ridge_macs_per_byte}


def best_seconds(fn: Callable[[], object], repeats: int, warmup: bool = False) -> float:
    """Shortest wall-clock time of `repeats` calls of `fn` (after one untimed call if `warmup`)."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_cpu(dtype: type = np.float32, gemm_size: int = 1024, copy_mib: int = 128, repeats: int = 3) -> Roofline:
    """CPU peak MACs/s (NumPy GEMM) and bandwidth (array copy), in well under a second on most machines."""
    rng = np.random.default_rng(0)
    a: np.ndarray = rng.standard_normal((gemm_size, gemm_size)).astype(dtype)
    b: np.ndarray = rng.standard_normal((gemm_size, gemm_size)).astype(dtype)
    a @ b  # warm-up (thread pool, caches)
    gemm_s = best_seconds(lambda: a @ b, repeats)
    src = np.ones(copy_mib * 2**20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    copy_s = best_seconds(lambda: np.copyto(dst, src), repeats)
    return Roofline("cpu (numpy)", gemm_size**3 / gemm_s, 2 * src.nbytes / copy_s, np.dtype(dtype).name)


def measure_gpu(gemm_size: int = 4096, copy_mib: int = 512, repeats: int = 5) -> Roofline | None:
    """The same two numbers on torch's CUDA device, or None when torch or a GPU is missing."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    dev = torch.device("cuda")
    a = torch.randn(gemm_size, gemm_size, device=dev)
    b = torch.randn(gemm_size, gemm_size, device=dev)
    src = torch.ones(copy_mib * 2**20 // 4, device=dev)
    dst = torch.empty_like(src)

    def timed(fn: Callable[[], object]) -> float:
        fn()
        torch.cuda.synchronize()
        def run() -> None:
            fn()
            torch.cuda.synchronize()
        return best_seconds(run, repeats)

    gemm_s = timed(lambda: a @ b)
    copy_s = timed(lambda: dst.copy_(src))
    return Roofline(f"cuda ({torch.cuda.get_device_name(0)})", gemm_size**3 / gemm_s,
                    2 * src.numel() * 4 / copy_s, "float32")
