"""`stationary model`: the JSON contract on a Timeloop case, and one clear error per kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run_cli

CASE = Path(__file__).parents[1] / "cases" / "timeloop" / "5a"


def case_args(**override: str) -> list[str]:
    files = {"arch": CASE / "arch.yaml", "problem": CASE / "problem.yaml", "mapping": CASE / "mapping.yaml",
             "ert": CASE / "ert.yaml"}
    files.update(override)
    return [a for k, v in files.items() for a in (f"--{k}", str(v))]


def test_json_contract() -> None:
    out = run_cli("model", *case_args(), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    expected = json.loads((CASE / "expected.json").read_text())
    assert {"macs", "cycles", "utilization", "energy_pj", "compute_energy_pj", "levels"} <= set(data)
    assert data["energy_pj"] == pytest.approx(expected["energy_pj"], rel=1e-12)
    level = data["levels"][1]
    assert level["name"] == "GlobalBuffer" and level["instances"] == 16
    assert {"name", "instances", "utilized_instances", "leak_energy_pj", "tensors"} <= set(level)
    assert set(level["tensors"]["Inputs"]) >= {"reads", "fills", "updates", "energy_pj"}
    assert level["tensors"]["Inputs"]["fills"] == 9216


def test_readable_output_has_loop_nest_and_units() -> None:
    out = run_cli("model", *case_args())
    assert out.returncode == 0
    assert "for c in [0, 32)" in out.stdout and "parallel-for k in [0, 16)" in out.stdout
    assert "pJ" in out.stdout and "inter_PE_spatial" in out.stdout


def write(tmp: Path, name: str, text: str) -> str:
    p = tmp / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"problem": "missing.yaml"}, "file not found"),
        ({"mapping": "BAD:YAML: [unclosed"}, "malformed YAML"),
        ({"mapping": "mapping:\n  - target: MainMemory\n    type: temporal\n    factors: R=3 P=16 K=32 C=32 Z=2\n"},
         "unknown dimension 'Z'"),
        ({"mapping": "mapping:\n  - target: MainMemory\n    type: temporal\n    factors: R=3 P=16 K=32 C=16\n"},
         "factors of C multiply to 16 (MainMemory temporal 16) but the bound is 32"),
        ({"mapping": "mapping:\n  - target: Nowhere\n    type: temporal\n    factors: R=3\n"}, "no level 'Nowhere'"),
        ({"mapping": "mapping:\n  - target: RegisterFile\n    type: temporal\n    factors: R=3 P=16 K=32 C=32\n"},
         "tiles overflow level RegisterFile"),
        ({"ert": "ERT:\n  tables:\n  - name: x.MainMemory\n    actions:\n    - {name: read, energy: -1}\n"},
         "energy must be non-negative"),
    ],
)
def test_bad_input_is_one_clear_message(tmp_path: Path, override: dict[str, str], message: str) -> None:
    files = {k: (v if k == "problem" and v == "missing.yaml" else write(tmp_path, f"{k}.yaml", v))
             for k, v in override.items()}
    out = run_cli("model", *case_args(**files))
    assert out.returncode == 2, out.stdout
    assert message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_preset_and_zoo_layer(tmp_path: Path) -> None:
    mapping = write(tmp_path, "m.yaml", """mapping:
  - {target: DRAM, type: temporal, factors: M=4 P=56, permutation: PM}
  - {target: GlobalBuffer, type: temporal, factors: C=4, permutation: C}
  - {target: GlobalBuffer, type: spatial, factors: M=16 C=16, permutation: MC, split: 1}
  - {target: RF, type: temporal, factors: Q=56, permutation: Q}
""")
    out = run_cli("model", "--arch", "survey256", "--problem", "resnet50:layer1_0_conv1", "--mapping", mapping,
                  "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["macs"] == 56 * 56 * 64 * 64 and data["utilization"] == 1.0
