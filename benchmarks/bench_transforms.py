"""NumPy transform kernels vs torch.nn.functional.conv2d, measured in the same run; prints ratios.

Run: PYTHONPATH=src python3 benchmarks/bench_transforms.py [--dtype float32] [--repeats 5]
Ratios are NumPy seconds / torch seconds (> 1 means slower than PyTorch). Never asserted in tests.
"""

from __future__ import annotations

import argparse
import os

from stationary.transforms.bench import BENCH_SPECS, bench


def main() -> None:
    """Print one line per shape and method with both timings and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import torch

    print(f"cores {os.cpu_count()}, torch threads {torch.get_num_threads()}, dtype {args.dtype}")
    print(f"{'layer':18} {'method':11} {'numpy_s':>10} {'torch_s':>10} {'ratio':>8} {'max_abs_err':>11}")
    for r in bench(BENCH_SPECS, dtype=args.dtype, repeats=args.repeats):
        print(f"{r.layer:18} {r.method:11} {r.numpy_seconds:10.5f} {r.torch_seconds:10.5f} "
              f"{r.ratio_vs_torch:7.2f}x {r.max_abs_error_vs_torch:11.1e}")


if __name__ == "__main__":
    main()
