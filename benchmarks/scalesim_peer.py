"""Run SCALE-Sim 3.0.0 (the peer, in its own venv) on a config + topology; print its reports as JSON.

Usage: /work/peers/scalesim/bin/python benchmarks/scalesim_peer.py CFG TOPOLOGY [--gemm]
Prints {"seconds": wall time, "layers": [{report columns by name}]}.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from pathlib import Path


def _read(path: Path) -> list[dict[str, float]]:
    with path.open() as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0] if h.strip()]
    return [{h: float(v) for h, v in zip(header, (c.strip() for c in r)) if v} for r in rows[1:] if r]


def main() -> None:
    from scalesim.layout_utils import layouts
    from scalesim.scale_sim import scalesim

    layouts.load_arrays = lambda self, *args, **kwargs: None  # no custom layout in our configs

    cfg, topo = sys.argv[1], sys.argv[2]
    gemm = "--gemm" in sys.argv
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, input_type_gemm=gemm)
        sim.run_scale(top_path=out)
        seconds = time.perf_counter() - t0
        run_dir = next(p for p in Path(out).iterdir() if p.is_dir())
        compute = _read(run_dir / "COMPUTE_REPORT.csv")
        detail = _read(run_dir / "DETAILED_ACCESS_REPORT.csv")
    layers = [{**c, **d} for c, d in zip(compute, detail)]
    sys.stdout.write(json.dumps({"seconds": seconds, "layers": layers}) + "\n")


if __name__ == "__main__":
    main()
