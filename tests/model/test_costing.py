"""The one costing stage: every counter reports the same area, energy conventions and Result fields."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.mapper.search import SearchOptions, search
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, mapping_arrays
from stationary.workload.problem import load_loop_nest
from tests.model.random_cases import random_case


def _with_area(arch):
    levels = tuple(replace(lv, area_um2=100.0 * (i + 1)) for i, lv in enumerate(arch.levels))
    return replace(arch, levels=levels, compute=replace(arch.compute, area_um2=7.0))


@pytest.mark.parametrize("seed", range(12))
def test_every_counter_reports_the_architectures_area(seed: int) -> None:
    nest, arch, mapping = random_case(seed, windows=seed % 2 == 1)
    arch = _with_area(arch)
    assert arch.area_um2 > 0
    exact = evaluate(nest, arch, mapping, check_capacity=False)
    model = FastModel(nest, arch)
    fr = model.evaluate(mapping_arrays([mapping], nest, arch))
    fast = model.result(fr, 0)
    assert exact.area_um2 == fast.area_um2 == fr.area_um2 == arch.area_um2
    assert exact.to_json()["area_mm2"] == fast.to_json()["area_mm2"] == arch.area_um2 / 1e6


def test_map_reports_the_same_area_for_every_layer() -> None:
    """alexnet:fc8 (scored by the fast model's Result) reported area 0.0 where conv2 reported 2.10."""
    arch = load_arch("eyeriss")
    opts = SearchOptions(budget=1500, seed_dataflows=False, seed_keeps=False)
    areas = {layer: search(load_loop_nest(f"alexnet:{layer}"), arch, options=opts).result.to_json()["area_mm2"]
             for layer in ("fc8", "conv2")}
    assert areas["fc8"] == areas["conv2"] == arch.area_um2 / 1e6 > 0


def test_unknown_update_energy_is_refused() -> None:
    nest, arch, mapping = random_case(1, windows=False)
    with pytest.raises(StationaryError, match="update energy"):
        evaluate(nest, arch, mapping, update_energy="rmw")
    with pytest.raises(StationaryError, match="update energy"):
        FastModel(nest, arch, update_energy="rmw")


@pytest.mark.parametrize("seed", range(6))
def test_bandwidth_stretched_cycles_agree(seed: int) -> None:
    """The costing stage stretches both counters' cycles alike (the walk's counts are Python ints)."""
    nest, arch, mapping = random_case(seed, windows=False)
    arch = arch.with_level(0, read_bandwidth=0.3, write_bandwidth=0.2)
    exact = evaluate(nest, arch, mapping, check_capacity=False)
    fast = FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    assert isinstance(exact.cycles, int) and exact.cycles == int(fast.cycles[0]) > exact.compute_cycles
    assert exact.energy_pj == pytest.approx(float(fast.energy_pj[0]), rel=1e-9)
