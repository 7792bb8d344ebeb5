"""Whole-network mapping search against ZigZag 3.9.1 on ResNet-18 and ZigZag's `tpu_like` accelerator.

    python3 benchmarks/bench_zigzag.py [--layers N] [--budget 20000] [--peer /work/peers/zigzag]

ZigZag runs its own default search (LOMA temporal mapping, lpf_limit 6, its fixed K32 x C32 spatial
mapping from mapping/tpu_like.yaml, objective energy) in its venv through benchmarks/zigzag_peer.py on its
shipped resnet18.onnx. stationary maps the zoo's resnet18 (the same 21 Conv/Gemm shapes, batch 1) on
benchmarks/zigzag_tpu_like.yaml, the same hardware with ZigZag's per-access energies, twice: `matched`
(spatial dims restricted to ZigZag's: M on X, C on Y) and `free` (any spatial mapping, dataflow-seeded).
Prints wall time and total energy per side and the ratios. Never run in CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.arch.native import load_arch
from stationary.mapper.network import map_network, network_totals
from stationary.mapper.search import SearchOptions
from stationary.mapping.constraints import Constraint
from stationary.workload.network import Network
from stationary.workload.zoo import get_model

ARCH = ROOT / "benchmarks" / "zigzag_tpu_like.yaml"


def shape_of_zigzag(sizes: dict[str, int]) -> tuple[int, ...]:
    """(M, C, P, Q, R, S) of a ZigZag layer (a Gemm is a 1x1 layer)."""
    return (sizes["K"], sizes["C"], sizes.get("OY", 1), sizes.get("OX", 1), sizes.get("FY", 1), sizes.get("FX", 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=0, help="only the first N MAC layers (0: all 21)")
    ap.add_argument("--budget", type=int, default=20_000, help="stationary's evaluations per distinct shape")
    ap.add_argument("--peer", default="/work/peers/zigzag", help="ZigZag venv")
    args = ap.parse_args()
    cmd = [str(Path(args.peer) / "bin" / "python"), str(ROOT / "benchmarks" / "zigzag_peer.py")]
    if args.layers:
        cmd += ["--layers", str(args.layers)]
    peer = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])

    arch = load_arch(ARCH)
    full = get_model("resnet18")
    layers = full.mac_layers()[: args.layers or None]
    net = Network(full.name, tuple(replace(x, inputs=()) for x in layers)) if args.layers else full
    ours = {(x.M, x.C, x.P, x.Q, x.R, x.S) for x in layers}
    theirs = {shape_of_zigzag(x["sizes"]) for x in peer["layers"]}
    if ours != theirs:
        raise SystemExit(f"layer shapes differ: stationary {sorted(ours)} vs ZigZag {sorted(theirs)}")
    matched = [Constraint("SRAM_2MB", "spatial", permutation=("M", "C"), split=1, source="ZigZag's K x C")]
    runs = {"matched": (matched, SearchOptions(budget=args.budget, seed_dataflows=False)),
            "free": ([], SearchOptions(budget=args.budget))}
    zz_e, zz_t = peer["energy_pj"], peer["seconds"]
    macs = sum(x["macs"] for x in peer["layers"])
    print(f"ResNet-18 ({len(layers)} MAC layers, {macs / 1e9:.2f} GMAC) on ZigZag's tpu_like")
    print(f"ZigZag 3.9.1 (LOMA, lpf 6): {zz_t:8.1f} s  {zz_e / 1e6:9.2f} uJ  {zz_e / macs:.3f} pJ/MAC")
    for name, (cs, opts) in runs.items():
        t = time.perf_counter()
        plans = map_network(net, arch, "free", opts, constraints=cs, jobs=1)
        seconds = time.perf_counter() - t
        tot = network_totals(plans)
        print(f"stationary {name:8s}:       {seconds:8.1f} s  {tot['energy_pj'] / 1e6:9.2f} uJ  "
              f"{tot['energy_pj'] / tot['macs']:.3f} pJ/MAC | {zz_t / seconds:5.1f}x faster, energy "
              f"{tot['energy_pj'] / zz_e:.3f}x ZigZag's ({tot['distinct_shapes']} shapes, "
              f"{tot['evaluated']:,} mappings scored)", flush=True)


if __name__ == "__main__":
    main()
