"""Heuristic search quality at a fixed evaluation budget: energy per layer against a reference search.

    python3 benchmarks/bench_search.py [--budgets 20000,40000] [--arch eyeriss,simba_like] [--layers NAME,..]
        [--seed 0] [--out run.json] [--before run.json] [--make-reference]

A fixed layer set (AlexNet conv1-conv5; ResNet-50 conv1, two 3x3, two 1x1 and two strided 1x1 downsample
layers plus layer3_0_conv2; VGG-16 conv2_1 and conv4_1) on `eyeriss` and `simba_like`, searched with the default
`SearchOptions` (free dataflow, seed 0) at the evaluate default budget (20,000) and the map default (40,000).
Prints per layer the energy (pJ), wall and CPU seconds, and the ratio to the reference: the same search at
REFERENCE_BUDGET (10x the evaluate default), computed once with `--make-reference` and saved to
benchmarks/results/search_reference.json (so later runs are fast; the reference is whatever search code was
current when it was made, stated in the file). `--out` saves this run; `--before` prints a saved run's energy
next to this one's (before -> after, and whether any layer got worse). Never run in CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.arch.load import load_arch
from stationary.mapper.search import SearchOptions, search
from stationary.workload.layer import Layer
from stationary.workload.zoo import get_model

REFERENCE = ROOT / "benchmarks" / "results" / "search_reference.json"
REFERENCE_BUDGET = 200_000  # 10x the evaluate default budget
ARCHS = ("eyeriss", "simba_like")
LAYERS = {
    "alexnet": ("conv1", "conv2", "conv3", "conv4", "conv5"),
    "resnet50": ("conv1", "layer1_0_conv1", "layer1_0_conv2", "layer2_0_downsample", "layer3_0_conv2",
                 "layer3_1_conv1", "layer4_0_conv2", "layer4_0_downsample"),
    "vgg16": ("conv2_1", "conv4_1"),
}


def layer_set(only: set[str] | None) -> list[tuple[str, Layer]]:
    """(name as MODEL:LAYER, Layer) of the fixed set, optionally only those named."""
    out: list[tuple[str, Layer]] = []
    for model, names in LAYERS.items():
        by_name = {layer.name: layer for layer in get_model(model).mac_layers()}
        for n in names:
            key = f"{model}:{n}"
            if only is None or key in only:
                out.append((key, by_name[n]))
    return out


def run_one(layer: Layer, arch_name: str, budget: int, seed: int) -> dict[str, float | int]:
    """One search of the default options at `budget`: energy (pJ), wall and CPU seconds, evaluations."""
    arch = load_arch(arch_name)
    nest = layer.loop_nest()
    wall, cpu = time.perf_counter(), time.process_time()
    found = search(nest, arch, None, SearchOptions(budget=budget, seed=seed))
    return {"energy_pj": found.result.energy_pj, "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu, "evaluated": found.evaluated, "macs": nest.macs}


def git_head() -> str:
    """The commit this run's code is at (with '+dirty' when the tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="20000,40000")
    ap.add_argument("--arch", default=",".join(ARCHS))
    ap.add_argument("--layers", default=None, help="comma-separated MODEL:LAYER names of the set (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="save this run as JSON")
    ap.add_argument("--before", type=Path, default=None, help="a saved run to print before -> after against")
    ap.add_argument("--make-reference", action="store_true",
                    help=f"(re)compute the reference at budget {REFERENCE_BUDGET:,} and save it")
    args = ap.parse_args()
    archs = args.arch.split(",")
    only = set(args.layers.split(",")) if args.layers else None
    layers = layer_set(only)
    budgets = [int(b) for b in args.budgets.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}, code {git_head()}", flush=True)

    if args.make_reference:
        ref = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {"layers": {}}
        ref.update({"budget": REFERENCE_BUDGET, "seed": args.seed, "code": git_head()})
        for a in archs:
            for key, layer in layers:
                r = run_one(layer, a, REFERENCE_BUDGET, args.seed)
                ref["layers"][f"{a}/{key}"] = r
                print(f"reference {a:10s} {key:28s} {r['energy_pj']:16,.1f} pJ  {r['wall_s']:6.1f} s wall",
                      flush=True)
                REFERENCE.parent.mkdir(parents=True, exist_ok=True)
                REFERENCE.write_text(json.dumps(ref, indent=1) + "\n")
        return

    ref_layers = json.loads(REFERENCE.read_text())["layers"] if REFERENCE.exists() else {}
    before = json.loads(args.before.read_text())["runs"] if args.before else {}
    runs: dict[str, dict[str, float | int]] = {}
    totals = {b: [0.0, 0.0, 0.0, 0.0] for b in budgets}  # energy, wall, cpu, before-energy
    logs: dict[int, list[float]] = {b: [] for b in budgets}  # log(after / before) per layer
    worse = []
    print(f"{'arch':10s} {'layer':28s} {'budget':>7s} {'energy (pJ)':>16s} {'wall s':>7s} {'CPU s':>7s} "
          f"{'/ ref':>7s}" + (f" {'before (pJ)':>16s} {'after/before':>12s}" if before else ""))
    for a in archs:
        for key, layer in layers:
            for b in budgets:
                r = run_one(layer, a, b, args.seed)
                name = f"{a}/{key}@{b}"
                runs[name] = r
                ref = ref_layers.get(f"{a}/{key}")
                ratio = f"{r['energy_pj'] / ref['energy_pj']:7.4f}" if ref else f"{'-':>7s}"
                line = (f"{a:10s} {key:28s} {b:7d} {r['energy_pj']:16,.1f} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} "
                        f"{ratio}")
                t = totals[b]
                t[0] += float(r["energy_pj"])
                t[1] += float(r["wall_s"])
                t[2] += float(r["cpu_s"])
                if name in before:
                    old = float(before[name]["energy_pj"])
                    t[3] += old
                    line += f" {old:16,.1f} {r['energy_pj'] / old:12.4f}"
                    logs[b].append(math.log(float(r["energy_pj"]) / old))
                    if r["energy_pj"] > old * (1 + 1e-9):
                        worse.append(name)
                print(line, flush=True)
    for b, (e, w, c, old) in totals.items():
        print(f"total at budget {b}: {e:,.1f} pJ, {w:.1f} s wall, {c:.1f} s CPU"
              + (f", before {old:,.1f} pJ ({e / old:.4f}x; per layer geometric mean "
                 f"{math.exp(sum(logs[b]) / len(logs[b])):.4f}x)" if old else ""))
    if before:
        print("worse than before: " + (", ".join(worse) if worse else "none"))
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.out:
        args.out.write_text(json.dumps({"code": git_head(), "seed": args.seed, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
