"""Run AccelForge's mapper (FFM, "Turbo-Charged"/Fast-and-Fusiest) on one conv layer and one of its example
architectures; print one JSON line: wall time, energy (its model), latency, per-action energies, action counts
and the best mapping's loop nest. Runs inside AccelForge's venv, called by bench_accelforge.py.

    /work/peers/accelforge/bin/python benchmarks/accelforge_peer.py --arch nvdla --layer M,C,P,Q,R,S,stride[,N]
        [--bits 8] [--explore-loop-orders] [--time-limit 600]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time

import accelforge as af
from accelforge import examples
from accelforge.frontend.mapping import Spatial, Storage, Temporal
from accelforge.mapper.FFM import map_workload_to_arch
from accelforge.model.main import evaluate_mapping

WORKLOAD = """workload:
  rank_sizes: {{N: {N}, M: {M}, C: {C}, P: {P}, Q: {Q}, R: {R}, S: {S}, H: {H}, W: {W}}}
  bits_per_value: {{All: {bits}}}
  einsums:
  - name: Conv
    tensor_accesses:
    - {{name: I, projection: {{N: n, C: c, H: p * {stride} + r, W: q * {stride} + s}}}}
    - {{name: F, projection: [m, c, r, s]}}
    - {{name: O, projection: [n, m, p, q], output: True}}
    renames: {{input: I, output: O, weight: F}}
"""


def loop_nest(mapping, bounds: dict[str, int]) -> list[dict]:
    """The mapping's nodes outermost first: storage (component, tensors), temporal and spatial loops with their
    factor (the tile a loop splits divided by the tile it leaves; AccelForge's nodes give tile shapes)."""
    tile = dict(bounds)
    out: list[dict] = []
    for node in mapping.nodes:
        if isinstance(node, Storage):
            out.append({"kind": "storage", "component": node.component, "tensors": sorted(node.tensors)})
        elif isinstance(node, (Temporal, Spatial)):
            var = str(node.rank_variable)
            shape = int(node.tile_shape)
            before = tile[var]
            entry = {"kind": "temporal" if isinstance(node, Temporal) else "spatial", "var": var,
                     "factor": before // shape, "exact": before % shape == 0}
            if isinstance(node, Spatial):
                entry["fanout"] = str(node.name)
                entry["component"] = str(node.component)
            tile[var] = shape
            out.append(entry)
    return out



def map_and_detail(spec: af.Spec) -> tuple[object, object, float, float]:
    """FFM's search on `spec` and the detailed evaluation of its best mapping (what map_workload_to_arch does
    itself, without its SVG rendering, which needs graphviz): (mapping, result, search s, total s)."""
    start = time.perf_counter()
    found = map_workload_to_arch(spec, print_progress=False, eval_in_detail=False)
    search_s = time.perf_counter() - start
    detail = copy.deepcopy(spec)
    detail.model.metrics = detail.mapper.info_metrics
    detail.mapping = found.data.iloc[0]["Total<SEP>mapping"](_for_model=True)
    res = evaluate_mapping(detail, flattened_arches=found.flattened_arches, evaluated_specs=found.evaluated_specs)
    return detail.mapping, res, search_s, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", required=True, help="an AccelForge example architecture: eyeriss, simba, nvdla")
    ap.add_argument("--layer", required=True, help="M,C,P,Q,R,S,stride[,N]")
    ap.add_argument("--bits", type=int, default=8, help="bits per value of every tensor")
    ap.add_argument("--explore-loop-orders", action="store_true", help="AccelForge's default (slow) map space")
    args = ap.parse_args()
    vals = [int(x) for x in args.layer.split(",")]
    m, c, p, q, r, s, stride = vals[:7]
    n = vals[7] if len(vals) > 7 else 1
    dims = dict(N=n, M=m, C=c, P=p, Q=q, R=r, S=s, H=(p - 1) * stride + r, W=(q - 1) * stride + s)
    with tempfile.TemporaryDirectory() as tmp:
        wl = os.path.join(tmp, "workload.yaml")
        with open(wl, "w") as f:
            f.write(WORKLOAD.format(bits=args.bits, stride=stride, **dims))
        spec = af.Spec.from_yaml(getattr(examples.arches, args.arch), wl)
        spec.mapper.explore_loop_orders = args.explore_loop_orders
        mapping, res, search_s, seconds = map_and_detail(spec)
    costs = spec.calculate_component_costs(area=False, leak=False, throughput=False)
    action_pj = {}
    for comp in costs.arch.get_nodes_of_type(af.arch.Component):
        for a in comp.actions:
            bits = getattr(a, "bits_per_action", None)
            action_pj[f"{comp.name}.{a.name}"] = {"pj": float(a.energy) * 1e12,
                                                   "bits_per_action": None if bits is None else float(bits)}
    energy = {"|".join(str(x) for x in k): float(v) * 1e12
              for k, v in res.energy(per_component=True, per_tensor=True, per_action=True).items()}
    actions = {"|".join(str(x) for x in k): float(v) for k, v in res.actions().items()}
    bounds = {k.lower(): v for k, v in dims.items() if k not in ("H", "W")}
    print(json.dumps({"seconds": seconds, "search_seconds": search_s, "energy_pj": float(res.energy()) * 1e12,
                      "latency_s": float(res.latency()), "macs": n * m * c * p * q * r * s,
                      "energy_parts_pj": energy, "actions": actions, "action_pj": action_pj,
                      "nest": loop_nest(mapping, bounds)}))


if __name__ == "__main__":
    main()
