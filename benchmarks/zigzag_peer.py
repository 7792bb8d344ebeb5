"""Run ZigZag's own mapping search (LOMA, its default) on a workload; print one JSON line with the wall time
and the per-layer energy. Runs inside ZigZag's venv (benchmarks/README.md), called by bench_zigzag.py.

    /work/peers/zigzag/bin/python benchmarks/zigzag_peer.py [--workload resnet18] [--layers N] [--lpf 6]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time

import onnx
import zigzag
from zigzag.api import get_hardware_performance_zigzag

INPUTS = os.path.join(os.path.dirname(zigzag.__file__), "inputs")


def first_layers(model: onnx.ModelProto, n: int) -> onnx.ModelProto:
    """The model with only its first n Conv/Gemm nodes kept (the others are dropped; ZigZag maps each
    Conv/Gemm independently, so the layers keep their shapes)."""
    kept, count = [], 0
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm"):
            count += 1
            if count > n:
                continue
        kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model


def breakdown(cme) -> dict[str, dict[str, dict[str, float]]]:
    """Energy (pJ) per operand (W, I, O), memory level and direction, and the word accesses behind it."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    hierarchy = cme.accelerator.memory_hierarchy
    for layer_op, per_level in cme.mem_energy_breakdown_further.items():
        mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
        levels = hierarchy.get_memory_levels(mem_op=mem_op)
        accesses = cme.memory_word_access[layer_op]
        entry = out.setdefault(str(layer_op), {})
        for level, energy, count in zip(levels, per_level, accesses):
            entry[level.name] = {**{f"pj_{d.name.lower()}": float(energy.get(d)) for d in energy.data},
                                 **{f"words_{d.name.lower()}": float(count.get(d)) for d in count.data}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="resnet18")
    ap.add_argument("--hardware", default="tpu_like")
    ap.add_argument("--layers", type=int, default=0, help="only the first N Conv/Gemm layers (0: all)")
    ap.add_argument("--lpf", type=int, default=6, help="ZigZag's lpf_limit (its default is 6)")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    model = onnx.load(os.path.join(INPUTS, "workload", f"{args.workload}.onnx"), load_external_data=False)
    if args.layers:
        model = first_layers(model, args.layers)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        energy_pj, latency_cycles, cmes = get_hardware_performance_zigzag(
            model, os.path.join(INPUTS, "hardware", f"{args.hardware}.yaml"),
            os.path.join(INPUTS, "mapping", f"{args.hardware}.yaml"), opt="energy", dump_folder=tmp,
            lpf_limit=args.lpf, loma_show_progress_bar=False)
        seconds = time.perf_counter() - start
    layers = []
    for cme, _ in cmes[0][1]:
        sizes = {str(d): int(v) for d, v in cme.layer.layer_dim_sizes.items()}
        layers.append({"name": cme.layer.name, "sizes": sizes, "energy_pj": float(cme.energy_total),
                       "mac_energy_pj": float(cme.mac_energy), "macs": int(cme.layer.total_mac_count),
                       "latency_cycles": float(cme.latency_total2), "breakdown": breakdown(cme),
                       "temporal": str(cme.mapping.temporal_mapping), "spatial": str(cme.mapping.spatial_mapping)})
    print(json.dumps({"seconds": seconds, "energy_pj": float(energy_pj), "latency_cycles": float(latency_cycles),
                      "layers": layers}))


if __name__ == "__main__":
    main()
