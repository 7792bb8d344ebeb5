"""The benchmarking template: each metric against a hand computation from the spec and the per-layer results."""

from __future__ import annotations

import json

import pytest

from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.mapper.network import map_network
from stationary.mapper.search import SearchOptions
from stationary.report.metrics import Densities, benchmark_report
from stationary.report.tables import template_rows
from stationary.workload.zoo import get_model
from tests.clirun import run_cli_json


@pytest.fixture(scope="module")
def lenet_on_eyeriss() -> tuple:
    net = get_model("lenet5", batch=2)
    arch = load_arch("eyeriss")
    plans = map_network(net, arch, "free", SearchOptions(budget=1000, exhaustive_limit=1000), jobs=1)
    return net, arch, plans


def test_hardware_section_eyeriss(lenet_on_eyeriss: tuple) -> None:
    net, arch, plans = lenet_on_eyeriss
    h = benchmark_report(net, "lenet5", arch, plans, "free", "energy")["hardware"]
    assert h["mac_units"] == 168 and h["array"] == "14x12" and h["mac_bits"] == 16
    assert h["peak_gmacs"] == pytest.approx(168 * 200 / 1000)  # 33.6 GMACS, as the JSSC paper states
    # 108 KiB buffer + 168 PEs x (224 + 12 + 24) 16-bit words
    assert h["on_chip_memory_bytes"] == 108 * 1024 + 168 * (224 + 12 + 24) * 2
    assert h["technology"] == "65nm"
    assert h["area_mm2"] == pytest.approx(arch.area_um2 / 1e6)


def test_results_section_by_hand(lenet_on_eyeriss: tuple) -> None:
    net, arch, plans = lenet_on_eyeriss
    rep = benchmark_report(net, "lenet5", arch, plans, "free", "energy")
    r = rep["results"]
    macs = sum(p.found.result.macs for p in plans)
    energy = sum(p.found.result.energy_pj for p in plans)
    cycles = sum(p.found.result.cycles for p in plans)
    assert macs == rep["model"]["macs"] == sum(layer.macs for layer in net.mac_layers())
    assert r["latency_ms"] == pytest.approx(cycles / 200e6 * 1e3)
    assert r["throughput_inferences_per_s"] == pytest.approx(2 / (cycles / 200e6))
    assert r["power_mw"] == pytest.approx(energy * 1e-12 / (cycles / 200e6) * 1e3)
    assert r["energy_per_mac_pj"] == pytest.approx(energy / macs)
    assert r["utilization"] == pytest.approx(macs / (cycles * 168))
    dram_words = sum(tc.reads + tc.fills + tc.updates for p in plans for tc in p.found.result.level("DRAM")
                     .tensors.values() if tc.kept)
    assert dram_words > 0
    assert r["dram_bytes"] == pytest.approx(dram_words * 2)  # 16-bit words
    assert r["dram_bytes_per_mac"] == pytest.approx(dram_words * 2 / macs)
    assert r["dram_energy_pj"] == pytest.approx(sum(p.found.result.level("DRAM").energy_pj for p in plans))
    assert sum(r["energy_by_level_pj"].values()) == pytest.approx(energy)
    for row, p in zip(rep["layers"], plans):
        assert sum(row["energy_by_level_pj"].values()) == pytest.approx(p.found.result.energy_pj)
        assert sum(row["energy_by_tensor_pj"].values()) == pytest.approx(p.found.result.energy_pj)
    json.dumps(rep)  # JSON-ready


def test_model_section_accuracy_and_nonzero_macs(lenet_on_eyeriss: tuple) -> None:
    net, arch, plans = lenet_on_eyeriss
    m = benchmark_report(net, "lenet5", arch, plans, "free", "energy")["model"]
    assert m["accuracy"] == "n/a" and m["nonzero_macs"] is None
    assert m["conv_layers"] == 2 and m["filter_sizes"] == "5"
    rep = benchmark_report(net, "lenet5", arch, plans, "free", "energy", Densities(weights=0.5, inputs=0.4))
    assert rep["model"]["nonzero_macs"] == round(m["macs"] * 0.2)
    assert rep["results"]["energy_per_nonzero_mac_pj"] == pytest.approx(rep["results"]["energy_pj"]
                                                                        / round(m["macs"] * 0.2))
    alex = get_model("alexnet")
    am = benchmark_report(alex, "alexnet", arch, [], "free", "energy")["model"]
    assert am["accuracy"].startswith("16.4%") and am["filter_sizes"] == "3, 5, 11"
    with pytest.raises(StationaryError, match="density"):
        Densities(weights=0.0)


def test_template_rows_cover_the_survey_layout(lenet_on_eyeriss: tuple) -> None:
    net, arch, plans = lenet_on_eyeriss
    rows = template_rows(benchmark_report(net, "lenet5", arch, plans, "free", "energy"))
    metrics = {m for _, m, _ in rows}
    for needed in ("accuracy", "layers", "filter sizes", "weights", "MACs", "non-zero MACs", "technology",
                   "MACs (PEs) x bit width", "clock", "peak throughput", "on-chip memory", "area (estimate)",
                   "throughput", "latency", "energy", "power (incl. off-chip)", "energy per MAC",
                   "energy per non-zero MAC", "DRAM traffic", "utilization"):
        assert needed in metrics
    assert {s for s, _, _ in rows} == {"model", "hardware", "results"}


def test_report_cli_json() -> None:
    data = run_cli_json("report", "lenet5", "--budget", "300", "--json", "--weight-density", "0.5")
    assert set(data) >= {"model", "hardware", "results", "layers"}
    assert data["model"]["weight_density"] == 0.5 and data["results"]["energy_pj"] > 0
