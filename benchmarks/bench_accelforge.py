"""Single-layer mapping search against AccelForge 1.0.467 (FFM mapper) on its own example architectures.

    python3 benchmarks/bench_accelforge.py [--arch nvdla] [--layers resnet18:layer4_1_conv2,...] [--timeout 900]
        [--budget 40000] [--explore-loop-orders] [--quick] [--peer DIR] [--peer-dir DIR [--peer-only]]

AccelForge runs in its venv through benchmarks/accelforge_peer.py (one subprocess per layer, killed after
--timeout s), by default with loop-order exploration off (its full map space did not finish AlexNet conv2 in
30 minutes here). Its architectures are translated to benchmarks/accelforge_<arch>.yaml (same sizes, its
per-action energies per word). Per layer this prints AccelForge's energy (pJ/MAC, its model) and wall time,
stationary's (`stationary map`'s search, with AccelForge's fan-out rules as a spatial constraint) and
AccelForge's best mapping translated to a stationary Mapping and scored in stationary's model: the gap
between stationary and that re-score is search quality, the gap between the re-score and AccelForge's own
number is model convention. `--peer-dir DIR` saves each AccelForge run there (one JSON record per
architecture and layer, with when and under what load it ran) and reuses a record already there, so stationary
can be re-timed later without re-running AccelForge; `--peer-only` runs (or reuses) the peers and stops.
Never run in CI.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import peer_record  # noqa: E402

from stationary.arch.load import load_arch  # noqa: E402
from stationary.arch.spec import Architecture  # noqa: E402
from stationary.errors import StationaryError  # noqa: E402
from stationary.mapper.search import SearchOptions, search  # noqa: E402
from stationary.mapping.constraints import Constraint  # noqa: E402
from stationary.mapping.mapping import LevelMapping, Mapping  # noqa: E402
from stationary.model.evaluate import evaluate  # noqa: E402
from stationary.workload.layer import Layer, LayerKind  # noqa: E402
from stationary.workload.loopnest import LoopNest  # noqa: E402
from stationary.workload.zoo import get_model  # noqa: E402

TENSORS = {"I": "Inputs", "F": "Weights", "O": "Outputs"}


@dataclass(frozen=True)
class Fanout:
    """One AccelForge fan-out: the stationary level whose spatial factors it is, the mesh axis, and the dims its
    `reuse:` keyword lets spread on it (`reuse: input`: only dims that do not index the inputs, etc.)."""

    level: str
    axis: str  # "X" | "Y"
    dims: tuple[str, ...]


@dataclass(frozen=True)
class PeerArch:
    """One AccelForge example architecture: its translation, word size, and its fan-outs by name."""

    yaml: str
    bits: int
    fanouts: dict[str, Fanout]


ALL = ("N", "M", "C", "P", "Q", "R", "S")
ARCHES = {
    "nvdla": PeerArch("accelforge_nvdla.yaml", 8, {"reuse_input": Fanout("GlobalBuffer", "X", ("M",)),
                                                   "reuse_output": Fanout("GlobalBuffer", "Y", ("C", "R", "S"))}),
    "eyeriss": PeerArch("accelforge_eyeriss.yaml", 16,
                        {"reuse_weight": Fanout("GlobalBuffer", "X", ("N", "P", "Q")),
                         "reuse_output": Fanout("GlobalBuffer", "Y", ("C", "R", "S"))}),
    "simba": PeerArch("accelforge_simba.yaml", 8, {"reuse_all": Fanout("GlobalBuffer", "X", ALL),
                                                   "reuse_output": Fanout("AccumulationBuffer", "X", ("C", "R", "S")),
                                                   "reuse_input": Fanout("AccumulationBuffer", "Y", ("M",))}),
}


def fanout_constraints(pa: PeerArch) -> list[Constraint]:
    """AccelForge's fan-out rules per level: the dims each axis may spread (X dims first, `split` after them).
    Its `min_usage: 1` is not passed on: stationary's random sampling finds no mapping under a 100% utilization
    floor on layers whose C does not divide the fan-out. A level whose X and Y both allow every dim is free."""
    out = []
    for level in dict.fromkeys(f.level for f in pa.fanouts.values()):
        x = next((f.dims for f in pa.fanouts.values() if f.level == level and f.axis == "X"), ())
        y = next((f.dims for f in pa.fanouts.values() if f.level == level and f.axis == "Y"), ())
        if set(x) & set(y) or x == ALL:
            continue  # a dim allowed on both axes cannot be pinned by one permutation; ALL: no rule
        others = tuple((d, 1) for d in ("G", *ALL) if d not in x + y)
        out.append(Constraint(level, "spatial", factors=others, permutation=x + y, split=len(x),
                              source="AccelForge's fan-out reuse rules"))
    return out


def translate(nest_nodes: list[dict], pa: PeerArch, arch: Architecture) -> tuple[Mapping, list[str]]:
    """AccelForge's loop nest as a stationary Mapping, and what the translation could not keep.

    A stationary level owns the loops between its first storage node and the next level's first one (Timeloop's
    rule: one position per level for all its tensors); AccelForge may place one level's tensors at different
    positions, which changes that level's tile sizes (capacity) and, for loops irrelevant to the lower-placed
    tensor, its refetches: such splits are listed."""
    names = [lv.name for lv in arch.levels]
    temporal: list[dict[str, int]] = [{} for _ in names]
    order: list[list[str]] = [[] for _ in names]
    spatial: list[dict[str, int]] = [{} for _ in names]
    axis: dict[tuple[int, str], str] = {}
    keep: list[set[str]] = [set() for _ in names]
    notes: list[str] = []
    cur = 0
    loops_since_storage = 0
    for node in nest_nodes:
        if node["kind"] == "storage":
            li = names.index(node["component"])
            if li < cur:
                notes.append(f"{node['component']} keeps {node['tensors']} below a lower level's storage")
            elif li == cur and keep[li] and loops_since_storage:
                notes.append(f"{node['component']} keeps {node['tensors']} {loops_since_storage} loop(s) lower")
            cur = max(cur, li)
            keep[li].update(TENSORS[t] for t in node["tensors"])
            loops_since_storage = 0
            continue
        if not node["exact"]:
            raise StationaryError(f"AccelForge loop {node['var']} is imperfect; stationary's mapping cannot hold it")
        d = node["var"].upper()
        if node["factor"] == 1:
            continue
        loops_since_storage += 1
        if node["kind"] == "temporal":
            temporal[cur][d] = temporal[cur].get(d, 1) * node["factor"]
            if d in order[cur]:
                notes.append(f"two {d} loops at {names[cur]} merged")
            else:
                order[cur].append(d)
        else:
            fo = pa.fanouts[node["fanout"]]
            li = names.index(fo.level)
            spatial[li][d] = spatial[li].get(d, 1) * node["factor"]
            axis[(li, d)] = fo.axis
    levels = []
    for i in range(len(names)):
        sp = sorted(spatial[i], key=lambda d: axis[(i, d)] != "X")
        keeps = frozenset(keep[i]) if i else frozenset(TENSORS.values())
        levels.append(LevelMapping(temporal=temporal[i], permutation=tuple(reversed(order[i])), spatial=spatial[i],
                                   spatial_permutation=tuple(sp), split=sum(axis[(i, d)] == "X" for d in sp),
                                   keep=keeps, bypass=frozenset(TENSORS.values()) - keeps))
    return Mapping(tuple(levels)), notes


def layer_arg(layer: Layer) -> str:
    """accelforge_peer.py's --layer for a stationary layer (one group, one batch; stride equal on both axes)."""
    if layer.G != 1 or layer.stride[0] != layer.stride[1] or layer.dilation != (1, 1):
        raise StationaryError(f"{layer.name}: only ungrouped, undilated layers with equal strides are compared")
    return ",".join(map(str, (layer.M, layer.C, layer.P, layer.Q, layer.R, layer.S, layer.stride[0], layer.N)))


def pick_layers(spec: str) -> list[Layer]:
    """`model:layer,model:layer` from the zoo."""
    out = []
    for item in spec.split(","):
        model, _, name = item.partition(":")
        layers = {x.name: x for x in get_model(model).mac_layers()}
        if name not in layers:
            raise SystemExit(f"{model} has no MAC layer {name!r} (layers: {', '.join(layers)})")
        out.append(layers[name])
    return out


def shape_layer(text: str) -> Layer:
    """A layer from `M,C,P,Q,R,S,stride` (no padding: the input is the strided window box)."""
    m, c, p, q, r, s, stride = (int(v) for v in text.split(","))
    return Layer(f"M{m}C{c}P{p}Q{q}R{r}S{s}/{stride}", LayerKind.CONV, M=m, C=c, P=p, Q=q, R=r, S=s,
                 H=(p - 1) * stride + r, W=(q - 1) * stride + s, stride=(stride, stride))


def record_path(peer_dir: Path, arch: str, layer: Layer, loop_orders: bool) -> Path:
    """Where --peer-dir keeps AccelForge's run of one architecture and layer (named by the peer's --layer)."""
    mode = "_loop_orders" if loop_orders else ""
    return peer_dir / f"accelforge_{arch}_{layer_arg(layer).replace(',', '-')}{mode}.json"


def run_peer(peer: Path, arch: str, pa: PeerArch, layer: Layer, timeout_s: float, loop_orders: bool,
             save_to: Path | None = None) -> dict | None:
    """AccelForge's result for one layer (saved as a record at save_to if given), or None if it did not finish
    within timeout_s (a timeout is saved too, as {"timeout_s": ...}, so a reuse does not wait for it again)."""
    cmd = [str(peer / "bin" / "python"), str(ROOT / "benchmarks" / "accelforge_peer.py"), "--arch", arch,
           "--bits", str(pa.bits), "--layer", layer_arg(layer)]
    if loop_orders:
        cmd.append("--explore-loop-orders")
    start = peer_record.load_avg()
    try:
        return peer_record.run_and_save(cmd, save_to, timeout_s)
    except subprocess.TimeoutExpired:
        if save_to is not None:
            peer_record.save(save_to, {"timeout_s": timeout_s}, cmd, start)
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default=",".join(ARCHES), help=f"AccelForge example architectures ({', '.join(ARCHES)})")
    ap.add_argument("--layers", default="resnet18:layer4_1_conv2,resnet18:layer4_0_downsample,alexnet:conv3",
                    help="model:layer list from the zoo")
    ap.add_argument("--shape", help="instead of --layers: one layer M,C,P,Q,R,S,stride (unpadded)")
    ap.add_argument("--peer-json", help="reuse accelforge_peer.py's output (or a saved record) for the one arch and "
                    "layer given")
    ap.add_argument("--peer-dir", type=Path, help="save each AccelForge run here, or reuse the one saved there")
    ap.add_argument("--peer-only", action="store_true", help="with --peer-dir: only run (or reuse) AccelForge")
    ap.add_argument("--timeout", type=float, default=900.0, help="AccelForge's limit per layer (s)")
    ap.add_argument("--budget", type=int, default=SearchOptions().budget, help="stationary's evaluations")
    ap.add_argument("--explore-loop-orders", action="store_true", help="AccelForge's full (default) map space")
    ap.add_argument("--quick", action="store_true", help="one small layer (ResNet-18 layer4 downsample) on nvdla")
    ap.add_argument("--peer", default="/work/peers/accelforge", help="AccelForge venv")
    args = ap.parse_args()
    if args.peer_only and not args.peer_dir:
        raise SystemExit("--peer-only needs --peer-dir (where to save AccelForge's runs)")
    if args.quick:
        args.arch, args.layers = "nvdla", "resnet18:layer4_0_downsample"
    for arch_name in args.arch.split(","):
        pa = ARCHES[arch_name]
        arch = load_arch(ROOT / "benchmarks" / pa.yaml)
        mode = "loop orders explored" if args.explore_loop_orders else "loop-order exploration off"
        print(f"== AccelForge {arch_name} ({mode}, timeout {args.timeout:.0f} s) vs stationary on {arch.name}")
        print(f"  {'layer':28s} {'AccelForge pJ/MAC':>17s} {'time':>8s} {'latency us':>10s} | "
              f"{'stationary pJ/MAC':>17s} {'time':>7s} {'latency us':>10s} | {'AF mapping in ours':>18s} | "
              f"{'speed':>6s} {'energy':>6s}")
        for layer in [shape_layer(args.shape)] if args.shape else pick_layers(args.layers):
            nest: LoopNest = layer.loop_nest()
            reused = ""
            peer: dict[str, Any] | None
            saved_at = record_path(args.peer_dir, arch_name, layer, args.explore_loop_orders) if args.peer_dir else None
            if args.peer_json or (saved_at is not None and saved_at.exists()):
                path = Path(args.peer_json) if args.peer_json else saved_at
                assert path is not None
                record, meta = peer_record.load(path)
                reused = peer_record.describe(path, meta)
                peer = None if "timeout_s" in record else record  # a saved timeout: no peer result
            else:
                peer = run_peer(Path(args.peer), arch_name, pa, layer, args.timeout, args.explore_loop_orders,
                                saved_at)
            if args.peer_only:
                state = ("timeout" if peer is None
                         else f"{peer['seconds']:.1f} s, {peer['energy_pj'] / peer['macs']:.3f} pJ/MAC")
                print(f"  {layer.name:28s} AccelForge {state} {reused or f'(saved to {saved_at})'}", flush=True)
                continue
            t = time.perf_counter()
            found = search(nest, arch, fanout_constraints(pa), SearchOptions(budget=args.budget))
            ours_s = time.perf_counter() - t
            ours = found.result
            ours_us = ours.cycles / arch.clock_mhz
            if peer is None:
                print(f"  {layer.name:28s} {'(timeout)':>17s} {'>' + format(args.timeout, '.0f'):>8s} {'':>10s} | "
                      f"{ours.energy_pj / ours.macs:17.3f} {ours_s:6.1f}s {ours_us:10.2f} |", flush=True)
                if reused:
                    print(f"      {reused}")
                continue
            if peer["macs"] != ours.macs:
                raise SystemExit(f"{layer.name}: MACs differ (AccelForge {peer['macs']}, stationary {ours.macs})")
            mapping, notes = translate(peer["nest"], pa, arch)
            try:
                rescored = f"{evaluate(nest, arch, mapping).energy_pj / ours.macs:18.3f}"
            except StationaryError as e:  # AccelForge's split storage can fit where one position per level cannot
                rescored = f"{evaluate(nest, arch, mapping, check_capacity=False).energy_pj / ours.macs:17.3f}*"
                notes.append(f"over capacity in stationary's model ({e})")
            af_pj = peer["energy_pj"] / peer["macs"]
            print(f"  {layer.name:28s} {af_pj:17.3f} {peer['seconds']:7.1f}s {peer['latency_s'] * 1e6:10.2f} | "
                  f"{ours.energy_pj / ours.macs:17.3f} {ours_s:6.1f}s {ours_us:10.2f} | {rescored} | "
                  f"{peer['seconds'] / ours_s:5.1f}x {ours.energy_pj / peer['energy_pj']:6.3f}", flush=True)
            spread = " ".join(f"{n['var']}{n['factor']}" for n in peer["nest"] if n["kind"] == "spatial")
            print(f"      AccelForge spatial {spread}; stationary utilization {ours.utilization:.3f}")
            if reused:
                print(f"      {reused}")
            for n in notes:
                print(f"      translation: {n}")


if __name__ == "__main__":
    main()
