"""Stream (stream-dse 2.1.1) quick-start against stationary on the same two conv layers.

    python3 benchmarks/bench_stream.py [--budget 20000] [--time-limit 120] [--peer DIR]

Stream runs its README's Quick Start in its venv through benchmarks/stream_peer.py: its two-conv test workload
(1x8x32x32 input, conv 3x3 to 16 then 32 channels, same padding) on its `tpu_like_quad_core` example
(four ZigZag tpu_like cores), mapping auto-generated, layer-fused scheduling; it reports latency (cycles) and its
wall time. stationary maps the same two layers layer by layer on benchmarks/zigzag_tpu_like.yaml (ONE tpu_like
core, as translated for bench_zigzag.py: not Stream's four-core system, so latencies are not comparable 1:1) and
prints energy, DRAM traffic and cycles per layer, then the two layers fused (`--fuse auto`). The like-for-like
fused comparison (Stream on one core, fused and per layer) is benchmarks/bench_fused_peers.py. Never run in CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.arch.load import load_arch  # noqa: E402
from stationary.errors import StationaryError  # noqa: E402
from stationary.mapper.search import SearchOptions, search  # noqa: E402
from stationary.workload.layer import Layer, LayerKind  # noqa: E402

ARCH = ROOT / "benchmarks" / "zigzag_tpu_like.yaml"


def layers_of(peer: dict) -> list[Layer]:
    """Stream's two conv layers as stationary layers (3x3, stride 1, same padding, batch 1)."""
    p, q, r = peer["P"], peer["Q"], peer["R"]
    return [Layer(f"conv{i + 1}", LayerKind.CONV, M=x["M"], C=x["C"], P=p, Q=q, R=r, S=r, H=p, W=q,
                  padding=(r // 2, r // 2)) for i, x in enumerate(peer["layers"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=20_000, help="stationary's evaluations per layer")
    ap.add_argument("--time-limit", type=float, default=120.0, help="Stream's limit per allocation solve (s)")
    ap.add_argument("--peer", default="/work/peers/stream", help="Stream venv")
    ap.add_argument("--peer-json", help="reuse stream_peer.py's output from an earlier run (its time is that run's)")
    args = ap.parse_args()
    if args.peer_json:
        peer = json.loads(Path(args.peer_json).read_text().strip().splitlines()[-1])
    else:
        cmd = [str(Path(args.peer) / "bin" / "python"), str(ROOT / "benchmarks" / "stream_peer.py"),
               "--time-limit", str(args.time_limit)]
        peer = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
                          .splitlines()[-1])
    print("Stream 2.1.1 quick-start: two-conv workload on tpu_like_quad_core (layer-fused, auto mapping)")
    print(f"  Stream: {peer['seconds']:.1f} s, latency {peer['cycles']:.0f} cycles "
          f"(groups {', '.join(f'{c:.0f}' for c in peer['group_cycles'])}); energy and DRAM traffic: not reported "
          f"by its evaluate_mapping without the energy family")
    arch = load_arch(ARCH)
    total_e = 0.0
    total_dram = 0
    t = time.perf_counter()
    for layer in layers_of(peer):
        found = search(layer.loop_nest(), arch, None, SearchOptions(budget=args.budget))
        r = found.result
        dram = r.level("DRAM")
        words = sum(tc.reads + tc.fills + tc.updates for tc in dram.tensors.values())
        total_e += r.energy_pj
        total_dram += words
        print(f"  stationary layer by layer, {layer.name} (M{layer.M} C{layer.C} {layer.P}x{layer.Q} 3x3): "
              f"{r.energy_pj / 1e6:.3f} uJ, DRAM {words:,} words, {r.cycles:,} cycles (one core)")
    seconds = time.perf_counter() - t
    print(f"  stationary layer by layer, total: {seconds:.1f} s, {total_e / 1e6:.3f} uJ, DRAM {total_dram:,} words"
          f" | {peer['seconds'] / seconds:.1f}x faster than Stream")
    # the same two layers fused (`stationary evaluate --fuse auto`'s plan_fusion); like for like against Stream's
    # own fused and per-layer runs on ONE core: benchmarks/bench_fused_peers.py
    from bench_fused_peers import ours, two_conv

    try:
        _, _, plan, fused_s = ours(two_conv(peer), ARCH, args.budget)
    except StationaryError as e:  # this arch's SRAM bypasses weights: the fused inner arch has no weight source
        print(f"  stationary --fuse auto (one core): fails on {ARCH.name}: {e}")
        return
    groups = ", ".join("+".join(g.names) + (f" (tile {g.tile[0]}x{g.tile[1]}, {g.policy})" if g.tile else "")
                       for g in plan.groups)
    print(f"  stationary --fuse auto (one core): {fused_s:.1f} s, groups {groups}: {plan.energy_pj / 1e6:.3f} uJ, "
          f"DRAM {plan.dram_words:,} words, {plan.cycles:,} cycles (layer by layer "
          f"{plan.layer_by_layer_energy_pj / 1e6:.3f} uJ, {plan.layer_by_layer_dram_words:,} words)")


if __name__ == "__main__":
    main()
