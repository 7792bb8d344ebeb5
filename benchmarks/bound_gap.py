"""Where a layer's optimality gap is: what the best mapping found pays per level and tensor against the layer
bound's term for that level and tensor (docs/bounds.md §3).

    python3 benchmarks/bound_gap.py [--layers simba_like:alexnet:conv2,eyeriss:resnet50:layer3_0_conv1]
                                    [--budget 40000] [--json]

Per layer: the mapping `stationary map` finds (heuristic search, --budget fast-model evaluations, seed 0) and
its exact cost; per storage level and tensor its read, fill and update energy (pJ); beside it the bound's
part: the outermost level's cut (coupled, §2) or what serving from it costs at the bound's spatial box,
whichever is larger (one total, the cut is not split per tensor), and per inner level the bound's least joint
choice of serving level per tensor (each tensor's serving energy at the joint spatial-box argmin, fills
included; a level that must keep a tensor above its serving level pays each element's fill and read, one total
row `held`; one that may keep it but need not is charged nothing, shown as 0); then compute and
leakage. The diff column is found - bound (M pJ): where the gap is. Never run in CI (about a minute per layer
at --budget 400000 on a loaded core).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary import api  # noqa: E402
from stationary.api.network import resolve_arch  # noqa: E402
from stationary.mapper.bounds.layer import LayerTerms, _held_pj, _serve_boxes, layer_bound, layer_terms  # noqa: E402
from stationary.model.result import Result  # noqa: E402
from stationary.workload.problem import load_loop_nest  # noqa: E402

DEFAULT = ("simba_like:alexnet:conv2,simba_like:resnet50:layer2_0_conv2,simba_like:resnet50:layer1_0_conv3,"
           "simba_like:resnet50:layer2_0_downsample,eyeriss:alexnet:conv2,eyeriss:resnet50:layer3_0_conv1")


def found_terms(result: Result, arch_levels: list[Any]) -> dict[tuple[str, str], dict[str, float]]:
    """(level, tensor) -> read, fill, update energy (pJ) of the found mapping, as the costing charges them
    (per instance, ceil per block, times the utilized instances)."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    spec = {lv.name: lv for lv in arch_levels}
    for lv in result.levels:
        e, bs = spec[lv.name].energy, lv.block_size
        for name, tc in lv.tensors.items():
            if not tc.kept:
                continue
            k = tc.utilized_instances
            out[(lv.name, name)] = {
                "read_pj": k * -(-tc.reads_per_instance // bs) * e.read_pj,
                "fill_pj": k * -(-tc.fills_per_instance // bs) * e.write_pj,
                "update_pj": k * -(-tc.updates_per_instance // bs) * e.update_pj,
                "reads": tc.reads, "fills": tc.fills, "updates": tc.updates}
    return out


def bound_terms(nest: Any, arch: Any) -> dict[str, Any]:
    """The layer bound's pieces at its least choice of serving levels and joint spatial box: cut, outermost
    serving, per (level, tensor) serving energy, compute and leakage floor (pJ)."""
    terms = layer_terms(nest, arch, imperfect=False)
    cut, top = terms.cut_energy_pj, terms.real[0]
    e0, bs0 = arch.levels[top].energy, arch.levels[top].block_size
    names = [t.name for t in nest.tensors]
    # each box's own leakage floor (LayerTerms.picks_front_leak): the bound is the larger of the least total with
    # the layer's leakage floor and the least with each box's; the rows show the one that binds
    apart = _least(terms, cut, e0, bs0, None)
    joint = None if terms.box_leak_pj is None else _least(terms, cut, e0, bs0, terms.box_leak_pj)
    _, pick, per, dram, k, held, leak = joint if joint is not None and joint[0] > apart[0] else apart
    out: dict[tuple[str, str], float] = {}
    for t, j in enumerate(pick):
        if j != top:
            out[(arch.levels[j].name, names[t])] = float(per[t][k] if per[t].size > 1 else per[t][0])
    return {"cut_pj": float(cut), "dram_serve_pj": float(dram[k]), "per": out, "held_pj": held,
            "pick": {names[t]: arch.levels[j].name for t, j in enumerate(pick)},
            "compute_pj": terms.compute_pj, "leak_floor_pj": leak,
            "total_pj": layer_bound(nest, arch, imperfect=False).energy_lower_bound_pj}


def _least(terms: Any, cut: float, e0: Any, bs0: int, box_leak: np.ndarray | None) -> tuple:
    """(total, pick, per-tensor serving, outermost serving, box index, held, leakage) at the least choice of
    serving levels and joint box, with the layer's leakage floor (box_leak None) or each box's."""
    top = terms.real[0]
    best: tuple | None = None
    for pick in terms.picks_level:
        per = {t: _serve_boxes(terms, int(j), t) for t, j in enumerate(pick) if j != top}
        inner = sum(per.values(), np.zeros(1))
        served = sum((_serve_boxes(terms, top, t) for t, j in enumerate(pick) if j == top), np.zeros(1))
        # the outermost level's serving at the box, and each element once for the tensors served further down
        dram = served + sum((e0.update_pj * terms.outputs if terms.rw[t] else e0.read_pj * terms.compulsory[t]) / bs0
                            for t, j in enumerate(pick) if j != top)
        held = _held_pj(terms, tuple(int(j) for j in pick))  # must-keep levels above the serving level
        leak = np.full(1, terms.leak_floor_pj) if box_leak is None else box_leak
        total = np.maximum(cut, dram) + inner + held + leak
        k = int(np.argmin(total))
        if best is None or float(total.flat[k]) < best[0]:
            best = (float(total.flat[k]), [int(j) for j in pick], per, np.broadcast_to(dram, total.shape), k, held,
                    float(np.broadcast_to(leak, total.shape).flat[k]))
    assert best is not None
    return best


def one(spec: str, budget: int) -> dict[str, Any]:
    arch_name, model_layer = spec.split(":", 1)
    arch = resolve_arch(arch_name)
    nest = load_loop_nest(model_layer, 1)
    t0 = time.perf_counter()
    found = api.map_layer(nest, arch, budget=budget)
    search_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    LayerTerms(nest, arch, imperfect=False)  # timed afresh: the search's certificate left a cached copy
    bound_s = time.perf_counter() - t0
    bound = bound_terms(nest, arch)
    r = found.result
    got = found_terms(r, list(arch.levels))
    top = arch.levels[0].name
    rows = []
    dram_found = sum(sum(v[x] for x in ("read_pj", "fill_pj", "update_pj")) for (lv, _), v in got.items() if lv == top)
    rows.append({"level": top, "tensor": "all", "found_pj": dram_found,
                 "bound_pj": max(bound["cut_pj"], bound["dram_serve_pj"]),
                 "note": f"cut {bound['cut_pj']:.4g} pJ, serving {bound['dram_serve_pj']:.4g} pJ"})
    for (lv, t), v in got.items():
        if lv == top:
            continue
        e = v["read_pj"] + v["fill_pj"] + v["update_pj"]
        rows.append({"level": lv, "tensor": t, "found_pj": e, "bound_pj": bound["per"].get((lv, t), 0.0),
                     "note": f"{v['reads']} reads, {v['fills']} fills, {v['updates']} updates"})
    if bound["held_pj"]:  # in the found rows above, under the must-keep levels' own names
        rows.append({"level": "held", "tensor": "-", "found_pj": 0.0, "bound_pj": bound["held_pj"],
                     "note": "must-keep levels above the serving level: each element filled and read once"})
    leak = sum(lv.leak_energy_pj for lv in r.levels)
    rows.append({"level": "MAC", "tensor": "-", "found_pj": r.compute_energy_pj, "bound_pj": bound["compute_pj"],
                 "note": ""})
    rows.append({"level": "leak", "tensor": "-", "found_pj": leak, "bound_pj": bound["leak_floor_pj"], "note": ""})
    return {"layer": spec, "budget": budget, "found_pj": r.energy_pj, "bound_pj": bound["total_pj"],
            "gap": r.energy_pj / bound["total_pj"] - 1, "search_s": search_s, "bound_s": bound_s,
            "serving_pick": bound["pick"], "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default=DEFAULT, help="comma-separated ARCH:MODEL:LAYER")
    ap.add_argument("--budget", type=int, default=40_000, help="fast-model evaluations of the search")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = [one(s, args.budget) for s in args.layers.split(",") if s]
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for lay in out:
        print(f"\n{lay['layer']}: found {lay['found_pj'] / 1e6:.3f} M pJ, bound {lay['bound_pj'] / 1e6:.3f} M pJ, "
              f"gap {lay['gap']:.1%} (search {lay['search_s']:.1f} s at budget {lay['budget']}, bound "
              f"{lay['bound_s']:.3f} s); bound serves {lay['serving_pick']}")
        print(f"  {'level':<16}{'tensor':<9}{'found (M pJ)':>14}{'bound (M pJ)':>14}{'diff (M pJ)':>13}  note")
        for row in lay["rows"]:
            print(f"  {row['level']:<16}{row['tensor']:<9}{row['found_pj'] / 1e6:>14.3f}{row['bound_pj'] / 1e6:>14.3f}"
                  f"{(row['found_pj'] - row['bound_pj']) / 1e6:>13.3f}  {row['note']}")


if __name__ == "__main__":
    main()
