"""Speed of the Model: mappings scored per second per core by the vectorized counter, against the loop walk.

    python3 benchmarks/bench_model.py [--mappings 20000] [--imperfect 400] [--walk 20] [--batch 4096] [--seed 0]
        [--json]

Workloads: every distinct MAC layer of AlexNet and of ResNet-50 on the `eyeriss` preset, and Timeloop's Eyeriss
exercise layer (tests/cases/timeloop/7_eyeriss, sliding windows) on its own architecture. Mappings are drawn
at random from the mapper's map space. Per workload: fast-model mappings/s (batches of --batch, one thread),
loop-walk (evaluate.py) mappings/s on --walk of the same mappings, their ratio (both measured in this run),
and one mapping scored in-process (a batch of one plus its Result, median of 200). A fourth workload,
"alexnet imperfect", draws --imperfect mappings with remainders (Timeloop 3's `D=n,r`, the map space's
`imperfect=True`, only rows with some remainder) from the AlexNet layers: the fast model's imperfect path
(`_counts_imperfect`), its one-mapping time a median of 5 per layer. The 1-minute load average before and
after is printed with the table (`--json`: {"load_1min": [before, after], "workloads": [...]}). Never run in CI.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.arch.ert import EnergyTable  # noqa: E402
from stationary.arch.load import load_arch  # noqa: E402
from stationary.arch.spec import Architecture  # noqa: E402
from stationary.arch.timeloop import load_timeloop_arch  # noqa: E402
from stationary.mapper.space import MapSpace  # noqa: E402
from stationary.model.evaluate import evaluate  # noqa: E402
from stationary.model.fast import FastModel, MappingArrays, row_to_mapping  # noqa: E402
from stationary.workload.importers.timeloop import load_problem  # noqa: E402
from stationary.workload.loopnest import LoopNest  # noqa: E402
from stationary.workload.zoo import get_model  # noqa: E402

EXERCISE = ROOT / "tests" / "cases" / "timeloop" / "7_eyeriss"


def workloads() -> list[tuple[str, list[LoopNest], Architecture]]:
    """(name, distinct layers, architecture) of the perfect-factorization workloads."""
    eyeriss = load_arch("eyeriss")
    out = []
    for net in ("alexnet", "resnet50"):
        seen, nests = set(), []
        for layer in get_model(net).mac_layers():
            nest = layer.loop_nest()
            key = tuple(sorted(nest.bounds.items())) + tuple(str(t.axes) for t in nest.tensors)
            if key not in seen:
                seen.add(key)
                nests.append(nest)
        out.append((net, nests, eyeriss))
    arch = load_timeloop_arch(EXERCISE / "arch.yaml", EnergyTable.load(EXERCISE / "ert.yaml"))
    out.append(("eyeriss exercise", [load_problem(EXERCISE / "problem.yaml")], arch))
    return out


def bench(name: str, nests: list[LoopNest], arch: Architecture, n: int, walk: int, batch: int, seed: int,
          imperfect: bool = False) -> dict:
    """Time the fast model (batches, then one mapping) and the loop walk on random mappings of each layer;
    `imperfect`: only mappings with some remainder, n in all (not at least a batch per layer)."""
    rng = np.random.default_rng(seed)
    per_layer = max(1, n // len(nests)) if imperfect else max(batch, n // len(nests))
    fast_s = walk_s = 0.0
    fast_n = walk_n = 0
    one: list[float] = []
    for nest in nests:
        space = MapSpace(nest, arch, imperfect=imperfect)
        model = FastModel(nest, arch)
        rows = space.sample(rng, per_layer)
        if imperfect:  # the rows with remainders (the sample also holds perfect ones)
            picked = np.flatnonzero(rows.imperfect_rows())
            for _ in range(20):
                if picked.size >= per_layer:
                    break
                more = space.sample(rng, per_layer)
                rows = MappingArrays.concat([rows.take(picked), more.take(np.flatnonzero(more.imperfect_rows()))])
                picked = np.arange(rows.size)
            if not picked.size:
                raise SystemExit(f"{name}: the imperfect map space of a layer gave no rows with a remainder")
            rows = rows.take(picked[:per_layer])
        model.evaluate(rows.take(np.arange(min(2 if imperfect else 64, rows.size))))  # warm-up
        valid = []
        t0 = time.perf_counter()
        for start in range(0, rows.size, batch):
            valid.append(model.evaluate(rows.take(np.arange(start, min(rows.size, start + batch)))).valid)
        fast_s += time.perf_counter() - t0
        ok = np.nonzero(np.concatenate(valid))[0]  # the walk scores mappings whose factors fit the fan-outs
        fast_n += rows.size
        k = max(1, walk // len(nests)) if walk else 0
        for b in ok[:k]:
            m = row_to_mapping(rows, int(b), nest, arch)
            t0 = time.perf_counter()
            evaluate(nest, arch, m, check_capacity=False)
            walk_s += time.perf_counter() - t0
            walk_n += 1
        single: MappingArrays = rows.take(np.arange(1))
        for _ in range(5 if imperfect else 200 // len(nests) + 1):
            t0 = time.perf_counter()
            model.result(model.evaluate(single), 0)
            one.append(time.perf_counter() - t0)
    fast_rate = fast_n / fast_s
    walk_rate = walk_n / walk_s if walk_s else float("nan")
    return {"workload": name, "layers": len(nests), "mappings": fast_n, "fast_mappings_per_s": fast_rate,
            "walk_mappings": walk_n, "walk_mappings_per_s": walk_rate, "ratio": fast_rate / walk_rate,
            "one_mapping_ms": statistics.median(one) * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mappings", type=int, default=20000, help="fast-model mappings per workload")
    ap.add_argument("--imperfect", type=int, default=400, help="fast-model mappings with remainders (0: skip)")
    ap.add_argument("--walk", type=int, default=20, help="loop-walk mappings per workload")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    runs = [(name, nests, arch, args.mappings, False) for name, nests, arch in workloads()]
    if args.imperfect:
        runs += [("alexnet imperfect", nests, arch, args.imperfect, True)
                 for name, nests, arch in workloads() if name == "alexnet"]
    load_before = os.getloadavg()[0]
    rows = [bench(name, nests, arch, n, args.walk, args.batch, args.seed, imperfect)
            for name, nests, arch, n, imperfect in runs]
    load = (load_before, os.getloadavg()[0])  # a shared machine: every timing is quoted with its load
    if args.json:
        print(json.dumps({"load_1min": load, "workloads": rows}, indent=1))
        return
    print(f"load (1-minute average) {load[0]:.2f} before, {load[1]:.2f} after")
    print(f"{'workload':18} {'layers':>6} {'fast map/s/core':>16} {'walk map/s':>11} {'ratio':>8} {'1 mapping':>10}")
    for r in rows:
        print(f"{r['workload']:18} {r['layers']:>6} {r['fast_mappings_per_s']:>16,.0f} "
              f"{r['walk_mappings_per_s']:>11,.2f} {r['ratio']:>7,.0f}x {r['one_mapping_ms']:>8.3f} ms")


if __name__ == "__main__":
    main()
