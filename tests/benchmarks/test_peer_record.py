"""benchmarks/peer_record.py and the saved-peer reuse of bench_accelforge.py / bench_zigzag.py, without the peer
venvs: a record round-trips with when and under what load it ran, a bare peer line still loads, and a reused
AccelForge record is scored against stationary and said to be reused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).parents[2] / "benchmarks"
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(BENCH_DIR))

import peer_record  # noqa: E402

RECORD = "accelforge_nvdla_512-256-7-7-1-1-2-1.json"  # a real AccelForge 1.0.467 run (ResNet-18 layer4.0 downsample)


def test_record_round_trip(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import json; print('log line'); print(json.dumps({'seconds': 1.5, 'x': [1, 2]}))"]
    path = tmp_path / "sub" / "peer.json"
    peer = peer_record.run_and_save(cmd, path)
    assert peer == {"seconds": 1.5, "x": [1, 2]}
    loaded, saved = peer_record.load(path)
    assert loaded == peer
    assert saved is not None and saved["command"] == cmd
    assert saved["measured_at"].endswith(" UTC") and len(saved["load_start"].split(", ")) == 3
    line = peer_record.describe(path, saved)
    assert saved["measured_at"] in line and "reused a saved peer run" in line


def test_bare_peer_line_loads(tmp_path: Path) -> None:
    path = tmp_path / "bare.json"
    path.write_text("noise\n" + json.dumps({"seconds": 2.0}) + "\n")
    peer, saved = peer_record.load(path)
    assert peer == {"seconds": 2.0} and saved is None
    assert "not recorded" in peer_record.describe(path, None)


def test_accelforge_reuses_saved_record(tmp_path: Path) -> None:
    shutil.copy(DATA / RECORD, tmp_path / RECORD)
    peer, saved = peer_record.load(tmp_path / RECORD)
    assert saved is not None
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR.parent / "src")}
    out = subprocess.run([sys.executable, str(BENCH_DIR / "bench_accelforge.py"), "--quick", "--budget", "2000",
                          "--peer-dir", str(tmp_path), "--peer", str(tmp_path / "no-venv")],
                         capture_output=True, text=True, check=True, env=env).stdout
    row = next(x for x in out.splitlines() if x.strip().startswith("layer4_0_downsample"))
    assert f"{peer['energy_pj'] / peer['macs']:.3f}" in row.split("|")[0]
    assert f"measured {saved['measured_at']}" in out


def test_zigzag_refuses_save_and_reuse_together(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(BENCH_DIR / "bench_zigzag.py"), "--peer-json", str(tmp_path / "a"),
                          "--save-peer", str(tmp_path / "b")], capture_output=True, text=True)
    assert run.returncode != 0 and "give one of them" in run.stderr
