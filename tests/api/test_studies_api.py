"""The studies' API (systolic, codesign, sweep): the same numbers and keys as the CLI's --json for the same
arguments, frozen results, table rows that match the JSON, plots, and bad input refused naming the field."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stationary.api import CodesignResult, SweepResult, SystolicResult, codesign, sweep, systolic
from stationary.api.systolic import JSON_FIELDS
from stationary.cli import app
from stationary.errors import StationaryError
from stationary.sweep.spec import SweepSpec

SRC = str(Path(__file__).parents[2] / "src")
CASE = Path(__file__).parents[1] / "cases" / "scalesim" / "alexnet_a32_ws_CALC"
CFG, TOPOLOGY = str(CASE / "a32_ws_CALC.cfg"), str(CASE / "alexnet.csv")
SWEEP_ARGS = ("lenet5:fc1", "--arch", "eyeriss", "--vary", "pe_rows=4,12", "--vary", "glb_kb=32,108",
              "--dataflow", "ws,os", "--budget", "200", "--jobs", "1")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cli_json(*args: str) -> dict[str, Any]:
    """`stationary ARGS --json` in a fresh process, parsed."""
    r = subprocess.run([sys.executable, "-m", "stationary", *args, "--json"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": SRC}, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_png(path: Path) -> None:
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


@pytest.fixture(scope="module")
def sweep_result() -> SweepResult:
    return sweep("lenet5:fc1", arch="eyeriss", vary={"pe_rows": [4, 12], "glb_kb": [32, 108]},
                 dataflow=["ws", "os"], budget=200, jobs=1)


# ----- systolic ---------------------------------------------------------------------------------------------------
def test_systolic_equals_the_cli_json_for_a_topology_and_a_model() -> None:
    result = systolic(CFG, topology=TOPOLOGY)
    assert result.to_json() == cli_json("systolic", "--config", CFG, "--topology", TOPOLOGY)
    net = systolic(CFG, model="lenet5", dataflow="OS", dram="estimate")
    assert net.to_json() == cli_json("systolic", "--config", CFG, "--model", "lenet5", "--dataflow", "OS",
                                     "--dram", "estimate")
    assert net.dataflow == "os" and net.dram_mode == "estimate" and len(net.layers) == 4
    assert net.total_cycles == sum(r["total_cycles"] for r in net.to_json()["layers"])


def test_systolic_is_frozen_its_rows_are_the_json_layers_and_it_plots(tmp_path: Path) -> None:
    result = systolic(CFG, topology=TOPOLOGY, outdir=tmp_path / "csv")
    assert isinstance(result, SystolicResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.dram_mode = "replay"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.layers[0].total_cycles = 0  # type: ignore[misc]
    rows = result.rows()
    assert rows == result.to_json()["layers"] and list(rows[0]) == list(JSON_FIELDS)
    assert result.to_pandas().to_dict("records") == rows
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "BANDWIDTH_REPORT.csv", "COMPUTE_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"]
    assert result.plot(tmp_path / "cycles.png") == tmp_path / "cycles.png"
    assert_png(tmp_path / "cycles.png")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"topology": TOPOLOGY, "dram": "fast"}, "--dram"),
    ({}, "--topology"),
    ({"topology": TOPOLOGY, "model": "lenet5"}, "--topology"),
    ({"topology": TOPOLOGY, "max_memory_gib": 0.0}, "--max-memory-gib"),
    ({"topology": TOPOLOGY, "max_memory_gib": float("nan")}, "--max-memory-gib"),
    ({"model": "lenet5", "batch": 0}, "--batch"),
    ({"topology": TOPOLOGY, "dataflow": "rs"}, "Dataflow"),
])
def test_systolic_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(StationaryError) as e:
        systolic(CFG, **kwargs)
    assert e.value.field == field


# ----- sweep ------------------------------------------------------------------------------------------------------
def test_sweep_equals_the_cli_json(sweep_result: SweepResult) -> None:
    assert sweep_result.to_json() == cli_json("sweep", *SWEEP_ARGS)
    assert len(sweep_result.points) == 8 and sweep_result.run.computed == 8
    assert sweep_result.pareto and all(p in sweep_result.points for p in sweep_result.pareto)


def test_sweep_takes_a_spec_object_and_a_store(sweep_result: SweepResult, tmp_path: Path) -> None:
    spec = SweepSpec("eyeriss", ("lenet5:fc1",), ("ws", "os"), (("pe_rows", (4, 12)), ("glb_kb", (32, 108))),
                     budget=200)
    db = tmp_path / "s.sqlite"
    first = sweep(spec, out=db, jobs=1, report=tmp_path / "s.html")
    assert first.to_json()["points"] == sweep_result.to_json()["points"]
    again = sweep(spec, out=db, jobs=1)
    assert (again.run.computed, again.run.already_stored) == (0, 8)
    assert "<svg" in (tmp_path / "s.html").read_text()


def test_sweep_is_frozen_its_rows_match_the_json_and_it_plots(sweep_result: SweepResult, tmp_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sweep_result.points[0].energy_pj = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        sweep_result.points[0].params["pe_rows"] = 1  # type: ignore[index]
    rows, points = sweep_result.rows(), sweep_result.to_json()["points"]
    front = {p["key"] for p in sweep_result.to_json()["pareto"]}
    assert len(rows) == len(points)
    for row, point in zip(rows, points):
        assert row == {"key": point["key"], **point["params"],
                       **{k: v for k, v in point.items() if k not in ("key", "params")},
                       "on_pareto_front": point["key"] in front}
    table = sweep_result.to_pandas()
    assert list(table["energy_pj"]) == [p["energy_pj"] for p in points]
    assert list(table["pe_rows"]) == [p["params"]["pe_rows"] for p in points]
    assert_png(sweep_result.plot(tmp_path / "front.png"))


@pytest.mark.parametrize(("target", "kwargs", "field"), [
    ("lenet5:fc1", {"vary": ["pe_rows"]}, "--vary"),
    ("lenet5:fc1", {"vary": {"pe_colums": [4]}}, "--vary"),
    ("lenet5:fc1", {"vary": {"pe_rows": [0]}}, "vary.pe_rows"),
    ("lenet5:fc1", {"dataflow": "zz"}, "--dataflow"),
    ("lenet5:fc1", {"objective": "speed"}, "--objective"),
    ("lenet5:fc1", {"budget": 0}, "budget"),
    ("spec.yaml", {"arch": "eyeriss"}, "spec.yaml"),
    (SweepSpec("eyeriss", ("lenet5:fc1",)), {"vary": ["pe_rows=4"]}, "spec"),
    ("lenet5:fc1", {"scheduler": "slurm"}, "--scheduler"),
])
def test_sweep_bad_input_names_the_field(target: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(StationaryError) as e:
        sweep(target, budget=kwargs.pop("budget", 10), **kwargs)
    assert e.value.field == field


@pytest.mark.parametrize("option", ["objective", "budget", "seed", "batch"])
def test_a_spec_refuses_a_search_option_it_sets_itself(option: str) -> None:
    """A spec says its own objective, budget, seed and batch: one given beside it is refused, never ignored."""
    value = {"objective": "cycles", "budget": 10, "seed": 3, "batch": 2}[option]
    with pytest.raises(StationaryError, match=f"--{option}") as e:
        sweep(SweepSpec("eyeriss", ("lenet5:fc1",)), **{option: value})
    assert e.value.field == "spec"


# ----- codesign ---------------------------------------------------------------------------------------------------
CODESIGN_ARGS = ("codesign", "mlp_small_digits", "--arch", "systolic256", "--prune", "0,0.7", "--bits", "4",
                 "--quant", "uniform,log")


def test_codesign_equals_the_cli_json_is_frozen_and_plots(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = codesign("mlp_small_digits", arch="systolic256", prune=[0.0, 0.7], bits=[4], quant=["uniform", "log"],
                      progress=lambda k, n: seen.append((k, n)))
    assert isinstance(result, CodesignResult) and seen[0] == (0, 4) and seen[-1] == (4, 4)
    # the CLI in this process: training and the dense searches are cached, so this costs seconds, not a minute
    for extra in ((), ("--detail",)):
        run = CliRunner().invoke(app, [*CODESIGN_ARGS, "--json", *extra], catch_exceptions=False)
        assert run.exit_code == 0, run.output
        assert json.loads(run.stdout) == json.loads(json.dumps(result.to_json(detail=bool(extra))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.report = result.report  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.points[0].accuracy = 1.0  # type: ignore[misc]
    points = result.to_json()["points"]
    assert [{k: v for k, v in r.items() if k != "on_pareto_front"} for r in result.rows()] == points
    assert [r["on_pareto_front"] for r in result.to_pandas().to_dict("records")] == [
        i in result.report.pareto for i in range(len(points))]
    assert result.pareto == tuple(result.points[i] for i in result.report.pareto)
    assert_png(result.plot(tmp_path / "codesign.png"))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"model": "vgg16"}, "MODEL"),
    ({"prune": "0,x"}, "--prune"),
    ({"prune": []}, "--prune"),
    ({"bits": [17]}, "--bits"),
    ({"quant": "uniform,lg"}, "--quant"),
    ({"method": "random"}, "--method"),
    ({"zero": "never"}, "--zero"),
    ({"decompose": "svd"}, "--rank"),
    ({"distill_from": "resnet"}, "--distill-from"),
])
def test_codesign_bad_input_names_the_field_before_training(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(StationaryError) as e:
        codesign(kwargs.pop("model", "mlp_small_digits"), **kwargs)
    assert e.value.field == field
