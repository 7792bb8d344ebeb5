"""The optimality certificate: "optimal" equals brute force on small spaces and is claimed only when proven;
networks are optimal only if every layer is; the CLI prints and emits it; `stationary bound` JSON."""

from __future__ import annotations

import json
import math

import pytest

from stationary.mapper.bounds.certificate import Optimality, certify, combine
from stationary.mapper.network import map_network, network_totals
from stationary.mapper.search import SearchOptions, search
from stationary.model.evaluate import evaluate
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.network import Network
from tests.clirun import run_cli
from tests.mapper.test_search import brute_force, tiny_arch


def small_layer(name: str = "t") -> Layer:
    """Small enough for the exact-model brute force (8,192 mappings on tiny_arch)."""
    return Layer(name, LayerKind.CONV, M=2, C=1, P=2)


def test_optimal_certificate_equals_brute_force() -> None:
    nest, arch = small_layer().loop_nest(), tiny_arch()
    found = search(nest, arch)
    assert found.strategy == "exhaustive"
    cert = certify(found, nest, arch)
    assert cert.status == "optimal"
    assert math.isclose(found.result.energy_pj, brute_force(nest, arch), rel_tol=1e-9)
    assert 0 < cert.lower_bound_pj <= found.result.energy_pj
    assert cert.gap == 0.0  # proven optimal: no gap to the proven optimum
    assert cert.mappings_evaluated == found.evaluated and cert.pruned == 0


def test_heuristic_results_are_only_bounded_and_sliding_windows_are_certified() -> None:
    nest, arch = small_layer().loop_nest(), tiny_arch()
    found = search(nest, arch, options=SearchOptions(strategy="heuristic", budget=2000, batch=256))
    cert = certify(found, nest, arch)
    # found the optimum, perhaps, but did not prove it, unless it meets the proven lower bound
    meets = found.result.energy_pj <= cert.lower_bound_pj * (1 + 1e-9)
    assert cert.status == ("optimal" if meets else "bounded") and (cert.gap == 0.0) == meets
    # a sliding window: the fast model equals the walk there too (test_fast.py), so an exhaustive search of it
    # is proven optimal, and the number it reports is the walk's
    window = Layer("w", LayerKind.CONV, M=2, C=1, P=2, R=2, H=3).loop_nest()
    found = search(window, arch, options=SearchOptions(strategy="exhaustive"))
    cert = certify(found, window, arch)
    assert cert.status == "optimal" and cert.gap == 0.0
    assert math.isclose(found.result.energy_pj, evaluate(window, arch, found.mapping).energy_pj, rel_tol=1e-9)


def test_network_is_optimal_only_if_every_layer_is() -> None:
    layers = (small_layer("a"), small_layer("b"), Layer("w", LayerKind.CONV, M=2, C=1, P=2, R=2, H=3))
    opts = SearchOptions(budget=2000, batch=256)
    plans = map_network(Network("n", layers[:2]), tiny_arch(rf_words=16), options=opts, jobs=1)
    assert [p.optimality.status for p in plans] == ["optimal", "optimal"]
    total = network_totals(plans)["optimality"]
    assert total["status"] == "optimal"
    assert total["mappings_evaluated"] == plans[0].optimality.mappings_evaluated  # the shape was searched once
    plans = map_network(Network("n", layers), tiny_arch(rf_words=16), options=opts, jobs=1)
    assert plans[2].optimality.status == "bounded"
    total = network_totals(plans)["optimality"]
    assert total["status"] == "bounded"
    assert math.isclose(total["lower_bound_pj"], sum(p.optimality.lower_bound_pj for p in plans))
    assert combine([]).status == "bounded"


def test_cli_map_and_evaluate_carry_the_certificate() -> None:
    out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:fc8", "--budget", "2000", "--json")
    assert out.returncode == 0, out.stderr
    cert = json.loads(out.stdout)["optimality"]
    assert set(cert) == {"status", "lower_bound_pj", "gap", "mappings_evaluated", "pruned", "objective"}
    assert cert["status"] in ("optimal", "bounded") and cert["gap"] >= 0
    out = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "1000", "--json", "--jobs", "1")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert all(set(row["optimality"]) == set(cert) for row in data["layers"])
    statuses = {row["optimality"]["status"] for row in data["layers"]}
    assert data["total"]["optimality"]["status"] == ("optimal" if statuses == {"optimal"} else "bounded")
    table = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "1000", "--jobs", "1")
    assert "vs bound" in table.stdout and "%" in table.stdout


def test_cli_bound_json_schema_plot_and_bad_input(tmp_path) -> None:
    out = run_cli("bound", "lenet5", "--arch", "eyeriss", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"layers"}
    for row in data["layers"]:
        assert set(row) == {"name", "macs", "energy_lower_bound_pj", "levels"}
        assert [lv["name"] for lv in row["levels"]] == ["DRAM", "GlobalBuffer", "WeightSpad", "InputSpad",
                                                         "PsumSpad"]
        assert all(set(lv) == {"name", "capacity_words", "min_words_in"} for lv in row["levels"])
        assert all(isinstance(lv["min_words_in"], int) for lv in row["levels"])
    png = tmp_path / "ski.png"
    out = run_cli("bound", "--problem", "lenet5:conv2", "--arch", "eyeriss", "--plot", str(png))
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for args in (("bound", "--arch", "eyeriss"), ("bound", "lenet5", "--problem", "lenet5:conv2"),
                 ("bound", "lenet5", "--plot", str(png), "--layer", "conv9"), ("bound", "lenet5", "--layer", "conv1")):
        bad = run_cli(*args)
        assert bad.returncode == 2 and "error" in bad.stderr and "Traceback" not in bad.stderr, args


def test_certificates_price_updates_as_the_search_does() -> None:
    """With `update_energy="write"` and writes cheaper than updates, the network certificate's bound is the one
    priced at `write` (below the optimum found), not the dearer `update` one; `bound --update-energy` agrees."""
    from dataclasses import replace

    from stationary.arch.spec import ActionEnergy
    from stationary.mapper.bounds import layer_bound

    base = tiny_arch(rf_words=16)
    arch = replace(base, levels=tuple(replace(lv, energy=ActionEnergy(lv.energy.read_pj, lv.energy.write_pj / 4,
                                                                      lv.energy.update_pj * 4))
                                      for lv in base.levels))
    layer = small_layer()
    opts = SearchOptions(budget=2000, batch=256, update_energy="write")
    plan = map_network(Network("n", (layer,)), arch, options=opts, jobs=1)[0]
    assert plan.optimality.status == "optimal"
    nest = layer.loop_nest()
    write = layer_bound(nest, arch, imperfect=False, update_energy="write").energy_lower_bound_pj
    update = layer_bound(nest, arch, imperfect=False).energy_lower_bound_pj
    assert math.isclose(plan.optimality.lower_bound_pj, write, rel_tol=1e-12)
    assert write <= plan.found.result.energy_pj * (1 + 1e-9) and write < update
    from stationary.arch.load import load_arch
    from stationary.workload.problem import load_loop_nest

    fc8 = load_loop_nest("alexnet:fc8")
    rows = {}
    for convention in ("update", "write"):
        out = run_cli("bound", "--problem", "alexnet:fc8", "--arch", "eyeriss", "--update-energy", convention,
                      "--json")
        assert out.returncode == 0, out.stderr
        rows[convention] = json.loads(out.stdout)["layers"][0]["energy_lower_bound_pj"]
        expected = layer_bound(fc8, load_arch("eyeriss"), imperfect=False, update_energy=convention)
        assert math.isclose(rows[convention], expected.energy_lower_bound_pj, rel_tol=1e-12)
    assert rows["write"] != rows["update"]  # eyeriss's register files write at 5 pJ, update at 1 pJ
    bad = run_cli("bound", "--problem", "alexnet:fc8", "--update-energy", "rmw")
    assert bad.returncode == 2 and "update energy" in bad.stderr


def test_cycles_and_edp_certificates_have_a_finite_proven_gap() -> None:
    """A heuristic result for cycles or EDP is bounded by the layer's cycles floor (x its energy bound): a finite
    gap, "optimal" where the cycles found meet the floor; `--json` stays strict JSON (no Infinity)."""
    for objective in ("cycles", "edp"):
        out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:conv3", "--objective", objective,
                      "--budget", "2000", "--json")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
        cert = data["optimality"]
        assert cert["objective"] == objective and math.isfinite(cert["gap"]) and cert["gap"] >= 0
        if cert["status"] == "optimal":
            assert cert["gap"] == 0.0


def test_json_output_has_no_infinity(capsys) -> None:
    from stationary.cli.common import print_json

    print_json({"gap": math.inf, "rows": [1.5, -math.inf, {"x": math.nan}], "n": 3})
    assert json.loads(capsys.readouterr().out) == {"gap": None, "rows": [1.5, None, {"x": None}], "n": 3}


def test_network_gap_is_of_its_objective() -> None:
    """The network's gap measures what was searched for: total energy, total cycles (against the layers' proven
    cycles bounds), or total energy x total cycles (against the product of the summed floors)."""
    def layer(objective: str, gap: float, status: str = "bounded") -> Optimality:
        return Optimality(status, 100.0, gap, 10, 0, objective, 40.0)

    cycles = combine([(layer("cycles", 0.25), 500.0, 60.0, True), (layer("cycles", 0.0, "optimal"), 300.0, 40.0, True)])
    assert cycles.objective == "cycles" and cycles.cycles_lower_bound == 80.0
    assert math.isclose(cycles.gap, 100.0 / (48.0 + 40.0) - 1)  # 60 / 1.25 = 48 proven on the first layer
    edp = combine([(layer("edp", 1.0), 500.0, 60.0, True), (layer("edp", 0.5), 300.0, 40.0, False)])
    assert math.isclose(edp.gap, (800.0 * 100.0) / (200.0 * 80.0) - 1) and edp.mappings_evaluated == 10
    energy = combine([(layer("energy", 0.6), 400.0, 60.0, True), (layer("energy", 0.1), 110.0, 40.0, True)])
    assert math.isclose(energy.gap, 510.0 / (250.0 + 100.0) - 1)  # each layer's found / (1 + gap)


def test_cli_evaluate_certifies_the_network_for_cycles() -> None:
    out = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--objective", "cycles", "--budget", "1000",
                  "--json", "--jobs", "1")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    total = data["total"]["optimality"]
    assert total["objective"] == "cycles" and math.isfinite(total["gap"]) and total["gap"] >= 0
    assert all(math.isfinite(row["optimality"]["gap"]) for row in data["layers"])
