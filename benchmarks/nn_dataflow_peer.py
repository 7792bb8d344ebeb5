"""Run nn_dataflow's own schedule search on AlexNet with the settings of its test `test_eyeriss_isca16`
(tests/dataflow_test/test_nn_dataflow.py: one 16x16 PE node, 128 kB buffer, 512 B RF per PE, 16-bit words,
cost MAC 1, DRAM 200, buffer 6, array 2, RF 1, the Eyeriss (row stationary) map strategy, default options)
and print one JSON line: wall time and, per layer, MACs and accesses per level and data category.
Runs inside nn_dataflow's venv (benchmarks/README.md), called by bench_nn_dataflow.py.

    /work/peers/nn_dataflow/bin/python benchmarks/nn_dataflow_peer.py [--batch 16]
"""

from __future__ import annotations

import argparse
import json
import time

from nn_dataflow.core import Cost, MapStrategyEyeriss, NNDataflow, NodeRegion, Option, PhyDim2, Resource
from nn_dataflow.core import MemHierEnum as me
from nn_dataflow.nns import import_network

LEVELS = {"DRAM": me.DRAM, "buffer": me.GBUF, "array": me.ITCN, "RF": me.REGF}
CATEGORIES = ("Weights", "Inputs", "Outputs")  # nn_dataflow's DataCategoryEnum order: FIL, IFM, OFM


def resource() -> Resource:
    """The test's resource: one 16x16 PE node, 128 kB buffer, 512 B RF (16-bit words), unlimited bandwidth."""
    def region(kind: int) -> NodeRegion:
        return NodeRegion(origin=PhyDim2(0, 0), dim=PhyDim2(1, 1), type=kind)
    return Resource(proc_region=region(NodeRegion.PROC), dram_region=region(NodeRegion.DRAM),
                    src_data_region=region(NodeRegion.DRAM), dst_data_region=region(NodeRegion.DRAM),
                    dim_array=PhyDim2(16, 16), size_gbuf=128 * 1024 // 2, size_regf=512 // 2,
                    array_bus_width=float("inf"), dram_bandwidth=float("inf"), no_time_mux=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    cost = Cost(mac_op=1, mem_hier=(200, 6, 2, 1), noc_hop=0, idl_unit=0)
    network = import_network("alex_net")
    start = time.perf_counter()
    tops, _ = NNDataflow(network, args.batch, resource(), cost, MapStrategyEyeriss).schedule_search(Option())
    seconds = time.perf_counter() - start
    if not tops:
        raise SystemExit("nn_dataflow found no schedule")
    sched = tops[0]
    layers: dict[str, dict] = {}
    for part in network:  # conv1_a, conv1_b, ...: the halves of AlexNet's two towers add up per layer
        if part not in sched or not part.startswith(("conv", "fc")):  # pooling layers: no MACs
            continue
        name = part.split("_")[0]
        entry = layers.setdefault(name, {"macs": 0, "access": {lv: dict.fromkeys(CATEGORIES, 0.0) for lv in LEVELS}})
        sr = sched[part]
        entry["macs"] += int(sr.total_ops)
        for lv, idx in LEVELS.items():
            for cat, count in zip(CATEGORIES, sr.scheme["access"][idx]):
                entry["access"][lv][cat] += float(count)
            if lv == "buffer":
                entry["access"][lv]["remote"] = float(sum(sr.scheme["remote_gbuf_access"]))
    print(json.dumps({"seconds": seconds, "batch": args.batch, "total_cost": float(sched.total_cost),
                      "unit_cost": {"MAC": cost.mac_op, **{lv: cost.mem_hier[i] for lv, i in LEVELS.items()}},
                      "layers": layers}))


if __name__ == "__main__":
    main()
