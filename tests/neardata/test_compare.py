"""The heuristic mapping is valid and fits; the comparison sums layers exactly; the CLI's contract."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from stationary.arch.load import load_arch
from stationary.model.evaluate import evaluate
from stationary.neardata.compare import CATEGORIES, network_cost
from stationary.neardata.heuristic import best_mapping, candidates
from stationary.workload.zoo import get_model


def test_heuristic_mappings_are_valid_and_keep_the_arch_constraints() -> None:
    nest = get_model("lenet5").mac_layers()[1].loop_nest()
    arch = load_arch("reram_crossbar")
    for m in candidates(nest, arch)[:3]:
        m.validate(nest, arch)
        assert m.levels[4].keep == frozenset({"Weights"})  # Crossbar keeps only weights
    mapping, result = best_mapping(nest, arch, max_candidates=3)
    assert result.macs == nest.macs
    assert evaluate(nest, arch, mapping).energy_pj == result.energy_pj


def test_network_cost_is_the_sum_of_its_layers() -> None:
    net = get_model("lenet5")
    arch = load_arch("eyeriss")
    cost = network_cost(net, arch, lambda n, a: best_mapping(n, a, 2))
    assert cost.macs == sum(layer.loop_nest().macs for layer in net.mac_layers())
    assert sum(cost.by_category_pj.values()) == pytest.approx(cost.energy_pj)
    assert sum(cost.by_level_pj.values()) == pytest.approx(cost.energy_pj)
    assert set(cost.by_category_pj) == set(CATEGORIES)
    assert cost.by_category_pj["ADC"] == 0.0


def test_each_distinct_shape_is_mapped_once() -> None:
    net = get_model("resnet18")
    calls = []

    def mapper(n, a):  # noqa: ANN001, ANN202 - the cheapest heuristic, counted
        calls.append(n)
        return best_mapping(n, a, 1)

    cost = network_cost(net, load_arch("eyeriss"), mapper)
    layers = net.mac_layers()
    assert len(calls) == len({x.shape for x in layers}) < len(layers)
    assert [row["layer"] for row in cost.layers] == [x.name for x in layers]


def test_vault_dram_saves_dram_energy_only() -> None:
    net = get_model("lenet5")

    def mapper(n, a):  # noqa: ANN001, ANN202 - same heuristic budget for both
        return best_mapping(n, a, 2)

    base = network_cost(net, load_arch("eyeriss"), mapper)
    tetris = network_cost(net, load_arch("tetris_3d"), mapper)
    assert tetris.by_category_pj["DRAM"] < base.by_category_pj["DRAM"] / 3
    assert tetris.by_category_pj["compute"] == pytest.approx(base.by_category_pj["compute"])


def test_cli_json_and_table(cli_app: Callable[..., Result]) -> None:
    res = cli_app("neardata", "lenet5", "--variants", "reram_crossbar", "--max-candidates", "1", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [a["arch"] for a in data["architectures"]] == ["eyeriss", "reram_crossbar"]
    xbar = data["architectures"][1]
    assert xbar["by_category_pj"]["ADC"] > 0 and xbar["by_category_pj"]["DAC"] > 0
    assert set(xbar["by_level_pj"]) == {"DRAM", "GlobalBuffer", "InputDAC", "OutputADC", "Crossbar", "compute"}
    res = cli_app("neardata", "lenet5", "--variants", "edram_buffer", "--max-candidates", "1")
    assert res.exit_code == 0 and "vs baseline" in res.stdout


def test_cli_bad_input_names_the_field(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from stationary.cli import main

    for args, field in ((["neardata", "lenet5", "--variants", ","], "--variants"),
                        (["neardata", "lenet5", "--variants", "nope"], "--arch"),
                        (["neardata", "lenet5", "--max-candidates", "0"], "--max-candidates")):
        monkeypatch.setattr("sys.argv", ["stationary", *args])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2, (args, field)
        assert field in capsys.readouterr().err
