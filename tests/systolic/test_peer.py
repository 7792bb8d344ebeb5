"""Our numbers against SCALE-Sim itself on small random layers (skipped without its venv)."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from stationary.systolic import read_config, read_topology, simulate_network

PEER_PY = Path(os.environ.get("SCALESIM_VENV", "/work/peers/scalesim")) / "bin" / "python"
RUNNER = Path(__file__).parents[2] / "benchmarks" / "scalesim_peer.py"
BASE_CFG = Path(__file__).parent.parent / "cases" / "scalesim" / "alexnet_a32_os_CALC" / "a32_os_CALC.cfg"

if os.environ.get("SCALESIM_REQUIRED") and not PEER_PY.exists():  # CI: a missing venv is an error, not a skip
    raise RuntimeError(f"SCALESIM_REQUIRED is set but {PEER_PY} does not exist (run .ci/scalesim-venv.sh)")
pytestmark = pytest.mark.skipif(not PEER_PY.exists(), reason="SCALE-Sim venv not installed (benchmarks/README.md)")

FIELDS = {"Total Cycles": "scalesim_total_cycles", "Stall Cycles": "stall_cycles",
          "Total Cycles (incl. prefetch)": "scalesim_total_cycles_incl_prefetch",
          "SRAM IFMAP Reads": "sram_ifmap_reads", "SRAM Filter Reads": "sram_filter_reads",
          "SRAM OFMAP Writes": "sram_ofmap_writes", "DRAM IFMAP Reads": "dram_ifmap_reads",
          "DRAM Filter Reads": "dram_filter_reads", "DRAM OFMAP Writes": "dram_ofmap_writes"}


def _write_cfg(path: Path, df: str, rows: int, cols: int, kb: tuple[int, int, int]) -> None:
    text = BASE_CFG.read_text()
    for key, val in (("ArrayHeight", rows), ("ArrayWidth", cols), ("IfmapSramSzkB", kb[0]),
                     ("FilterSramSzkB", kb[1]), ("OfmapSramSzkB", kb[2]), ("Dataflow", df)):
        text = "\n".join(f"{key}: {val}" if ln.split(":")[0].strip() == key else ln for ln in text.splitlines())
    path.write_text(text + "\n")


def _compare(tmp_path, df: str, array: tuple[int, int], kb: tuple[int, int, int], layers: list[str]) -> None:
    cfg_path, topo_path = tmp_path / "a.cfg", tmp_path / "t.csv"
    _write_cfg(cfg_path, df, *array, kb)
    rows = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"]
    topo_path.write_text("\n".join(rows + layers) + "\n")
    out = subprocess.run([str(PEER_PY), str(RUNNER), str(cfg_path), str(topo_path)], capture_output=True,
                         text=True, timeout=300, check=True)
    peer = json.loads(out.stdout.strip().splitlines()[-1])["layers"]
    ours = simulate_network(read_topology(topo_path), read_config(cfg_path))
    for p, o in zip(peer, ours, strict=True):
        assert {v: getattr(o, v) for v in FIELDS.values()} == {v: int(p[k]) for k, v in FIELDS.items()}
        assert o.scalesim_overall_util_pct == pytest.approx(p["Overall Util %"], rel=1e-9)
        assert o.total_cycles == o.scalesim_total_cycles + 1  # SCALE-Sim reports the last cycle's index
        assert o.mapping_efficiency_pct == pytest.approx(p["Mapping Efficiency %"], rel=1e-9)
        assert o.compute_util_pct == pytest.approx(p["Compute Util %"], rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_random_layers_match_peer(tmp_path, seed):
    rnd = random.Random(seed)
    df = ("os", "ws", "is")[seed % 3]
    array = (rnd.randint(2, 12), rnd.randint(2, 12))
    kb = (rnd.randint(1, 3), rnd.randint(1, 3), rnd.randint(1, 3))
    layers = []
    for i in range(2):
        r, s = rnd.randint(1, 5), rnd.randint(1, 5)
        layers.append(f"L{i}, {rnd.randint(r, 20)}, {rnd.randint(s, 20)}, {r}, {s}, {rnd.randint(1, 16)}, "
                      f"{rnd.randint(1, 40)}, {rnd.randint(1, 3)},")
    _compare(tmp_path, df, array, kb, layers)


@pytest.mark.parametrize("seed", range(18))
def test_larger_random_layers_match_peer(tmp_path, seed):
    """Layers several times the SRAM, so the read buffers roll over many times (the fast exact path's
    periodic segments, epochs spanning copies and groups of folds)."""
    rnd = random.Random(1000 + seed)
    df = ("os", "ws", "is")[seed % 3]
    array = (rnd.randint(4, 16), rnd.randint(4, 16))
    kb = (rnd.randint(1, 4), rnd.randint(1, 4), rnd.randint(1, 4))
    layers = []
    for i in range(3):
        r, s = rnd.randint(1, 5), rnd.randint(1, 5)
        layers.append(f"L{i}, {rnd.randint(r + 4, 32)}, {rnd.randint(s + 4, 32)}, {r}, {s}, {rnd.randint(1, 24)}, "
                      f"{rnd.randint(1, 64)}, {rnd.randint(1, 3)},")
    _compare(tmp_path, df, array, kb, layers)
