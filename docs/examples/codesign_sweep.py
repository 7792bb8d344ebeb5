"""A small co-design sweep: the code-built digits MLP (64 -> 16 -> 10), pruned and quantized, on the TPU-like
256 x 256 systolic array preset.

Run it top to bottom: `python3 docs/examples/codesign_sweep.py [PLOT_DIR]` (PLOT_DIR defaults to a new temporary
folder). It trains the model on the bundled digits data (seeded, no downloads), measures held-out accuracy and
models the energy of every (prune ratio, bit width) point, prints the Pareto front of accuracy and energy and the
path of the plot it writes. The same job on the command line:
`stationary codesign mlp_small_digits --arch systolic256 --prune 0,0.7 --bits 8,4 --json`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from stationary.api import codesign


def main(plot_dir: Path) -> None:
    """Sweep 2 prune ratios x 2 widths, print the front, write accuracy against energy."""
    result = codesign("mlp_small_digits", arch="systolic256", prune=[0.0, 0.7], bits=[8, 4])
    print(f"float accuracy {result.baseline_accuracy:.2%}, dense 16-bit energy {result.dense_energy_pj:.12g} pJ")
    print(f"{len(result.points)} points, {len(result.pareto)} on the Pareto front of accuracy and energy:")
    for p in result.pareto:
        print(f"  prune={p.prune:g} bits={p.bits} accuracy={p.accuracy:.12g} energy_pj={p.energy_pj:.12g} "
              f"weights_bytes={p.weights_bytes:.12g}")
    print(f"plot: {result.plot(plot_dir / 'codesign_sweep.png')}")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="stationary-"))
    out.mkdir(parents=True, exist_ok=True)
    main(out)
