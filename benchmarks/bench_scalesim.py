"""Time stationary's systolic model against SCALE-Sim 3.0.0 on the same AlexNet runs; print the ratio.

    python3 benchmarks/bench_scalesim.py [--dataflows os,ws,is] [--layers 2] [--peer /work/peers/scalesim]

SCALE-Sim runs in its own venv (benchmarks/README.md) through benchmarks/scalesim_peer.py; both tools get
the same cfg and topology. Prints seconds for each side and the speed-up for our three DRAM modes
('exact': SCALE-Sim's buffer counts from the periodic demand stream; 'replay': the same counts from the
whole address stream, the slower reference; 'estimate': closed form, approximate ifmap/filter DRAM reads),
and whether every integer count of the exact mode equals SCALE-Sim's. Never asserted in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stationary.systolic import read_config, read_topology, simulate_network

CASES = ROOT / "tests" / "cases" / "scalesim"
FIELDS = {"Total Cycles": "total_cycles", "Stall Cycles": "stall_cycles",
          "Total Cycles (incl. prefetch)": "total_cycles_incl_prefetch",
          "SRAM IFMAP Reads": "sram_ifmap_reads", "SRAM Filter Reads": "sram_filter_reads",
          "SRAM OFMAP Writes": "sram_ofmap_writes", "DRAM IFMAP Reads": "dram_ifmap_reads",
          "DRAM Filter Reads": "dram_filter_reads", "DRAM OFMAP Writes": "dram_ofmap_writes"}


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--layers", type=int, default=5, help="first N AlexNet layers (SCALE-Sim is slow)")
    ap.add_argument("--peer", default="/work/peers/scalesim", help="SCALE-Sim venv")
    args = ap.parse_args()
    peer_py = Path(args.peer) / "bin" / "python"
    totals = {"scalesim": 0.0, "exact": 0.0, "replay": 0.0, "estimate": 0.0}
    for df in args.dataflows.split(","):
        case = CASES / f"alexnet_a32_{df}_CALC"
        cfg_path = case / f"a32_{df}_CALC.cfg"
        with tempfile.TemporaryDirectory() as tmp:
            topo_path = Path(tmp) / "alexnet.csv"
            lines = (case / "alexnet.csv").read_text().splitlines()
            topo_path.write_text("\n".join(lines[: 1 + args.layers]) + "\n")
            out = subprocess.run([str(peer_py), str(ROOT / "benchmarks" / "scalesim_peer.py"), str(cfg_path),
                                  str(topo_path)], capture_output=True, text=True, check=True)
            peer = json.loads(out.stdout.strip().splitlines()[-1])
            cfg, topo = read_config(cfg_path), read_topology(topo_path)
            t_exact = _time(lambda: simulate_network(topo, cfg, dram="exact"), 1)  # first call: no warm cache
            t_replay = _time(lambda: simulate_network(topo, cfg, dram="replay"), 1)
            t_est = _time(lambda: simulate_network(topo, cfg, dram="estimate"), 5)
            ours = simulate_network(topo, cfg, dram="exact")
            same = all(int(p[k]) == getattr(o, v) for p, o in zip(peer["layers"], ours, strict=True)
                       for k, v in FIELDS.items())
        totals["scalesim"] += peer["seconds"]
        totals["exact"] += t_exact
        totals["replay"] += t_replay
        totals["estimate"] += t_est
        print(f"{df} (load {os.getloadavg()[0]:.2f}): SCALE-Sim {peer['seconds']:.2f} s | exact {t_exact:.3f} s "
              f"({peer['seconds'] / t_exact:,.0f}x) | replay {t_replay:.2f} s ({peer['seconds'] / t_replay:,.0f}x) "
              f"| estimate {t_est * 1e3:.2f} ms "
              f"({peer['seconds'] / t_est:,.0f}x) | numbers equal: {same}", flush=True)
    print(f"total: SCALE-Sim {totals['scalesim']:.2f} s, exact-DRAM mode {totals['scalesim'] / totals['exact']:,.0f}x "
          f"faster, replay {totals['scalesim'] / totals['replay']:,.0f}x, "
          f"estimate-DRAM mode {totals['scalesim'] / totals['estimate']:,.0f}x faster")


if __name__ == "__main__":
    main()
