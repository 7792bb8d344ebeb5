"""Regression tests for the counting defects of issue 17 (items 2, 3, 4): each failed on the old code."""

from __future__ import annotations

import pytest

from stationary.arch.load import load_arch
from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, mapping_arrays
from stationary.workload.layer import Layer, LayerKind, matmul


def _two_spatial_at_mac_fanout() -> tuple:
    nest = Layer("x", LayerKind.CONV, N=1, G=1, M=2, C=2, P=2, Q=1, R=1, S=1, H=1, W=1).loop_nest()
    e = ActionEnergy(1.0, 2.0, 3.0)
    arch = Architecture("a", (StorageLevel("DRAM", energy=e), StorageLevel("RF", energy=e)),
                        ComputeUnit("MAC", 4, 2, 2, energy_pj=1.0))
    mapping = Mapping((LevelMapping(temporal={"P": 2}),
                       LevelMapping(spatial={"M": 2, "C": 2}, spatial_permutation=("M", "C"), split=1)))
    return nest, arch, mapping


def test_two_spatial_dims_at_the_mac_fanout_count_every_mac() -> None:
    """Item 2: several MACs under one buffer, two dims spatial into them: 8 MACs on 4 units, not 0."""
    nest, arch, mapping = _two_spatial_at_mac_fanout()
    exact = evaluate(nest, arch, mapping)
    assert exact.macs == nest.macs == 8
    assert exact.utilized_macs == 4
    assert exact.utilization == 1.0
    assert exact.compute_energy_pj == 8.0
    fast = FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    assert int(fast.macs[0]) == 8
    assert fast.energy_pj[0] == pytest.approx(exact.energy_pj, rel=1e-12)


def _plain_mapping(nest, arch) -> Mapping:
    return Mapping(tuple(LevelMapping(temporal=dict(nest.bounds) if i == 0 else {}) for i in range(len(arch.levels))))


def test_model_applies_the_native_architectures_keep_lists() -> None:
    """Item 3: Eyeriss' scratchpads each keep one tensor; a mapping that says nothing follows the arch."""
    nest = Layer("x", LayerKind.CONV, N=1, G=1, M=2, C=2, P=2, Q=2, R=1, S=1, H=2, W=2).loop_nest()
    arch = load_arch("eyeriss")
    r = evaluate(nest, arch, _plain_mapping(nest, arch))
    for lv in arch.levels:
        for name, tc in r.level(lv.name).tensors.items():
            allowed = (lv.keep_only is None or name in lv.keep_only) and name not in lv.bypass_always
            assert tc.kept == allowed, (lv.name, name)
    assert not r.level("WeightSpad").tensors["Inputs"].kept


def test_model_refuses_keeping_what_the_architecture_bypasses() -> None:
    nest = Layer("x", LayerKind.CONV, N=1, G=1, M=2, C=2, P=2, Q=2, R=1, S=1, H=2, W=2).loop_nest()
    arch = load_arch("eyeriss")
    levels = list(_plain_mapping(nest, arch).levels)
    i = arch.level_index("WeightSpad")
    levels[i] = LevelMapping(keep=frozenset({"Inputs"}))
    with pytest.raises(StationaryError, match="WeightSpad bypasses Inputs"):
        evaluate(nest, arch, Mapping(tuple(levels)))


def test_tensor_not_kept_at_the_outermost_level_is_refused() -> None:
    """Item 3: a tensor bypassed at DRAM (or kept nowhere) would come from nowhere."""
    nest, arch, mapping = _two_spatial_at_mac_fanout()
    for bypass_all in (False, True):
        levels = [LevelMapping(temporal={"P": 2}, bypass=frozenset({"Weights"})),
                  LevelMapping(spatial={"M": 2, "C": 2}, spatial_permutation=("M", "C"), split=1,
                               bypass=frozenset({"Weights"}) if bypass_all else frozenset())]
        bad = Mapping(tuple(levels))
        with pytest.raises(StationaryError, match="Weights is not kept at the outermost level DRAM"):
            evaluate(nest, arch, bad)
        with pytest.raises(StationaryError, match="outermost level"):
            mapping_arrays([bad], nest, arch)
    # the same row given as arrays (as the mapper does) is marked invalid, never scored as cheap
    arrays = mapping_arrays([mapping], nest, arch)
    arrays.keep[0, 0, 0] = False
    assert not FastModel(nest, arch).evaluate(arrays).valid[0]


def test_counts_beyond_int64_are_refused_not_wrapped() -> None:
    """Item 4: M = N = K = 2^21 has 2^63 MACs: the fast model refused it; the exact model counts them."""
    nest = matmul("mm", 2**21, 2**21, 2**21).loop_nest()
    arch = load_arch("eyeriss")
    mapping = _plain_mapping(nest, arch)
    with pytest.raises(StationaryError, match="64-bit"):
        FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    r = evaluate(nest, arch, mapping, check_capacity=False)
    assert r.macs == 2**63
    assert r.energy_pj > 0
    for lv in r.levels:
        for tc in lv.tensors.values():
            assert min(tc.reads, tc.fills, tc.updates) >= 0
    small = matmul("mm", 2**10, 2**10, 2**10).loop_nest()  # well inside the range: scored as before
    fr = FastModel(small, arch).evaluate(mapping_arrays([_plain_mapping(small, arch)], small, arch))
    assert int(fr.macs[0]) == 2**30


def test_printed_loop_nest_shows_what_the_model_keeps() -> None:
    from stationary.mapping.looptext import loop_nest_text

    nest = Layer("x", LayerKind.CONV, N=1, G=1, M=2, C=2, P=2, Q=2, R=1, S=1, H=2, W=2).loop_nest()
    arch = load_arch("eyeriss")
    text = loop_nest_text(nest, arch, _plain_mapping(nest, arch))
    assert "[WeightSpad] keeps Weights\n" in text + "\n"
    assert "[DRAM] keeps Weights, Inputs, Outputs" in text
