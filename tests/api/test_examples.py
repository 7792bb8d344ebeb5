"""Every script in docs/examples runs top to bottom in a fresh process, writes its PNG plots where it is told,
and prints the numbers the CLI gives for the same job."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SRC = str(ROOT / "src")
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))
ENV = {**os.environ, "PYTHONPATH": SRC, "MPLBACKEND": "Agg"}
TIMEOUT_S = 600  # each example takes under a minute on one loaded core; this only stops a hung one


def run_example(script: Path, plot_dir: Path) -> subprocess.CompletedProcess:
    """The script as a user runs it, told to write its plots into `plot_dir`."""
    return subprocess.run([sys.executable, str(script), str(plot_dir)], capture_output=True, text=True, env=ENV,
                          cwd=plot_dir.parent, timeout=TIMEOUT_S, check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each example's run, once per module (the tests below share them): its process and its plot folder."""
    return {}


def example(script: Path, runs: dict[str, tuple[subprocess.CompletedProcess, Path]],
            tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """`script`'s run, made on first use."""
    if script.name not in runs:
        plot_dir = tmp_path_factory.mktemp(script.stem) / "plots"
        runs[script.name] = (run_example(script, plot_dir), plot_dir)
    return runs[script.name]


def test_the_examples_are_found() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"design_sweep_pareto.py", "codesign_sweep.py"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_writes_png_plots(script: Path, runs: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    r, plot_dir = example(script, runs, tmp_path_factory)
    assert r.returncode == 0, r.stderr
    pngs = sorted(plot_dir.glob("*.png"))
    assert pngs, f"{script.name} wrote no PNG into {plot_dir}"
    for png in pngs:
        assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(png) in r.stdout  # the script says where its plot is


def test_design_sweep_example_prints_the_clis_pareto_front(runs: dict,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    """The example's printed Pareto designs are the CLI's for the same sweep (the command its docstring gives)."""
    r, _ = example(ROOT / "docs" / "examples" / "design_sweep_pareto.py", runs, tmp_path_factory)
    assert r.returncode == 0, r.stderr
    printed = {(float(m[1]), float(m[2])): (float(m[3]), int(m[4]), float(m[5])) for m in re.finditer(
        r"pe_rows=(\S+) glb_kb=(\S+) energy_pj=(\S+) cycles=(\d+) area_mm2=(\S+)", r.stdout)}
    cli = subprocess.run([sys.executable, "-m", "stationary", "sweep", "lenet5:conv2", "--vary", "pe_rows=4,8,12",
                          "--vary", "glb_kb=32,64,108", "--budget", "200", "--jobs", "1", "--json"],
                         capture_output=True, text=True, env=ENV, timeout=TIMEOUT_S, check=False)
    assert cli.returncode == 0, cli.stderr
    front = json.loads(cli.stdout)["pareto"]
    assert len(front) >= 2 and len(printed) == len(front)
    for p in front:
        energy_pj, cycles, area_mm2 = printed[(p["params"]["pe_rows"], p["params"]["glb_kb"])]
        assert energy_pj == pytest.approx(p["energy_pj"], rel=1e-9)
        assert cycles == p["cycles"]
        assert area_mm2 == pytest.approx(p["area_mm2"], rel=1e-9)
