"""ResNet-18's strided 1x1 downsample layers on zigzag_tpu_like: are their extra DRAM input words (the strided box
against the touched elements) a model rule or a search weakness? Scores a hand-written 'pixel-outer' mapping
(every P,Q loop at DRAM, so each SRAM input tile is one pixel x C: no stride gaps) in stationary's model next to
the search's best (matched, budget 20000, seed 0) and ZigZag's layer (per level and operand, uJ).

    python3 benchmarks/zigzag_downsample_probe.py SAVED_ZIGZAG_RECORD.json [BUDGET]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import peer_record
from bench_zigzag import ARCH, input_words, ours_parts, shape_of_zigzag, zigzag_parts

from stationary.arch.load import load_arch
from stationary.mapper.network import LayerPlan
from stationary.mapper.search import SearchOptions, search
from stationary.mapping.constraints import Constraint
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.workload.layer import Layer
from stationary.workload.zoo import get_model

arch = load_arch(ARCH)
peer = None
if len(sys.argv) > 1:
    peer, _ = peer_record.load(Path(sys.argv[1]))
zz = {shape_of_zigzag(l["sizes"]): l for l in peer["layers"]} if peer else {}
budget = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
matched = [Constraint("SRAM_2MB", "spatial", permutation=("M", "C"), split=1, source="ZigZag's K x C")]
W, I, O = "Weights", "Inputs", "Outputs"

def pixel_outer(layer: Layer, rows_in_sram: int = 1) -> Mapping:
    """Every P (in steps of rows_in_sram) and Q loop at DRAM; M32 x C32 spatial below the SRAM as ZigZag's;
    the rest of M and C at the weight RF (C innermost, so the output register accumulates)."""
    m, c = layer.M, layer.C
    return Mapping((
        LevelMapping(temporal={"P": layer.P // rows_in_sram, "Q": layer.Q}, permutation=("Q", "P"),
                     keep=frozenset({W, I, O})),
        LevelMapping(temporal={"P": rows_in_sram} if rows_in_sram > 1 else {}, permutation=("P",),
                     spatial={"M": 32, "C": 32}, spatial_permutation=("M", "C"), split=1,
                     keep=frozenset({I, O}), bypass=frozenset({W})),
        LevelMapping(temporal={"M": m // 32, "C": c // 32}, permutation=("C", "M"), keep=frozenset({W}),
                     bypass=frozenset({I, O})),
        LevelMapping(keep=frozenset({O}), bypass=frozenset({W, I})),
    ))

for layer in get_model("resnet18").mac_layers():
    if "downsample" not in layer.name:
        continue
    nest = layer.loop_nest()
    touched, box = input_words(layer)
    t = time.perf_counter()
    best = search(nest, arch, matched, SearchOptions(budget=budget, seed=0, seed_dataflows=False))
    dt = time.perf_counter() - t
    r = best.result
    hand = evaluate(nest, arch, pixel_outer(layer))
    shape = (layer.M, layer.C, layer.P, layer.Q, layer.R, layer.S)
    print(f"{layer.name} {'x'.join(map(str, shape))} stride {layer.stride}: input touched {touched} words, box {box}")
    zl = zz.get(shape)
    if zl:
        print(f"  ZigZag          {zl['energy_pj'] / 1e6:8.3f} uJ  DRAM input reads "
              f"{zl['breakdown']['I']['dram']['words_rd_out_to_low'] * 8:.0f} words (its 64-bit words x 8)")
    for name, res in (("search best", r), ("pixel-outer", hand)):
        d = res.level("DRAM").tensors[I]
        print(f"  {name:15s} {res.energy_pj / 1e6:8.3f} uJ  DRAM input reads {d.reads} words"
              + (f"  ({dt:.1f} s, {best.evaluated} evaluated)" if res is r else ""))
    pb = ours_parts(LayerPlan(layer, best, False))
    ph = ours_parts(LayerPlan(layer, replace(best, result=hand), False))
    zp = zigzag_parts(zl) if zl else {}
    for k in sorted(set(pb) | set(ph) | set(zp)):
        print(f"    {k[0]:9s} {k[1]:8s} ZZ {zp.get(k, 0) / 1e6:8.3f}  best {pb.get(k, 0) / 1e6:8.3f}  "
              f"pixel-outer {ph.get(k, 0) / 1e6:8.3f} uJ")
    print(f"  search's mapping: {best.mapping}")
