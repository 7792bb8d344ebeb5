"""Reproduce the fused-layer paper's headline (Alwani et al., MICRO 2016): VGGNet-E's first five convolutional
layers with 362 KB on chip, off-chip feature-map traffic layer by layer vs fused (paper: 77 MB -> 3.6 MB).

Run: PYTHONPATH=src python3 benchmarks/fused_layer_paper.py [--word-bits 16]
"""

from __future__ import annotations

import argparse

from stationary.arch.load import load_arch
from stationary.fusion.graph import make_group
from stationary.fusion.search import best_tiling, halo_summary
from stationary.fusion.tiles import count
from stationary.workload.layer import LayerKind
from stationary.workload.zoo import get_model

KB = 1024
PAPER_LAYER_BY_LAYER_MB, PAPER_FUSED_MB, PAPER_KB = 77.0, 3.6, 362


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--word-bits", type=int, default=None, help="word size (default: both 16 and 32)")
    args = ap.parse_args()
    net = get_model("vgg19")
    first = net.layers[:7]  # conv1_1 conv1_2 pool1 conv2_1 conv2_2 pool2 conv3_1
    assert [x.name for x in first if x.kind == LayerKind.CONV] == ["conv1_1", "conv1_2", "conv2_1", "conv2_2",
                                                                    "conv3_1"]
    for bits in ([args.word_bits] if args.word_bits else [16, 32]):
        b = bits / 8
        words = PAPER_KB * KB * 8 // bits
        arch = load_arch("eyeriss")
        arch = arch.with_level(1, depth=words // arch.levels[1].block_size, word_bits=bits)
        # layer by layer: every convolution reads its input and writes its output (pooling fused into the
        # convolution before it, as the paper's baseline does); and with pooling as its own layer
        convs = [x for x in first if x.kind == LayerKind.CONV]
        pools = [x for x in first if x.kind == LayerKind.POOL]
        lbl = sum(x.input_activations for x in convs) + sum(x.output_activations for x in convs)
        lbl -= sum(p.input_activations - p.output_activations for p in pools)  # pooled before writing
        lbl_pool_apart = sum(x.input_activations + x.output_activations for x in first)
        group = make_group(net, 0, 7)
        found = best_tiling(group, arch, 1)
        print(f"--- {bits}-bit words: {PAPER_KB} KB = {words:,} words on chip")
        print(f"layer by layer, feature maps: {lbl * b / 1e6:.1f} MB ({lbl * b / 2**20:.1f} MiB); with pooling "
              f"as separate layers {lbl_pool_apart * b / 1e6:.1f} MB ({lbl_pool_apart * b / 2**20:.1f} MiB); "
              f"paper {PAPER_LAYER_BY_LAYER_MB} MB")
        if isinstance(found, int):
            print(f"fused: does not fit, needs {found:,} words ({found * b / KB:.0f} KB)")
            continue
        (rows, cols, halos, heads), _ = found
        policy = halo_summary(halos)
        c = count(group, rows, cols, halos, words, heads)
        fm = c.input_words + c.output_words
        print(f"fused (tile {rows}x{cols} of conv3_1's output, halo {policy}, {c.tiles} tiles): feature maps "
              f"{fm * b / 1e6:.2f} MB ({fm * b / 2**20:.2f} MiB), paper {PAPER_FUSED_MB} MB; "
              f"-{(1 - fm / lbl) * 100:.1f} % (paper -95 %)")
        print(f"  on chip {c.buffer_words:,} words ({c.buffer_words * b / KB:.0f} KB), weights "
              f"{'resident' if c.weights_resident else 'streamed'}: {c.weight_words * b / 1e6:.2f} MB, "
              f"recomputed MACs {c.recompute_macs:,}")


if __name__ == "__main__":
    main()
