"""A network on two architectures: the best mapping of every CONV layer of a zoo network (AlexNet unless --model)
on the Eyeriss preset and on a Simba-like chip, a table of energy and cycles per layer, and a per-layer energy
plot of each.

Run it top to bottom:  python3 docs/examples/network_on_two_archs.py [PLOT_DIR] [--model NAME] [--budget N]
(PLOT_DIR defaults to a new temporary folder; the PNG paths are printed at the end). Only `stationary.api`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from stationary import api

ARCHS = ("eyeriss", "simba_like")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plot_dir", nargs="?", help="folder for the plots (default: a new temporary folder)")
    parser.add_argument("--model", default="alexnet",
                        help="zoo network (default alexnet; resnet18 works too, at about twice the CPU time)")
    parser.add_argument("--budget", type=int, default=500, help="fast-model evaluations per distinct layer")
    args = parser.parse_args()
    out = Path(args.plot_dir) if args.plot_dir else Path(tempfile.mkdtemp(prefix="stationary-"))
    out.mkdir(parents=True, exist_ok=True)

    counts = api.stats(args.model)
    print(f"{args.model}: {counts.macs:,} MACs, {counts.weights:,} weights, {counts.conv_layers} CONV layers")

    runs = {arch: api.evaluate(args.model, arch, layers="conv", budget=args.budget, jobs=1) for arch in ARCHS}
    first = runs[ARCHS[0]]
    w = max(len(row.name) for row in first.layers) + 3
    print(f"\n{'layer':<{w}}" + "".join(f"{a + ' pJ/MAC':>20}{a + ' cycles':>20}" for a in ARCHS))
    for k, row in enumerate(first.layers):
        cells = "".join(f"{runs[a].layers[k].energy_per_mac_pj:>20.3f}{runs[a].layers[k].cycles:>20,}"
                        for a in ARCHS)
        print(f"{row.name + (' *' if row.cached else ''):<{w}}{cells}")
    print(f"{'total':<{w}}" + "".join(f"{runs[a].total.energy_per_mac_pj:>20.3f}{runs[a].total.cycles:>20,}"
                                      for a in ARCHS))
    print("(* same shape as an earlier layer: searched once)\n")
    for arch, ev in runs.items():
        t = ev.total
        print(f"{arch}: {t.energy_pj / 1e6:,.2f} uJ, {t.fps:,.1f} fps at {t.clock_mhz:g} MHz, {t.power_mw:,.1f} mW, "
              f"DRAM {t.dram_bytes / 1e6:,.2f} MB, optimality {ev.optimality.label()}")
    for arch, ev in runs.items():
        print(f"plot: {ev.plot(out / f'{args.model}_{arch}.png')}")


if __name__ == "__main__":
    main()
