"""Both Timeloop energy conventions for a read-modify-write update: at `update` (default) or `write` energy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, mapping_arrays
from tests.clirun import run_cli, run_cli_json
from tests.model.random_cases import random_case

CASE = Path(__file__).parents[1] / "cases" / "timeloop" / "5a"


@pytest.mark.parametrize("seed", range(10))
def test_write_convention_reprices_only_the_updates(seed: int) -> None:
    """Same counts; the energy moves by ceil(updates / block) x (write - update) per utilized instance."""
    nest, arch, mapping = random_case(seed, windows=False)
    old = evaluate(nest, arch, mapping, check_capacity=False)
    new = evaluate(nest, arch, mapping, check_capacity=False, update_energy="write")
    delta = 0.0
    for lv in arch.levels:
        if lv.virtual:
            continue
        for name, tc in old.level(lv.name).tensors.items():
            tn = new.level(lv.name).tensors[name]
            assert (tc.reads, tc.fills, tc.updates) == (tn.reads, tn.fills, tn.updates)
            if tc.kept:
                delta += (-(-tc.updates_per_instance // lv.block_size) * (lv.energy.write_pj - lv.energy.update_pj)
                          * tc.utilized_instances)
    assert new.energy_pj == pytest.approx(old.energy_pj + delta, rel=1e-12, abs=1e-9)
    assert any(lv.energy.write_pj != lv.energy.update_pj for lv in arch.levels if not lv.virtual)
    for convention, exact in (("update", old), ("write", new)):
        fast = FastModel(nest, arch, update_energy=convention)
        fr = fast.evaluate(mapping_arrays([mapping], nest, arch))
        assert math.isclose(float(fr.energy_pj[0]), exact.energy_pj, rel_tol=1e-9)


def test_cli_update_energy_option(tmp_path: Path) -> None:
    """On Timeloop case 5a with a register file whose update costs 1 pJ more than a write."""
    ert = (CASE / "ert.yaml").read_text().replace("{name: update, energy: 0.42564", "{name: update, energy: 1.42564")
    (tmp_path / "ert.yaml").write_text(ert)
    base = ["--arch", str(CASE / "arch.yaml"), "--problem", str(CASE / "problem.yaml"),
            "--mapping", str(CASE / "mapping.yaml"), "--ert", str(tmp_path / "ert.yaml"), "--json"]
    expected = json.loads((CASE / "expected.json").read_text())["energy_pj"]
    runs = {}
    for convention in ("update", "write"):
        out = run_cli("model", *base, "--update-energy", convention)
        assert out.returncode == 0, out.stderr
        runs[convention] = json.loads(out.stdout)
    default = run_cli("model", *base)
    assert json.loads(default.stdout)["energy_pj"] == runs["update"]["energy_pj"]
    assert runs["write"]["energy_pj"] == pytest.approx(expected, rel=1e-12)  # the RF's write = the original update
    rf = next(lv for lv in runs["update"]["levels"] if lv["name"] == "RegisterFile")
    updates = sum(t.get("updates", 0) for t in rf["tensors"].values())
    assert updates > 0
    assert runs["update"]["energy_pj"] - runs["write"]["energy_pj"] == pytest.approx(updates * 1.0, rel=1e-9)
    bad = run_cli("model", *base, "--update-energy", "rmw")
    assert bad.returncode == 2 and "update energy" in bad.stderr + bad.stdout


def test_map_and_evaluate_take_the_convention(tmp_path: Path) -> None:
    """`map --update-energy write` prices the found mapping's updates at the write energy (searched and reported
    under one convention); a bad value is refused before any search."""
    ert = (CASE / "ert.yaml").read_text().replace("{name: update, energy: 0.42564", "{name: update, energy: 1.42564")
    (tmp_path / "ert.yaml").write_text(ert)
    base = ["map", "--arch", str(CASE / "arch.yaml"), "--problem", str(CASE / "problem.yaml"), "--ert",
            str(tmp_path / "ert.yaml"), "--budget", "500", "--json"]
    runs = {convention: run_cli_json(*base, "--update-energy", convention) for convention in ("update", "write")}
    assert runs["write"]["energy_pj"] < runs["update"]["energy_pj"]  # every update is 1 pJ cheaper at `write`
    bad = run_cli(*base, "--update-energy", "rmw")
    assert bad.returncode == 2 and "update energy" in bad.stderr
    ev = run_cli("evaluate", "lenet5", "--update-energy", "rmw")
    assert ev.returncode == 2 and "update energy" in ev.stderr
