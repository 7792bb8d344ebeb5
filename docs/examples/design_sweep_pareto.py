"""A small design sweep: LeNet-5's second convolution on Eyeriss, the PE array's rows x the global buffer's size.

Run it top to bottom: `python3 docs/examples/design_sweep_pareto.py [PLOT_DIR]` (PLOT_DIR defaults to a new
temporary folder). It prints the designs on the Pareto front of energy, cycles and area, the table of every design,
and the path of the Pareto plot it writes. The same sweep on the command line:
`stationary sweep lenet5:conv2 --vary pe_rows=4,8,12 --vary glb_kb=32,64,108 --budget 200 --jobs 1 --json`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from stationary.api import sweep


def main(plot_dir: Path) -> None:
    """Sweep 3 x 3 designs, print every design on the front, write the energy-cycles plot."""
    result = sweep("lenet5:conv2", arch="eyeriss", vary={"pe_rows": [4, 8, 12], "glb_kb": [32, 64, 108]},
                   budget=200, jobs=1)
    print(f"{len(result.points)} designs of lenet5:conv2 on eyeriss, {len(result.pareto)} on the Pareto front:")
    for design in result.pareto:
        print(f"  pe_rows={design.params['pe_rows']:g} glb_kb={design.params['glb_kb']:g} "
              f"energy_pj={design.energy_pj:.12g} cycles={design.cycles} area_mm2={design.area_mm2:.12g}")
    table = result.to_pandas()  # one row per design (needs the pandas extra)
    print(table[["pe_rows", "glb_kb", "energy_pj", "cycles", "area_mm2", "on_pareto_front"]].to_string(index=False))
    print(f"plot: {result.plot(plot_dir / 'design_sweep_pareto.png')}")


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="stationary-"))
    out.mkdir(parents=True, exist_ok=True)
    main(out)
