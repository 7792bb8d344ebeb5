"""Hostile specs through the real CLI, under a wall-clock timeout and an address-space limit: each must end
as exit 2 with one line of error (no traceback, no hang, no memory blow-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.mutations import bomb
from tests.fuzz.targets import SCALESIM_CFG, SCALESIM_TOPOLOGY, TIMELOOP

SRC = str(Path(__file__).parents[2] / "src")
MEMORY_BYTES = 3 << 30  # far above what refusing takes; a bomb that expanded would blow through it


def limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stationary", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC}, check=False,
                          preexec_fn=limited if sys.platform.startswith("linux") else None)


CASES = {
    "billion_laughs_arch": ("a.yaml", bomb(11) + "name: *zz10\ncompute: {mesh_x: 1}\nlevels: [{name: DRAM}]\n",
                            ("map", "--arch", "{path}", "--problem", str(TIMELOOP / "3b" / "problem.yaml"))),
    "deep_sweep_spec": ("s.yaml", "networks: [lenet5]\nvary: {pe_rows: " + "[" * 5000 + "]" * 5000 + "}\n",
                        ("sweep", "{path}")),
    "interpolated_cfg": ("a.cfg", SCALESIM_CFG.read_text().replace("ArrayWidth:     32", "ArrayWidth: %(x)s"),
                         ("systolic", "--config", "{path}", "--topology", str(SCALESIM_TOPOLOGY))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_refuses_hostile_specs_in_one_line(name: str, tmp_path: Path) -> None:
    filename, text, args = CASES[name]
    path = tmp_path / filename
    path.write_text(text)
    out = run_cli(*(a.format(path=path) for a in args))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-2000:]
    assert str(path) in out.stderr
