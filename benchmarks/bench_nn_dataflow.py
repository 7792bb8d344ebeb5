"""Per-layer mapping search against nn_dataflow on AlexNet, batch 16, with nn_dataflow's Eyeriss ISCA'16 setup.

    python3 benchmarks/bench_nn_dataflow.py [--budget 40000] [--no-free] [--peer /work/peers/nn_dataflow]

nn_dataflow runs its own schedule search in its venv through benchmarks/nn_dataflow_peer.py, with the settings
of its test `test_eyeriss_isca16`: one 16x16 PE array, a 128 kB global buffer (64K 16-bit words), 512 B RF per
PE (256 words), cost per access MAC 1, DRAM 200, buffer 6, array 2, RF 1, its Eyeriss (row stationary) map
strategy. stationary maps the zoo's alexnet (the same 8 layer shapes, AlexNet's two towers as groups) on
survey256 (the same sizes and costs; the array cost of 2 per word delivered to or sent from a PE, as
nn_dataflow's ITCN count, is folded in by `studies.dataflows.survey_arch`) with row stationary, and, unless
--no-free, with a free search whose PEs must keep all three tensors (so the array charge stays exact).
Prints wall time, per-layer and total energy by component (ALU, DRAM, buffer, array, RF) and the ratios.
Never run in CI.
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

from stationary.arch.spec import Architecture
from stationary.mapper.network import LayerPlan, map_network
from stationary.mapper.search import SearchOptions
from stationary.mapping.constraints import Constraint
from stationary.studies.dataflows import breakdown, survey_arch
from stationary.workload.layer import LayerKind
from stationary.workload.network import Network
from stationary.workload.zoo import get_model

COMPONENTS = ("ALU", "DRAM", "buffer", "array", "RF")


def peer_energy(entry: dict) -> dict[str, float]:
    """One nn_dataflow layer's energy by component, in MAC units (its accesses times its unit costs)."""
    unit = {"DRAM": 200.0, "buffer": 6.0, "array": 2.0, "RF": 1.0}
    out = {"ALU": float(entry["macs"])}
    for lv, cost in unit.items():
        out[lv] = cost * sum(v for k, v in entry["access"][lv].items())
    return out


def ours_energy(plan: LayerPlan, arch: Architecture, dataflow: str) -> dict[str, float]:
    """One stationary layer's energy by component, in MAC units (studies.dataflows' survey breakdown)."""
    b = breakdown([plan], arch, dataflow)
    return {k: v * b["macs"] for k, v in b["breakdown"].items()}


def row(name: str, e: dict[str, float], macs: int) -> str:
    """A table row: total and per-component energy in 1e9 MAC units, and per MAC."""
    total = sum(e.values())
    return (f"{name:26s} {total / 1e9:7.3f} " + " ".join(f"{e[c] / 1e9:7.3f}" for c in COMPONENTS)
            + f" {total / macs:7.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--budget", type=int, default=SearchOptions().budget, help="stationary's evaluations per shape")
    ap.add_argument("--no-free", action="store_true", help="skip stationary's free search")
    ap.add_argument("--jobs", type=int, default=1, help="stationary's worker processes (nn_dataflow uses 1)")
    ap.add_argument("--peer", default="/work/peers/nn_dataflow", help="nn_dataflow venv")
    args = ap.parse_args()
    cmd = [str(Path(args.peer) / "bin" / "python"), str(ROOT / "benchmarks" / "nn_dataflow_peer.py"),
           "--batch", str(args.batch)]
    peer = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])

    full = get_model("alexnet", batch=args.batch)
    layers = tuple(replace(x, inputs=()) for x in full.layers if x.kind in (LayerKind.CONV, LayerKind.FC))
    net = Network(full.name, layers)
    peer_layers = list(peer["layers"].items())
    if [p["macs"] for _, p in peer_layers] != [x.macs for x in layers]:
        raise SystemExit(f"layer MACs differ: nn_dataflow {[p['macs'] for _, p in peer_layers]} vs "
                         f"stationary {[x.macs for x in layers]}")
    keep_all = Constraint("RF", "dataspace", keep=frozenset({"Weights", "Inputs", "Outputs"}),
                          source="the PE keeps all three tensors (array charge folded in)")
    runs = {"rs": ("rs", [])} if args.no_free else {"rs": ("rs", []), "free": ("free", [keep_all])}
    opts = SearchOptions(budget=args.budget)
    ours: dict[str, tuple[float, list[LayerPlan]]] = {}
    for name, (df, cs) in runs.items():
        arch = survey_arch(256, "rs")  # the PE keeps all three tensors in both runs
        t = time.perf_counter()
        plans = map_network(net, arch, df, opts, constraints=cs, jobs=args.jobs)
        ours[name] = (time.perf_counter() - t, plans)

    arch = survey_arch(256, "rs")
    header = f"{'':26s} {'total':>7s} " + " ".join(f"{c:>7s}" for c in COMPONENTS) + " per MAC"
    print(f"AlexNet, batch {args.batch}, 16x16 PEs, Eyeriss ISCA'16 costs (energy in 1e9 MAC units)")
    totals = {"nn_dataflow": dict.fromkeys(COMPONENTS, 0.0)} | {n: dict.fromkeys(COMPONENTS, 0.0) for n in ours}
    macs_total = 0
    for k, ((pname, pentry), layer) in enumerate(zip(peer_layers, layers)):
        print(f"{layer.name} ({pname}, {layer.macs / 1e9:.2f} GMAC)")
        print("  " + header)
        pe = peer_energy(pentry)
        print("  " + row("nn_dataflow", pe, layer.macs))
        for c in COMPONENTS:
            totals["nn_dataflow"][c] += pe[c]
        for name, (_, plans) in ours.items():
            oe = ours_energy(plans[k], arch, "rs")
            ratio = sum(oe.values()) / sum(pe.values())
            print("  " + row(f"stationary {name}", oe, layer.macs) + f"  {ratio:.3f}x")
            for c in COMPONENTS:
                totals[name][c] += oe[c]
        macs_total += layer.macs
    print(f"Total ({macs_total / 1e9:.2f} GMAC)")
    print("  " + header)
    pe_total = sum(totals["nn_dataflow"].values())
    print("  " + row("nn_dataflow", totals["nn_dataflow"], macs_total))
    for name in ours:
        print("  " + row(f"stationary {name}", totals[name], macs_total)
              + f"  {sum(totals[name].values()) / pe_total:.3f}x")
    print(f"nn_dataflow (Eyeriss strategy):  {peer['seconds']:7.1f} s")
    for name, (seconds, plans) in ours.items():
        scored = sum(p.found.evaluated for p in plans if not p.cached)
        print(f"stationary {name:4s} (budget {args.budget:,}): {seconds:7.1f} s | {peer['seconds'] / seconds:5.1f}x "
              f"faster, energy {sum(totals[name].values()) / pe_total:.3f}x nn_dataflow's ({scored:,} mappings scored)")


if __name__ == "__main__":
    main()
