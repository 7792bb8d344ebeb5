"""Run AccelForge's fused example (FFM, "Fast & Fusiest") on its matmul chain: examples/workloads/matmuls.yaml
(T{i+1}[m, n{i+1}] = T{i}[m, n{i}] * W{i}[n{i}, n{i+1}]) on examples/arches/simple.yaml (MainMemory,
GlobalBuffer, one MAC), once as shipped (intermediates may stay in the GlobalBuffer: fused) and once with every
tensor kept in MainMemory (layer by layer); `--mode examples` instead evaluates (no search) its shipped example
mappings examples/mappings/fused_matmuls_to_simple.yaml and unfused_matmuls_to_simple.yaml, GlobalBuffer
unbounded as those examples assume; `all` does both. One JSON line per run. Runs inside AccelForge's venv, called
by bench_fused_peers.py.

    /work/peers/accelforge/bin/python benchmarks/accelforge_fused_peer.py [--einsums 2] [--m 64] [--kn 64]
        [--main-memory-energy 100] [--glb-bits 32768] [--mode fused|unfused|both|examples|all]
"""

from __future__ import annotations

import argparse
import json
import time

import accelforge as af
from accelforge import examples
from accelforge.frontend.mapping import Nested, Sequential, Spatial, Storage, Temporal
from accelforge.model.main import evaluate_mapping
from accelforge_peer import map_and_detail  # same folder: the script runs with it on sys.path


def nodes(mapping) -> list[dict]:
    """The mapping's nodes outermost first, flattened: storage (component, tensors), loops (variable, tile shape),
    and a marker where a Sequential/Nested block starts (one per einsum of a fused group)."""
    out: list[dict] = []

    def walk(ns, depth: int) -> None:
        for node in ns:
            if isinstance(node, Storage):
                out.append({"depth": depth, "kind": "storage", "component": node.component,
                            "tensors": sorted(node.tensors)})
            elif isinstance(node, (Temporal, Spatial)):
                out.append({"depth": depth, "kind": "temporal" if isinstance(node, Temporal) else "spatial",
                            "var": str(node.rank_variable), "tile": int(node.tile_shape)})
            elif isinstance(node, (Sequential, Nested)):
                out.append({"depth": depth, "kind": type(node).__name__.lower()})
                walk(node.nodes, depth + 1)
            elif type(node).__name__ == "Compute":
                out.append({"depth": depth, "kind": "compute", "einsum": str(node.einsum)})

    walk(mapping.nodes, 0)
    return out


def run(args: argparse.Namespace, fused: bool) -> dict:
    """One FFM search and the detailed evaluation of its best mapping."""
    jinja = {"N_EINSUMS": args.einsums, "M": args.m, "KN": args.kn, "MainMemoryEnergy": args.main_memory_energy,
             "GlobalBufferSize": args.glb_bits}
    spec = af.Spec.from_yaml(examples.arches.simple, examples.workloads.matmuls, jinja_parse_data=jinja)
    if not fused:  # the shipped arch keeps ~Intermediates in MainMemory; keeping All there forbids fusion
        spec.arch.nodes[0].tensors.keep = "All"
    mapping, res, search_s, seconds = map_and_detail(spec)
    energy = {"|".join(str(x) for x in k): float(v)
              for k, v in res.energy(per_component=True, per_tensor=True, per_action=True).items()}
    actions = {"|".join(str(x) for x in k): float(v) for k, v in res.actions().items()}
    return {"mode": "fused" if fused else "unfused", "seconds": seconds, "search_seconds": search_s,
            "energy": float(res.energy()), "latency": float(res.latency()), "energy_parts": energy,
            "actions": actions, "nodes": nodes(mapping), "jinja": jinja, "bits_per_value": 8}


def example(args: argparse.Namespace, fused: bool) -> dict:
    """AccelForge's model on its shipped fused or unfused matmul mapping (no search; GlobalBuffer unbounded)."""
    jinja = {"N_EINSUMS": args.einsums, "M": args.m, "KN": args.kn, "MainMemoryEnergy": args.main_memory_energy}
    name = f"{'fused' if fused else 'unfused'}_matmuls_to_simple"
    spec = af.Spec.from_yaml(examples.arches.simple, examples.workloads.matmuls, getattr(examples.mappings, name),
                             jinja_parse_data=jinja)
    start = time.perf_counter()
    res = evaluate_mapping(spec)
    seconds = time.perf_counter() - start
    energy = {"|".join(str(x) for x in k): float(v)
              for k, v in res.energy(per_component=True, per_tensor=True, per_action=True).items()}
    actions = {"|".join(str(x) for x in k): float(v) for k, v in res.actions().items()}
    return {"mode": f"example_{'fused' if fused else 'unfused'}", "mapping": name, "seconds": seconds,
            "search_seconds": 0.0, "energy": float(res.energy()), "latency": float(res.latency()),
            "energy_parts": energy, "actions": actions, "nodes": [], "jinja": jinja, "bits_per_value": 8}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--einsums", type=int, default=2, help="matmuls in the chain (N_EINSUMS)")
    ap.add_argument("--m", type=int, default=64, help="rows m (M)")
    ap.add_argument("--kn", type=int, default=64, help="every n_i (KN)")
    ap.add_argument("--main-memory-energy", type=float, default=100.0, help="MainMemory energy per bit")
    ap.add_argument("--glb-bits", type=int, default=32768, help="GlobalBuffer size in bits")
    ap.add_argument("--mode", choices=("fused", "unfused", "both", "examples", "all"), default="both")
    args = ap.parse_args()
    if args.einsums < 2 and args.mode in ("examples", "all"):
        ap.error("--einsums must be >= 2 for the example mappings (their fused form is a Sequential of einsums)")
    if args.mode in ("fused", "both", "all"):
        print(json.dumps(run(args, True)), flush=True)
    if args.mode in ("unfused", "both", "all"):
        print(json.dumps(run(args, False)), flush=True)
    if args.mode in ("examples", "all"):
        for fused in (True, False):
            print(json.dumps(example(args, fused)), flush=True)


if __name__ == "__main__":
    main()
