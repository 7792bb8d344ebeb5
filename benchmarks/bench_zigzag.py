"""Whole-network mapping search against ZigZag 3.9.1 on ResNet-18 and ZigZag's `tpu_like` accelerator.

    python3 benchmarks/bench_zigzag.py [--layers N] [--budget 20000] [--jobs 1] [--breakdown] [--peer DIR]
        [--save-peer FILE | --peer-json FILE]

ZigZag runs its own default search (LOMA temporal mapping, lpf_limit 6, its fixed K32 x C32 spatial
mapping from mapping/tpu_like.yaml, objective energy) in its venv through benchmarks/zigzag_peer.py on its
shipped resnet18.onnx. stationary maps the zoo's resnet18 (the same 21 Conv/Gemm shapes, batch 1) on
benchmarks/zigzag_tpu_like.yaml, the same hardware with ZigZag's per-access energies, twice: `matched`
(spatial dims restricted to ZigZag's: M on X, C on Y; no dataflow seeds, the last descent from the best
mapping only) and `free` (any spatial mapping, the default search).
Prints wall time and total energy per side and the ratios; --breakdown adds energy per memory level and
operand (summed over the network) and per layer for both tools. `--save-peer FILE` saves ZigZag's run as a
record (with when and under what load it ran); `--peer-json FILE` reuses one (or a bare zigzag_peer.py line)
instead of running ZigZag, and says so under the ZigZag line. Never run in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import peer_record

from stationary.arch.load import load_arch
from stationary.mapper.network import LayerPlan, map_network, network_totals
from stationary.mapper.search import SearchOptions
from stationary.mapping.constraints import Constraint
from stationary.workload.layer import Layer
from stationary.workload.network import Network
from stationary.workload.zoo import get_model

ARCH = ROOT / "benchmarks" / "zigzag_tpu_like.yaml"
ARCH_LEVELS = load_arch(ARCH).levels


def shape_of_zigzag(sizes: dict[str, int]) -> tuple[int, ...]:
    """(M, C, P, Q, R, S) of a ZigZag layer (a Gemm is a 1x1 layer)."""
    return (sizes["K"], sizes["C"], sizes.get("OY", 1), sizes.get("OX", 1), sizes.get("FY", 1), sizes.get("FX", 1))


ZZ_LEVELS = {"dram": "DRAM", "sram_2MB": "SRAM_2MB", "rf_128B": "RF_128B", "rf_2B": "RF_2B"}
ZZ_OPERANDS = {"W": "Weights", "I": "Inputs", "O": "Outputs"}


def zigzag_parts(layer: dict) -> dict[tuple[str, str], float]:
    """One ZigZag layer's energy (pJ) per (level, tensor), plus ("MAC", "")."""
    out = {("MAC", ""): layer["mac_energy_pj"]}
    for op, levels in layer["breakdown"].items():
        for lv, e in levels.items():
            out[(ZZ_LEVELS[lv], ZZ_OPERANDS[op])] = sum(v for k, v in e.items() if k.startswith("pj_"))
    return out


def ours_parts(plan: LayerPlan) -> dict[tuple[str, str], float]:
    """One stationary layer's energy (pJ) per (level, tensor), plus ("MAC", "") and leakage (none here)."""
    r = plan.found.result
    out = {("MAC", ""): r.compute_energy_pj}
    for lv in r.levels:
        for t, tc in lv.tensors.items():
            if tc.kept:
                out[(lv.name, t)] = out.get((lv.name, t), 0.0) + tc.energy_pj
        if lv.leak_energy_pj:
            out[(lv.name, "leak")] = lv.leak_energy_pj
    return out


def input_words(layer: Layer) -> tuple[int, int]:
    """(elements of the input a layer touches, padding excluded: ZigZag's count; its padded/strided bounding box:
    what Timeloop's rules, and so stationary, count as the whole input tile), per batch and group."""
    def rows(out: int, k: int, stride: int, dil: int, pad: int, size: int) -> tuple[int, int]:
        touched = {o * stride + r * dil - pad for o in range(out) for r in range(k)}
        return sum(0 <= x < size for x in touched), stride * (out - 1) + dil * (k - 1) + 1
    th, bh = rows(layer.P, layer.R, layer.stride[0], layer.dilation[0], layer.padding[0], layer.H)
    tw, bw = rows(layer.Q, layer.S, layer.stride[1], layer.dilation[1], layer.padding[1], layer.W)
    return layer.C * th * tw, layer.C * bh * bw


def zigzag_input_convention(plan: LayerPlan) -> float:
    """stationary's energy (pJ) with its inputs counted as ZigZag counts them: where stationary reads at least the
    whole padded/strided input box from DRAM, one box's worth of DRAM reads and SRAM fills is charged for the
    touched elements only (box - touched fewer words); where it reads less (tiles that skip the stride's gaps),
    nothing is changed. Everything else as stationary counts it."""
    touched, box = input_words(plan.layer)
    r = plan.found.result
    dram = r.level("DRAM").tensors["Inputs"]
    if dram.reads < box * plan.layer.N * plan.layer.G:
        return r.energy_pj
    extra = (box - touched) * plan.layer.N * plan.layer.G
    pj = ARCH_LEVELS[0].energy.read_pj
    sram = r.level("SRAM_2MB").tensors["Inputs"]
    if sram.kept:  # the words DRAM sends are filled into the SRAM
        pj += next(x for x in ARCH_LEVELS if x.name == "SRAM_2MB").energy.write_pj
    return r.energy_pj - extra * pj


def print_breakdown(peer: dict, runs: dict[str, list[LayerPlan]]) -> None:
    """Energy per (level, tensor) over the network, then per layer (layers matched by shape), both tools."""
    zz_layers = peer["layers"]
    by_shape: dict[tuple[str | int, ...], list[LayerPlan]] = {}
    for name, plans in runs.items():
        for p in plans:
            by_shape.setdefault((name, p.layer.M, p.layer.C, p.layer.P, p.layer.Q, p.layer.R, p.layer.S), []).append(p)
    totals: dict[str, dict[tuple[str, str], float]] = {n: {} for n in ("ZigZag", *runs)}
    rows = []
    for zl in zz_layers:
        shape = shape_of_zigzag(zl["sizes"])
        parts = {"ZigZag": zigzag_parts(zl)}
        for name in runs:
            parts[name] = ours_parts(by_shape[(name, *shape)][0])
        for name, pp in parts.items():
            for k, v in pp.items():
                totals[name][k] = totals[name].get(k, 0.0) + v
        diffs = {}
        for name in runs:  # the two (level, operand) pairs that differ most from ZigZag's
            d = {k: parts[name].get(k, 0.0) - parts["ZigZag"].get(k, 0.0)
                 for k in set(parts[name]) | set(parts["ZigZag"])}
            top = sorted(d, key=lambda k: -abs(d[k]))[:2]
            diffs[name] = " ".join(f"{k[0]}/{k[1][:1]} {d[k] / 1e6:+.1f}" for k in top)
        rows.append((zl["name"], shape, {n: sum(pp.values()) for n, pp in parts.items()}, diffs))
    keys = sorted(set().union(*totals.values()))
    print("Energy by memory level and operand, whole network (uJ)")
    print(f"  {'level':9s} {'operand':8s} " + " ".join(f"{n:>10s}" for n in totals))
    for k in keys:
        print(f"  {k[0]:9s} {k[1]:8s} " + " ".join(f"{t.get(k, 0.0) / 1e6:10.2f}" for t in totals.values()))
    print(f"  {'total':18s} " + " ".join(f"{sum(t.values()) / 1e6:10.2f}" for t in totals.values()))
    print("Per layer (uJ; ratio to ZigZag)")
    for name, shape, e, diffs in rows:
        print(f"  {name[:34]:34s} {'x'.join(map(str, shape)):>20s} ZigZag {e['ZigZag'] / 1e6:8.2f} "
              + " ".join(f"| {n} {e[n] / 1e6:8.2f} ({e[n] / e['ZigZag']:.2f}; {diffs[n]})" for n in runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=0, help="only the first N MAC layers (0: all 21)")
    ap.add_argument("--budget", type=int, default=20_000, help="stationary's evaluations per distinct shape")
    ap.add_argument("--seed", type=int, default=0, help="stationary's search seed")
    ap.add_argument("--jobs", type=int, default=1, help="stationary's worker processes (ZigZag runs in one)")
    ap.add_argument("--batch", type=int, default=SearchOptions().batch, help="stationary's mappings per batch")
    ap.add_argument("--peer", default="/work/peers/zigzag", help="ZigZag venv")
    ap.add_argument("--breakdown", action="store_true", help="energy per level, operand and layer, both tools")
    ap.add_argument("--peer-json", help="reuse zigzag_peer.py's output or a --save-peer record "
                    "(its time is that run's)")
    ap.add_argument("--save-peer", type=Path, help="save ZigZag's run here as a record for later --peer-json")
    args = ap.parse_args()
    if args.peer_json and args.save_peer:
        raise SystemExit("--peer-json reuses a saved ZigZag run; --save-peer saves a new one: give one of them")
    cmd = [str(Path(args.peer) / "bin" / "python"), str(ROOT / "benchmarks" / "zigzag_peer.py")]
    if args.layers:
        cmd += ["--layers", str(args.layers)]
    reused, vs = "", "ZigZag's"
    if args.peer_json:
        peer, meta = peer_record.load(Path(args.peer_json))
        reused = peer_record.describe(Path(args.peer_json), meta)
        vs = f"saved ZigZag run's ({meta['measured_at'] if meta else 'date not recorded'})"
    else:
        peer = peer_record.run_and_save(cmd, args.save_peer)

    arch = load_arch(ARCH)
    full = get_model("resnet18")
    layers = full.mac_layers()[: args.layers or None]
    net = Network(full.name, tuple(replace(x, inputs=()) for x in layers)) if args.layers else full
    ours = {(x.M, x.C, x.P, x.Q, x.R, x.S) for x in layers}
    theirs = {shape_of_zigzag(x["sizes"]) for x in peer["layers"]}
    if ours != theirs:
        raise SystemExit(f"layer shapes differ: stationary {sorted(ours)} vs ZigZag {sorted(theirs)}")
    matched = [Constraint("SRAM_2MB", "spatial", permutation=("M", "C"), split=1, source="ZigZag's K x C")]
    # matched: ZigZag's spatial mapping, no dataflow seeds or polish, the last descent from the best alone
    # (from all 24 elites: 0.989x ZigZag's energy but 3.5 s; docs/mapper.md "Descent")
    runs = {"matched": (matched, SearchOptions(budget=args.budget, batch=args.batch, seed=args.seed,
                                                 seed_dataflows=False, descent_elites=1)),
            "free": ([], SearchOptions(budget=args.budget, batch=args.batch, seed=args.seed))}
    zz_e, zz_t = peer["energy_pj"], peer["seconds"]
    macs = sum(x["macs"] for x in peer["layers"])
    print(f"ResNet-18 ({len(layers)} MAC layers, {macs / 1e9:.2f} GMAC) on ZigZag's tpu_like")
    print(f"ZigZag 3.9.1 (LOMA, lpf 6): {zz_t:8.1f} s  {zz_e / 1e6:9.2f} uJ  {zz_e / macs:.3f} pJ/MAC")
    if reused:
        print(f"  {reused}")
    found: dict[str, list[LayerPlan]] = {}
    for name, (cs, opts) in runs.items():
        t = time.perf_counter()
        plans = map_network(net, arch, "free", opts, constraints=cs, jobs=args.jobs)
        seconds = time.perf_counter() - t
        tot = network_totals(plans)
        conv = sum(zigzag_input_convention(p) for p in plans)
        found[name] = plans
        print(f"stationary {name:8s}:       {seconds:8.1f} s  {tot['energy_pj'] / 1e6:9.2f} uJ  "
              f"{tot['energy_pj'] / tot['macs']:.3f} pJ/MAC | {zz_t / seconds:5.1f}x faster, energy "
              f"{tot['energy_pj'] / zz_e:.3f}x {vs} ({tot['distinct_shapes']} shapes, "
              f"{tot['evaluated']:,} mappings scored)", flush=True)
        print(f"  {'with inputs counted as ZigZag does':34s} {conv / 1e6:9.2f} uJ  {conv / tot['macs']:.3f} pJ/MAC | "
              f"energy {conv / zz_e:.3f}x {vs} (touched input elements, not the padded/strided box)")
    if args.breakdown:
        print_breakdown(peer, found)


if __name__ == "__main__":
    main()
