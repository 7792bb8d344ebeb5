"""Run Stream (stream-dse 2.1.1) on its quick-start case: the two-conv test workload (1x8x32x32 input, 16 then 32
output channels, 3x3) on its `tpu_like_quad_core` example hardware, mapping auto-generated (its README's Quick
Start); print one JSON line with the wall time, the latency in cycles per fused group, and the layer shapes.
Runs inside Stream's venv, called by bench_stream.py.

    /work/peers/stream/bin/python benchmarks/stream_peer.py [--hardware tpu_like_quad_core] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time

import stream
from stream.api import SolveOptions, evaluate_mapping
from stream.inputs.testing.workload.make_2_conv import TwoConvWorkloadConfig, make_2_conv_workload

CONFIG = TwoConvWorkloadConfig(batch_size=1, height=32, width=32, in_channels=8, out_channels_1=16,
                               out_channels_2=32, kernel_size=3, in_dtype="bf16", weight_dtype="bf16")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hardware", default="tpu_like_quad_core", help="a Stream example hardware (stem)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="Stream's limit per allocation solve (s)")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    hw = os.path.join(os.path.dirname(stream.__file__), "inputs", "examples", "hardware", f"{args.hardware}.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        made = make_2_conv_workload(CONFIG)  # Stream's builder writes next to itself; keep our copy in tmp
        onnx_path = shutil.move(made, os.path.join(tmp, os.path.basename(made)))
        start = time.perf_counter()
        est = evaluate_mapping(hw, onnx_path, os.path.join(tmp, "out"),
                               options=SolveOptions(artifacts=False, time_limit_s=args.time_limit))
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "cycles": float(est.cycles),
                      "group_cycles": [float(c) for c in est.group_cycles],
                      "layers": [{"M": CONFIG.out_channels_1, "C": CONFIG.in_channels},
                                 {"M": CONFIG.out_channels_2, "C": CONFIG.out_channels_1}],
                      "P": CONFIG.height, "Q": CONFIG.width, "R": CONFIG.kernel_size}))


if __name__ == "__main__":
    main()
