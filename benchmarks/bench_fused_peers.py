"""Fused against layer by layer, stationary against AccelForge's and Stream's fused examples, from one command.

    python3 benchmarks/bench_fused_peers.py [--quick] [--only accelforge|stream] [--budget 20000]
        [--accelforge-json FILE] [--stream-json FUSED,PER_LAYER] [--out FILE]

* AccelForge 1.0.467 (FFM, "Fast & Fusiest"): its matmul chain (examples/workloads/matmuls.yaml, m = 64 rows,
  every n_i = 64, 8-bit values; 3 matmuls, 2 with --quick) on its `simple` arch (MainMemory 100 per bit,
  GlobalBuffer 32768 bits, one MAC), through accelforge_fused_peer.py: fused (the arch as shipped lets
  intermediates stay in the GlobalBuffer) and layer by layer (every tensor kept in MainMemory). stationary: the
  same chain as `linear` layers over 64 tokens on benchmarks/accelforge_simple.yaml.
* Stream 2.1.1: its quick start's two convolutions (1x8x32x32 input, 3x3 to 16 then 32 channels, 8-bit) on ONE
  of its `tpu_like` cores with its `offchip` DRAM (stream_peer.py --hardware tpu_like_single_core), fused (the
  groups its mapping generator derives: one) and per layer (`fusion_cut_points: per-layer`). stationary: the
  same layers on benchmarks/stream_tpu_like.yaml.

stationary runs `map_network` (the single-layer search of `stationary evaluate`) and `plan_fusion(..., "auto")`,
what `stationary evaluate --fuse auto` runs. Each peer runs in its own venv in a subprocess with a timeout (one at
a time, `nice -n 10`). The table gives DRAM words, energy and cycles fused and layer by layer for both tools and
the ratios; the JSON goes under benchmarks/results/. Never run in CI; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bench_zigzag import input_words  # noqa: E402  (one rule for the padded-box vs touched input count)

from stationary.arch.load import load_arch  # noqa: E402
from stationary.arch.spec import Architecture  # noqa: E402
from stationary.fusion.cost import fusion_level, transfer_cost  # noqa: E402
from stationary.fusion.search import FusionPlan, plan_fusion  # noqa: E402
from stationary.mapper.network import LayerPlan, dram_words, map_network  # noqa: E402
from stationary.mapper.search import SearchOptions  # noqa: E402
from stationary.workload.layer import Layer, LayerKind, linear  # noqa: E402
from stationary.workload.network import Network  # noqa: E402

BENCH = ROOT / "benchmarks"
AF_ARCH = BENCH / "accelforge_simple.yaml"
STREAM_ARCH = BENCH / "stream_tpu_like.yaml"
AF_BITS = 8  # matmuls.yaml's bits_per_value
AF_GLB_BITS = 32768  # the GlobalBuffer size passed to AccelForge; accelforge_simple.yaml has 4 KiB of 8-bit words
AF_MAIN_MEMORY_ENERGY = 100.0  # per bit; accelforge_simple.yaml: 800 per 8-bit word
AF_UNBOUNDED_WORDS = 2**20  # AccelForge's example mappings assume an unbounded GlobalBuffer; stationary fuses at
# the outermost *bounded* level, so "unbounded" is 1 Mi words here (the chains need at most 3 x 4,096 + 4,096)


def matmul_chain(n: int, rows: int, width: int) -> Network:
    """AccelForge's matmuls.yaml as stationary layers: T{i+1} = T{i} W{i}, T{i} of rows x width (no bias)."""
    layers = tuple(linear(f"Matmul{i}", width, width, rows=rows, bias=False,
                          inputs=(f"Matmul{i - 1}",) if i else ()) for i in range(n))
    return Network(f"matmuls{n}", layers, (1, width, rows, 1))


def two_conv(peer: dict[str, Any]) -> Network:
    """Stream's quick-start workload: two 3x3 same-padded convolutions, the second reading the first."""
    p, q, r = peer["P"], peer["Q"], peer["R"]
    layers = tuple(Layer(f"conv{i + 1}", LayerKind.CONV, M=x["M"], C=x["C"], P=p, Q=q, R=r, S=r, H=p, W=q,
                         padding=(r // 2, r // 2), inputs=(f"conv{i}",) if i else ())
                   for i, x in enumerate(peer["layers"]))
    return Network("stream_two_conv", layers, (1, peer["layers"][0]["C"], p, q))


def run_peer(cmd: list[str], timeout_s: float) -> list[dict[str, Any]]:
    """A peer script's JSON lines (one per run), niced; its stderr tail on failure."""
    out = subprocess.run(["nice", "-n", "10", *cmd], capture_output=True, text=True, timeout=timeout_s)
    if out.returncode != 0:
        raise SystemExit(f"peer failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]


def ours(net: Network, arch_or_path: Architecture | Path, budget: int
         ) -> tuple[Architecture, list[LayerPlan], FusionPlan, float]:
    """stationary's layer-by-layer mappings and `--fuse auto` plan of `net`, and the wall seconds of both."""
    arch = arch_or_path if isinstance(arch_or_path, Architecture) else load_arch(arch_or_path)
    opts = SearchOptions(budget=budget)
    t = time.perf_counter()
    plans = map_network(net, arch, "free", opts)
    plan = plan_fusion(net, arch, plans, "auto", opts)
    return arch, plans, plan, time.perf_counter() - t


def conventions(arch: Architecture, plans: list[LayerPlan], plan: FusionPlan) -> dict[str, Any]:
    """The splits the re-scores need: DRAM energy (off chip) against the rest, layer by layer and fused; DRAM
    input words with the padded box counted as the touched elements; the fused groups' transfer cycles."""
    top = arch.levels[0].energy
    by_layer = {p.layer.name: p.found.result for p in plans}
    lbl_dram_pj = sum(r.levels[0].energy_pj for r in by_layer.values())
    fused_dram_pj = 0.0
    transfer_cycles = 0
    for g in plan.groups:
        if g.cost is None:  # a layer run alone (or an unmapped pooling/element-wise layer: no DRAM cost)
            fused_dram_pj += sum(by_layer[x].levels[0].energy_pj for x in g.names if x in by_layer)
        else:
            c = g.cost.counts
            fused_dram_pj += (c.weight_words + c.input_words) * top.read_pj + c.output_words * top.update_pj
            transfer_cycles += transfer_cost(arch, fusion_level(arch), c)[1]
    padding = 0  # words the padded/strided input box adds over the touched elements, where the box is read
    for p in plans:
        touched, box = input_words(p.layer)
        n = p.layer.N * p.layer.G
        if p.found.result.levels[0].tensors["Inputs"].reads >= box * n:
            padding += (box - touched) * n
    return {"lbl_dram_energy_pj": lbl_dram_pj, "fused_dram_energy_pj": fused_dram_pj,
            "lbl_dram_words_touched_inputs": plan.layer_by_layer_dram_words - padding,
            "lbl_compute_cycles": sum(p.found.result.compute_cycles for p in plans),
            "lbl_dram_words_per_layer": {p.layer.name: sum(dram_words(p.found.result).values()) for p in plans},
            "fused_transfer_cycles": transfer_cycles}


def plan_json(plan: FusionPlan, seconds: float) -> dict[str, Any]:
    """The numbers the table compares, in words, pJ and cycles."""
    return {"seconds": seconds, "dram_words_fused": plan.dram_words,
            "dram_words_layer_by_layer": plan.layer_by_layer_dram_words, "energy_pj_fused": plan.energy_pj,
            "energy_pj_layer_by_layer": plan.layer_by_layer_energy_pj, "cycles_fused": plan.cycles,
            "cycles_layer_by_layer": plan.layer_by_layer_cycles,
            "groups": [{"layers": list(g.names), "tile": list(g.tile) if g.tile else None, "halo": g.policy or None,
                        "buffer_words": g.buffer_words, "dram_words": g.dram_words, "energy_pj": g.energy_pj,
                        "cycles": g.cycles} for g in plan.groups]}


def accelforge_side(run: dict[str, Any]) -> dict[str, float]:
    """One AccelForge run's DRAM words (MainMemory actions are per bit), energy and latency (MAC throughput 1 per
    cycle and infinite memory throughput: cycles)."""
    bits = run["actions"].get("MainMemory|read", 0.0) + run["actions"].get("MainMemory|write", 0.0)
    return {"dram_words": bits / AF_BITS, "energy": run["energy"], "cycles": run["latency"],
            "seconds": run["seconds"]}


def stream_side(run: dict[str, Any]) -> dict[str, float]:
    """One Stream run's off-chip words (its transfers x port width), energy (its `energy` family, pJ, summed
    over groups) and cycles."""
    words = sum(t["read"] + t["write"] for t in run["offchip_words"].values())
    energy = sum(float(e["total_pj"]) for e in run["group_energy"] if e)
    return {"dram_words": words, "energy": energy, "cycles": run["cycles"], "seconds": run["seconds"]}


def table(title: str, peer_name: str, fused: dict[str, float], unfused: dict[str, float],
          st: dict[str, Any], rescored: list[tuple[str, float, float]]) -> list[str]:
    """Rows: DRAM words, energy, cycles, wall time; fused and layer by layer for both tools, with ratios; then
    the re-scored rows (label, peer, stationary)."""
    lines = [title, f"  {'':38s} {peer_name:>16s} {'stationary':>16s} {'ours/peer':>10s}"]

    def row(label: str, p: float, s: float, fmt: str = ",.0f") -> None:
        ratio = f"{s / p:.4f}" if p else "-"
        lines.append(f"  {label:38s} {p:>16{fmt}} {s:>16{fmt}} {ratio:>10s}")

    for key, label, skey in (("dram_words", "DRAM words", "dram_words"), ("energy", "energy (pJ)", "energy_pj"),
                             ("cycles", "cycles", "cycles")):
        row(f"{label}, layer by layer", unfused[key], st[f"{skey}_layer_by_layer"])
        row(f"{label}, fused", fused[key], st[f"{skey}_fused"])
        pf = fused[key] / unfused[key] if unfused[key] else float("nan")
        sf = st[f"{skey}_fused"] / st[f"{skey}_layer_by_layer"] if st[f"{skey}_layer_by_layer"] else float("nan")
        lines.append(f"  {label + ', fused / layer by layer':38s} {pf:>16.4f} {sf:>16.4f}")
    lines.append(f"  {'wall s (peer: fused + layer by layer)':38s} {fused['seconds'] + unfused['seconds']:>16.1f} "
                 f"{st['seconds']:>16.1f}")
    if rescored:
        lines.append("  re-scored / split (see benchmarks/README.md):")
    for label, p, s in rescored:
        row(label, p, s)
    for g in st["groups"]:
        if len(g["layers"]) > 1:
            lines.append(f"  stationary group {'+'.join(g['layers'])}: tile {g['tile'][0]}x{g['tile'][1]}, "
                         f"halo {g['halo']}, {g['buffer_words']:,} words on chip")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="AccelForge: 2 matmuls instead of 3; Stream: 60 s solves")
    ap.add_argument("--only", choices=("accelforge", "stream"), help="run one peer")
    ap.add_argument("--budget", type=int, default=20_000, help="stationary's evaluations per layer")
    ap.add_argument("--accelforge-peer", default="/work/peers/accelforge", help="AccelForge venv")
    ap.add_argument("--stream-peer", default="/work/peers/stream", help="Stream venv")
    ap.add_argument("--accelforge-json", help="reuse accelforge_fused_peer.py's output (its times are that run's)")
    ap.add_argument("--stream-json", help="FUSED,PER_LAYER: reuse two stream_peer.py outputs")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per peer subprocess")
    ap.add_argument("--out", help="JSON written here (default benchmarks/results/fused_peers[_quick].json)")
    args = ap.parse_args()
    if args.stream_json and len(args.stream_json.split(",")) != 2:
        ap.error(f"--stream-json takes FUSED,PER_LAYER (two paths), got {args.stream_json!r}")
    if args.budget < 1:
        ap.error(f"--budget must be >= 1, got {args.budget}")
    result: dict[str, Any] = {"quick": args.quick, "budget": args.budget}
    lines: list[str] = []
    if args.only in (None, "accelforge"):
        n = 2 if args.quick else 3
        if args.accelforge_json:
            runs = [json.loads(x) for x in Path(args.accelforge_json).read_text().splitlines() if x.startswith("{")]
        else:
            runs = run_peer([str(Path(args.accelforge_peer) / "bin" / "python"),
                             str(BENCH / "accelforge_fused_peer.py"), "--mode", "all", "--einsums", str(n), "--m", "64",
                             "--kn", "64",
                             "--main-memory-energy", str(AF_MAIN_MEMORY_ENERGY), "--glb-bits", str(AF_GLB_BITS)],
                            args.timeout)
        by_mode = {r["mode"]: r for r in runs}
        jinja = by_mode["fused"]["jinja"]
        arch, plans, plan, secs = ours(matmul_chain(jinja["N_EINSUMS"], jinja["M"], jinja["KN"]), AF_ARCH,
                                       args.budget)
        st = plan_json(plan, secs)
        cv = conventions(arch, plans, plan)
        f, u = accelforge_side(by_mode["fused"]), accelforge_side(by_mode["unfused"])
        off = {m: sum(v for k, v in by_mode[m]["energy_parts"].items() if k.startswith("MainMemory|"))
               for m in ("fused", "unfused")}
        rescored = [("energy off chip (MainMemory), lbl", off["unfused"], cv["lbl_dram_energy_pj"]),
                    ("energy off chip (MainMemory), fused", off["fused"], cv["fused_dram_energy_pj"]),
                    ("energy on chip, lbl", u["energy"] - off["unfused"],
                     st["energy_pj_layer_by_layer"] - cv["lbl_dram_energy_pj"]),
                    ("energy on chip, fused", f["energy"] - off["fused"],
                     st["energy_pj_fused"] - cv["fused_dram_energy_pj"])]
        result["accelforge"] = {"peer_fused": f, "peer_layer_by_layer": u,
                                "peer_fused_nodes": by_mode["fused"]["nodes"],
                                "peer_layer_by_layer_nodes": by_mode["unfused"]["nodes"],
                                "peer_energy_parts_fused": by_mode["fused"]["energy_parts"],
                                "peer_energy_parts_layer_by_layer": by_mode["unfused"]["energy_parts"],
                                "stationary": st, "stationary_splits": cv, "rescored": rescored, "jinja": jinja}
        tiles = [f"{x['var']}={x['tile']}" for x in by_mode["fused"]["nodes"]
                 if x["kind"] == "temporal" and x["depth"] == 0]
        lines += table(f"AccelForge 1.0.467 FFM, matmuls.yaml x{jinja['N_EINSUMS']} ({jinja['M']}x{jinja['KN']}, "
                       f"8-bit) on simple (MainMemory {AF_MAIN_MEMORY_ENERGY:g}/bit, GlobalBuffer "
                       f"{AF_GLB_BITS} bits); AccelForge's fused tiling {', '.join(tiles) or 'none'}",
                       "AccelForge", f, u, st, rescored)
        if "example_fused" in by_mode:  # its shipped example mappings, evaluated without search
            big = load_arch(AF_ARCH).with_level(1, depth=AF_UNBOUNDED_WORDS)
            _, _, plan, secs = ours(matmul_chain(jinja["N_EINSUMS"], jinja["M"], jinja["KN"]), big, args.budget)
            st = plan_json(plan, secs)
            f, u = accelforge_side(by_mode["example_fused"]), accelforge_side(by_mode["example_unfused"])
            result["accelforge_examples"] = {"peer_fused": f, "peer_layer_by_layer": u, "stationary": st,
                                             "peer_energy_parts_fused": by_mode["example_fused"]["energy_parts"],
                                             "peer_energy_parts_layer_by_layer":
                                                 by_mode["example_unfused"]["energy_parts"]}
            lines += table(f"AccelForge's example mappings fused_/unfused_matmuls_to_simple.yaml (no search), x"
                           f"{jinja['N_EINSUMS']}, GlobalBuffer unbounded (stationary: {AF_UNBOUNDED_WORDS:,} words)",
                           "AccelForge", f, u, st, [])
    if args.only in (None, "stream"):
        if args.stream_json:
            fused_path, lbl_path = args.stream_json.split(",")
            sf, su = (json.loads(Path(p).read_text().strip().splitlines()[-1]) for p in (fused_path, lbl_path))
        else:
            base = [str(Path(args.stream_peer) / "bin" / "python"), str(BENCH / "stream_peer.py"), "--hardware",
                    "tpu_like_single_core", "--dtype", "i8", "--time-limit", "60" if args.quick else "120"]
            sf = run_peer([*base, "--fusion", "derived"], args.timeout)[-1]
            su = run_peer([*base, "--fusion", "per-layer"], args.timeout)[-1]
        arch, plans, plan, secs = ours(two_conv(sf), STREAM_ARCH, args.budget)
        st = plan_json(plan, secs)
        cv = conventions(arch, plans, plan)
        f, u = stream_side(sf), stream_side(su)

        def part(run: dict[str, Any], key: str) -> float:
            return sum(float(e[key]) for e in run["group_energy"] if e)

        def bound(run: dict[str, Any], key: str) -> float:
            return sum(float(b[key]) for b in run["group_bottleneck"] if b)

        bw = arch.levels[0].read_bandwidth or 1.0
        serial = cv["lbl_compute_cycles"] + sum(-(-w // bw) for w in cv["lbl_dram_words_per_layer"].values())
        rescored = [("DRAM words, lbl, inputs unpadded", u["dram_words"], cv["lbl_dram_words_touched_inputs"]),
                    ("energy off chip (transfers), lbl", part(su, "transfer_pj_per_iteration"),
                     cv["lbl_dram_energy_pj"]),
                    ("energy off chip (transfers), fused", part(sf, "transfer_pj_per_iteration"),
                     cv["fused_dram_energy_pj"]),
                    ("energy on chip (nodes), lbl", part(su, "node_pj_per_iteration"),
                     st["energy_pj_layer_by_layer"] - cv["lbl_dram_energy_pj"]),
                    ("energy on chip (nodes), fused", part(sf, "node_pj_per_iteration"),
                     st["energy_pj_fused"] - cv["fused_dram_energy_pj"]),
                    ("compute cycles, lbl", bound(su, "compute_bound_cycles"), cv["lbl_compute_cycles"]),
                    ("transfer cycles, fused", bound(sf, "transfer_bound_cycles"), cv["fused_transfer_cycles"]),
                    ("cycles, lbl, no overlap (compute + DRAM)", u["cycles"], serial)]
        result["stream"] = {"peer_fused": f, "peer_layer_by_layer": u, "peer_fused_raw": sf,
                            "peer_layer_by_layer_raw": su,
                            "stationary": st, "stationary_splits": cv, "rescored": rescored}
        lines += table(f"Stream 2.1.1, quick-start two convs (8-bit) on one tpu_like core + offchip DRAM; Stream's "
                       f"groups: fused {len(sf['group_cycles'])}, per layer {len(su['group_cycles'])}",
                       "Stream", f, u, st, rescored)
    print("\n".join(lines))
    out = Path(args.out or BENCH / "results" / f"fused_peers{'_quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
