"""The network API (`stationary.api.stats`, `evaluate`, `map_layer`) gives the numbers the CLI's `--json`
prints for the same arguments, its results are frozen, its tables match its JSON, and bad input is refused
with a StationaryError naming the field."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from stationary import api
from stationary.arch.load import load_arch
from stationary.cli import run
from stationary.errors import StationaryError

EVALUATE = ("lenet5", "--arch", "eyeriss", "--budget", "300", "--jobs", "1")


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """The command's `--json` output, run in this process."""
    capsys.readouterr()
    assert run([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def same(api_value: Any, cli_value: Any, where: str = "") -> None:
    """Equal JSON trees: every key, integers exact, floats to rel 1e-9; wall-clock durations skipped (a search's
    `seconds`: at `where` "map"; a network's `seconds` at the clock is cycles / clock and is compared)."""
    if isinstance(cli_value, dict):
        assert isinstance(api_value, dict) and set(api_value) == set(cli_value), where
        for k in cli_value:
            if k in ("search_seconds", "wall_seconds") or (k == "seconds" and where == "map"):
                continue
            same(api_value[k], cli_value[k], f"{where}/{k}")
    elif isinstance(cli_value, list):
        assert isinstance(api_value, list) and len(api_value) == len(cli_value), where
        for k, (a, c) in enumerate(zip(api_value, cli_value)):
            same(a, c, f"{where}[{k}]")
    elif isinstance(cli_value, float):
        assert math.isclose(api_value, cli_value, rel_tol=1e-9), where
    else:
        assert api_value == cli_value, where


@pytest.fixture(scope="module")
def lenet() -> api.NetworkEvaluation:
    return api.evaluate("lenet5", "eyeriss", budget=300, jobs=1)


def test_stats_equals_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    result = api.stats("alexnet", batch=4)
    assert result.to_json() == cli_json(capsys, "stats", "alexnet", "--batch", "4")
    assert result.macs == sum(ls.macs for ls in result.layers) and result.batch == 4 and result.warnings == ()


FACTORY = """
import torch


def make():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(8 * 8 * 8, 10))
"""


def test_stats_of_a_pytorch_factory_equals_cli_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("torch")
    factory = tmp_path / "tiny.py"
    factory.write_text(FACTORY)
    result = api.stats(f"{factory}:make", input_shape=(2, 3, 8, 8))
    assert result.to_json() == cli_json(capsys, "stats", f"{factory}:make", "--input-shape", "2,3,8,8")
    assert result.batch == 2 and result.macs == 2 * (8 * 8 * 8 * 3 * 9 + 8 * 8 * 8 * 10)


def test_evaluate_equals_cli_json(capsys: pytest.CaptureFixture[str], lenet: api.NetworkEvaluation) -> None:
    out = cli_json(capsys, "evaluate", *EVALUATE)
    same(lenet.to_json(), out)
    assert set(lenet.to_json()["total"]) == set(out["total"])  # every key, the timing ones included
    assert lenet.total.energy_pj == sum(x.energy_pj for x in lenet.layers)
    assert lenet.optimality.to_json() == out["total"]["optimality"]


def test_evaluate_fusion_equals_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = dict(budget=300, jobs=1, fuse="auto")
    result = api.evaluate("lenet5", "eyeriss", **args)  # type: ignore[arg-type]
    out = cli_json(capsys, "evaluate", *EVALUATE, "--fuse", "auto")
    assert result.fusion is not None and "fusion" in out
    same(result.to_json(), out)
    assert math.isclose(result.fusion.energy_pj, out["fusion"]["energy_pj_fused"], rel_tol=1e-9)


def test_evaluate_accepts_an_architecture_object(lenet: api.NetworkEvaluation) -> None:
    other = api.evaluate("lenet5", load_arch("eyeriss"), budget=300, jobs=1)
    same(other.to_json(), lenet.to_json())


def test_map_layer_equals_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    found = api.map_layer("alexnet:conv2", "eyeriss", dataflow="rs", budget=500, pareto=True)
    out = cli_json(capsys, "map", "--arch", "eyeriss", "--problem", "alexnet:conv2", "--dataflow", "rs",
                   "--budget", "500", "--pareto")
    same(found.to_json(), out, "map")
    assert found.pareto and [p.energy_pj for p in found.pareto] == [p["energy_pj"] for p in out["pareto"]]
    assert "pareto" not in api.map_layer("alexnet:conv2", "eyeriss", budget=200).to_json()


def test_results_are_frozen(lenet: api.NetworkEvaluation) -> None:
    found = api.map_layer("lenet5:conv2", "eyeriss", budget=200)
    for obj, name in ((lenet, "model"), (lenet.layers[0], "energy_pj"), (lenet.total, "cycles"),
                      (api.stats("lenet5"), "macs"), (found, "evaluated")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 0)


def test_to_pandas_rows_match_to_json_layers(lenet: api.NetworkEvaluation) -> None:
    df = lenet.to_pandas()
    layers = lenet.to_json()["layers"]
    assert len(df) == len(layers) == len(lenet.layers)
    assert df["name"].tolist() == [x["name"] for x in layers]
    assert df["energy_pj"].tolist() == [x["energy_pj"] for x in layers]
    assert df["cycles"].tolist() == [x["cycles"] for x in layers]
    assert df["levels.DRAM"].tolist() == [x["levels"]["DRAM"] for x in layers]
    assert df["optimality.gap"].tolist() == [x["optimality"]["gap"] for x in layers]
    counts = api.stats("lenet5")
    sdf = counts.to_pandas()
    assert sdf["macs"].tolist() == [x["macs"] for x in counts.to_json()["layers"]]
    assert sdf["dims.M"].tolist() == [x["dims"]["M"] for x in counts.to_json()["layers"]]


def test_plots_write_pngs(tmp_path: Path, lenet: api.NetworkEvaluation) -> None:
    for name, result in (("evaluate", lenet), ("stats", api.stats("lenet5")),
                         ("map", api.map_layer("lenet5:conv2", "eyeriss", budget=200))):
        path = result.plot(tmp_path / f"{name}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("call", "field"), [
    (lambda: api.evaluate("lenet5", objective="speed"), "--objective"),
    (lambda: api.evaluate("lenet5", update_energy="read"), "update_energy"),
    (lambda: api.evaluate("lenet5", fuse="some"), "--fuse"),
    (lambda: api.evaluate("lenet5", layers="pool"), "--layers"),
    (lambda: api.evaluate("lenet5", dataflow="xy"), "--dataflow"),
    (lambda: api.evaluate("lenet5", clock_mhz=0), "--clock-mhz"),
    (lambda: api.evaluate("lenet5", batch=0), "--batch"),
    (lambda: api.evaluate("lenet5", budget_s=1.0), "--budget-evals"),
    (lambda: api.evaluate("lenet5", arch="no_such_arch"), "--arch"),
    (lambda: api.evaluate("lenet5", input_shape=(1, 3, 32, 32)), "--input-shape"),
    (lambda: api.evaluate("model.onnx", input_shape=(1, 0, 32)), "--input-shape"),
    (lambda: api.evaluate("lenet5", budget=200, jobs=0), "--jobs"),
    (lambda: api.stats("lenet5", batch=-1), "--batch"),
    (lambda: api.stats("x.py:make", input_shape="1,3,8,8"), "--input-shape"),  # type: ignore[arg-type]
    (lambda: api.map_layer("lenet5:conv2", load_arch("eyeriss"), ert="e.yaml"), "--ert"),
    (lambda: api.map_layer("lenet5:conv2", 3), "--arch"),  # type: ignore[arg-type]
    (lambda: api.map_layer("lenet5:conv2", "eyeriss", constraints=["ws"]), "--constraints"),  # type: ignore[list-item]
    (lambda: api.map_layer("lenet5:nope", "eyeriss"), "model"),
])
def test_bad_input_names_the_field(call: Any, field: str) -> None:
    with pytest.raises(StationaryError) as info:
        call()
    assert info.value.field == field
