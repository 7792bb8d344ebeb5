"""Run Stream (stream-dse 2.1.1) on its quick-start case: the two-conv test workload (1x8x32x32 input, 16 then 32
output channels, 3x3) on its `tpu_like_quad_core` example hardware, mapping auto-generated (its README's Quick
Start); print one JSON line with the wall time, the latency in cycles per fused group, and the layer shapes.
Runs inside Stream's venv, called by bench_stream.py and bench_fused_peers.py.

    /work/peers/stream/bin/python benchmarks/stream_peer.py [--hardware tpu_like_quad_core] [--time-limit 120]
        [--dtype bf16|i8] [--fusion derived|per-layer]

`--hardware tpu_like_single_core` builds (in a temporary folder) one `tpu_like` core and the `offchip` DRAM core
of Stream's examples on one bus: the single-core case bench_fused_peers.py compares like for like. `--fusion
per-layer` passes Stream's `fusion_cut_points: per-layer` (one fused group per layer: layer by layer); `derived`
lets its mapping generator choose the groups (one group for this chain). The JSON adds Stream's `energy` family
report (pJ) and its off-chip traffic (words of 8 bits per tensor, from its memory-access estimate).
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

SINGLE_CORE = "tpu_like_single_core"
SINGLE_CORE_YAML = """name: tpu_like_single_core
cores:
  0: ./cores/tpu_like.yaml
  1: ./cores/offchip.yaml
core_coordinates:
  0: [0, 0]
  1: [1, 0]
offchip_core_id: 1
unit_energy_cost: 0
core_connectivity:
  - type: bus
    cores: [0, 1]
    bandwidth: 128
"""


def config(dtype: str) -> TwoConvWorkloadConfig:
    """The quick start's two convolutions with every tensor in `dtype` (Stream's quick start: bf16)."""
    return TwoConvWorkloadConfig(batch_size=1, height=32, width=32, in_channels=8, out_channels_1=16,
                                 out_channels_2=32, kernel_size=3, in_dtype=dtype, weight_dtype=dtype)


def hardware(name: str, tmp: str) -> str:
    """The path of a Stream example hardware, or of the single-core one written into `tmp` (Stream's validator
    takes core files by relative path only, so its example cores are copied next to it)."""
    examples = os.path.join(os.path.dirname(stream.__file__), "inputs", "examples", "hardware")
    if name != SINGLE_CORE:
        return os.path.join(examples, f"{name}.yaml")
    shutil.copytree(os.path.join(examples, "cores"), os.path.join(tmp, "cores"))
    path = os.path.join(tmp, f"{SINGLE_CORE}.yaml")
    with open(path, "w") as f:
        f.write(SINGLE_CORE_YAML)
    return path


def offchip_words(est, word_bits: int = 8) -> dict[str, dict[str, float]]:
    """Stream's off-chip reads and writes per tensor in words, summed over its fused groups: its counts are
    port-wide transfers (bits = count x port bandwidth)."""
    out: dict[str, dict[str, float]] = {}
    for ir in est.context.get("group_memory_accesses").values():
        for core in (ir or {}).get("cores", []):
            if not core["is_offchip"]:
                continue
            for t in core["tensors"]:
                row = out.setdefault(t["tensor"], {"read": 0.0, "write": 0.0})
                row["read"] += t["read"] * core["read_bandwidth"] / word_bits
                row["write"] += t["write"] * core["write_bandwidth"] / word_bits
    return out


def find(tree, key: str):
    """The first value under `key` anywhere in a nested dict/list (Stream's allocation IR), else None."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for x in tree:
            got = find(x, key)
            if got is not None:
                return got
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hardware", default="tpu_like_quad_core", help="a Stream example hardware (stem)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="Stream's limit per allocation solve (s)")
    ap.add_argument("--dtype", default="bf16", choices=("bf16", "i8", "f16", "f32"), help="every tensor's type")
    ap.add_argument("--fusion", default="derived", choices=("derived", "per-layer"),
                    help="fused groups: Stream's mapping generator's (derived) or one per layer")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    cfg = config(args.dtype)
    stage_options = {"fusion_cut_points": "per-layer"} if args.fusion == "per-layer" else {}
    with tempfile.TemporaryDirectory() as tmp:
        hw = hardware(args.hardware, tmp)
        made = make_2_conv_workload(cfg)  # Stream's builder writes next to itself; keep our copy in tmp
        onnx_path = shutil.move(made, os.path.join(tmp, os.path.basename(made)))
        start = time.perf_counter()
        est = evaluate_mapping(hw, onnx_path, os.path.join(tmp, "out"),
                               options=SolveOptions(artifacts=False, time_limit_s=args.time_limit,
                                                    stage_options=stage_options))
        seconds = time.perf_counter() - start
    groups = est.context.get("group_allocations")
    energy = [find(groups[i], "energy") for i in sorted(groups)]
    print(json.dumps({"seconds": seconds, "cycles": float(est.cycles),
                      "group_cycles": [float(c) for c in est.group_cycles],
                      "layers": [{"M": cfg.out_channels_1, "C": cfg.in_channels},
                                 {"M": cfg.out_channels_2, "C": cfg.out_channels_1}],
                      "P": cfg.height, "Q": cfg.width, "R": cfg.kernel_size,
                      "hardware": args.hardware, "dtype": args.dtype, "fusion": args.fusion,
                      "group_energy": energy,
                      "group_bottleneck": [find(groups[i], "bottleneck") for i in sorted(groups)],
                      "offchip_words": offchip_words(est)}, default=str))


if __name__ == "__main__":
    main()
