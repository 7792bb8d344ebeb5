"""Attention fusion on one transformer block of an LLM config (prefill or decode): the fused groups and DRAM
bytes, energy and cycles fused vs layer by layer (the CLI's `evaluate` takes zoo models only).

Run: PYTHONPATH=src python3 benchmarks/attention_fusion.py gpt2 prefill 256 [--arch eyeriss] [--budget 20000]
"""

from __future__ import annotations

import argparse
import time

from stationary.arch.load import load_arch
from stationary.fusion.report import fusion_json
from stationary.fusion.search import plan_fusion
from stationary.mapper.network import map_network
from stationary.mapper.search import SearchOptions
from stationary.workload.llm import build_step, load_config
from stationary.workload.network import Network


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config", help="an LLM config name (gpt2, llama3_8b, ...) or config.json")
    ap.add_argument("phase", choices=["prefill", "decode"])
    ap.add_argument("seq", type=int, help="prefill tokens, or cached positions in decode")
    ap.add_argument("--arch", default="eyeriss")
    ap.add_argument("--budget", type=int, default=SearchOptions().budget)
    args = ap.parse_args()
    start = time.perf_counter()
    step = build_step(load_config(args.config), args.phase, args.seq)
    net = Network(f"{args.config}_{args.phase}_h0",
                  tuple(o.layer for o in step.operators if o.layer.name.startswith("h0.")))
    arch, options = load_arch(args.arch), SearchOptions(budget=args.budget)
    f = fusion_json(plan_fusion(net, arch, map_network(net, arch, options=options, jobs=1), "auto", options))
    for g in f["groups"]:
        if g["fused"]:
            print(f"{'+'.join(g['layers'])}{' (attention)' if g['attention'] else ''}: tile {g['tile']}, "
                  f"heads per tile {g['heads_per_tile']}, DRAM {g['dram_bytes_layer_by_layer']:,.0f} -> "
                  f"{g['dram_bytes']:,.0f} B (K and V {g['kv_bytes']:,.0f} B), {g['buffer_words']:,} words")
    print(f"block 0: DRAM {f['dram_bytes_layer_by_layer']:,.0f} -> {f['dram_bytes_fused']:,.0f} B; energy "
          f"{f['energy_pj_layer_by_layer']:,.0f} -> {f['energy_pj_fused']:,.0f} pJ; cycles "
          f"{f['cycles_layer_by_layer']:,} -> {f['cycles_fused']:,}; not fusible {f['not_fusible']}")
    print(f"wall {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
