"""Hostile specs through the real CLI, under a wall-clock timeout and an address-space limit: each must end
as exit 2 with one line of error (no traceback, no hang, no memory blow-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import run_cli
from tests.fuzz.mutations import bomb
from tests.fuzz.targets import SCALESIM_CFG, SCALESIM_TOPOLOGY, TIMELOOP

MEMORY_GIB = 3  # far above what refusing takes; a bomb that expanded would blow through it


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
    out = run_cli(*(a.format(path=path) for a in args), timeout_s=300, memory_gib=MEMORY_GIB)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-2000:]
    assert str(path) in out.stderr
