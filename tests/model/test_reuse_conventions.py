"""Issue 13 item 5: multicast allowed per tensor and mesh axis; leakage on used or on all instances."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, mapping_arrays
from stationary.workload.layer import Layer, LayerKind
from tests.model.random_cases import random_case
from tests.model.test_fast import compare


def _pe_row(no_multicast=frozenset(), multicast=True, leak_instances="used"):
    """A buffer over 4 PEs on X; P spread over X, so every PE needs the same weights."""
    nest = Layer("x", LayerKind.CONV, N=1, G=1, M=2, C=3, P=4, Q=1, R=1, S=1, H=4, W=1).loop_nest()
    e = ActionEnergy(1.0, 1.0, 1.0, leak_pj=0.5)
    arch = Architecture("a", (StorageLevel("Buf", energy=e, no_multicast=no_multicast, multicast=multicast),
                              StorageLevel("PE", instances=4, mesh_x=4, energy=e, leak_instances=leak_instances),
                              StorageLevel("RF", instances=8, mesh_x=8, energy=e)),
                        ComputeUnit("MAC", 8, 8, 1))
    mapping = Mapping((LevelMapping(temporal={"M": 2, "C": 3}, spatial={"P": 4}, spatial_permutation=("P",), split=1),
                       LevelMapping(), LevelMapping()))
    return nest, arch, mapping


def test_weights_not_multicast_along_x_cost_one_read_per_pe() -> None:
    nest, arch, mapping = _pe_row()
    dense = evaluate(nest, arch, mapping).level("Buf").tensors
    off = evaluate(nest, _pe_row(frozenset({("Weights", "X")}))[1], mapping).level("Buf").tensors
    assert dense["Weights"].reads == 6  # 2 x 3 weights, each read once and multicast to the 4 PEs
    assert off["Weights"].reads == 24  # one read per PE
    assert off["Inputs"].reads == dense["Inputs"].reads  # other tensors keep their multicast
    none = evaluate(nest, _pe_row(multicast=False)[1], mapping).level("Buf").tensors
    assert none["Weights"].reads == 24 and none["Outputs"].updates == dense["Outputs"].updates


def test_leakage_on_all_instances() -> None:
    nest, arch, mapping = _pe_row()
    used = evaluate(nest, arch, mapping)
    # the mapping uses all 4 PEs; on a 6-wide array 2 idle PEs leak too when they are not power-gated
    wide = replace(arch, levels=(arch.levels[0], replace(arch.levels[1], instances=6, mesh_x=6),
                                 replace(arch.levels[2], instances=12, mesh_x=12)),
                   compute=ComputeUnit("MAC", 12, 12, 1))
    gated = evaluate(nest, wide, mapping).level("PE")
    all_on = evaluate(nest, wide.with_level(1, leak_instances="all"), mapping).level("PE")
    assert gated.active_instances == 4 and all_on.active_instances == 6
    assert all_on.leak_energy_pj == pytest.approx(gated.leak_energy_pj * 6 / 4, rel=1e-12)
    assert used.level("PE").leak_energy_pj == pytest.approx(0.5 * used.cycles * 4, rel=1e-12)
    with pytest.raises(StationaryError, match="leak_instances"):
        evaluate(nest, arch.with_level(1, leak_instances="some"), mapping)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1))
def test_fast_equals_exact_with_multicast_and_leakage_settings(seed: int, choice: int) -> None:
    nest, arch, mapping = random_case(seed, windows=False)
    rng = np.random.default_rng(choice)
    names = [t.name for t in nest.tensors]
    levels = []
    for lv in arch.levels:
        off = frozenset((n, a) for n in names for a in "XY" if rng.random() < 0.3)
        levels.append(replace(lv, no_multicast=off, multicast=bool(rng.random() < 0.85),
                              leak_instances=str(rng.choice(["used", "all"]))))
    arch = replace(arch, levels=tuple(levels))
    bad, _ = compare(nest, arch, mapping)
    assert not bad, bad


def test_dense_defaults_keep_todays_numbers() -> None:
    """Explicitly dense settings equal the defaults, bit for bit."""
    for seed in range(5):
        nest, arch, mapping = random_case(seed, windows=True)
        dense = replace(arch, levels=tuple(replace(lv, no_multicast=frozenset(), multicast=True,
                                                   leak_instances="used") for lv in arch.levels))
        assert evaluate(nest, arch, mapping, check_capacity=False) == evaluate(nest, dense, mapping,
                                                                               check_capacity=False)
        a, b = (FastModel(nest, x).evaluate(mapping_arrays([mapping], nest, x)) for x in (arch, dense))
        assert math.isclose(float(a.energy_pj[0]), float(b.energy_pj[0]), rel_tol=0, abs_tol=0)
