"""Invariants of the exact model on random layers, architectures and mappings (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from tests.model.random_cases import cases

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_macs_conserved_and_results_deterministic(case) -> None:
    nest, arch, mapping = case
    r1 = evaluate(nest, arch, mapping, check_capacity=False)
    r2 = evaluate(nest, arch, mapping, check_capacity=False)
    assert r1.macs == nest.macs
    assert r1 == r2
    assert r1.cycles * r1.utilized_macs >= r1.macs
    assert 0 < r1.utilization <= 1


@SETTINGS
@given(cases())
def test_each_level_moves_at_least_the_distinct_data(case) -> None:
    """Compulsory traffic: the outermost level reads every input word once and receives every output word;
    every other level is filled with at least the data that passes through it. (Tiles are boxes, as in
    Timeloop, so a stride > 1 can make the box larger than the words actually touched: the minimum is the
    distinct words.)"""
    nest, arch, mapping = case
    r = evaluate(nest, arch, mapping, check_capacity=False)
    for tensor in nest.tensors:
        kept = [lv for lv in r.levels if lv.tensors[tensor.name].kept]
        outer = kept[0].tensors[tensor.name]
        touched = tensor.distinct(nest.bounds)
        assert touched <= nest.tensor_size(tensor.name)
        if tensor.read_write:
            assert outer.updates >= touched
        else:
            assert outer.reads >= touched
        gaps = touched < nest.tensor_size(tensor.name)  # boxes then overstate partitions: skip the bound
        for lv in kept[1:]:
            tc = lv.tensors[tensor.name]
            if gaps:
                continue
            if tensor.read_write:
                assert tc.updates_per_instance >= tc.partition_size
            else:
                assert tc.fills_per_instance >= tc.partition_size
            assert tc.partition_size >= tc.utilized_capacity > 0


@SETTINGS
@given(cases())
def test_energy_is_counts_times_energies(case) -> None:
    nest, arch, mapping = case
    r = evaluate(nest, arch, mapping, check_capacity=False)
    total = r.macs * arch.compute.energy_pj
    for lv in r.levels:
        spec = next(x for x in arch.levels if x.name == lv.name)
        e, bs = spec.energy, spec.block_size
        for tc in lv.tensors.values():
            if not tc.kept:
                continue
            per = (math.ceil(tc.reads_per_instance / bs) * e.read_pj + math.ceil(tc.fills_per_instance / bs)
                   * e.write_pj + math.ceil(tc.updates_per_instance / bs) * e.update_pj)
            assert math.isclose(tc.energy_pj, per * tc.utilized_instances, rel_tol=1e-12, abs_tol=1e-9)
            total += per * tc.utilized_instances
        assert lv.active_instances >= lv.utilized_instances
        total += e.leak_pj * r.cycles * lv.active_instances
    assert math.isclose(r.energy_pj, total, rel_tol=1e-12, abs_tol=1e-9)


@SETTINGS
@given(cases(), st.integers(0, 2), st.floats(1.0, 10.0))
def test_energy_monotone_in_the_energy_table(case, level: int, factor: float) -> None:
    nest, arch, mapping = case
    before = evaluate(nest, arch, mapping, check_capacity=False).energy_pj
    lv = arch.levels[level]
    e = lv.energy
    bigger = arch.with_level(level, energy=ActionEnergy(e.read_pj * factor, e.write_pj * factor,
                                                        e.update_pj * factor, e.leak_pj * factor))
    assert evaluate(nest, bigger, mapping, check_capacity=False).energy_pj >= before - 1e-9


@SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_unit_loops_can_be_written_in_any_order(case, rnd) -> None:
    """Permuting the trip-count-1 loops of a level (or leaving them out) changes nothing."""
    nest, arch, mapping = case
    levels = []
    for lm in mapping.levels:
        order = lm.temporal_order(nest.dims)
        real = [d for d in order if lm.temporal.get(d, 1) > 1]
        unit = [d for d in order if lm.temporal.get(d, 1) == 1]
        rnd.shuffle(unit)
        # interleave the unit loops at random places, keeping the real loops' relative order
        perm: list[str] = list(real)
        for d in unit:
            perm.insert(rnd.randint(0, len(perm)), d)
        levels.append(replace(lm, permutation=tuple(perm)))
    same = Mapping(tuple(levels))
    dropped = Mapping(tuple(replace(lm, permutation=tuple(d for d in lm.temporal_order(nest.dims)
                                                          if lm.temporal.get(d, 1) > 1)) for lm in mapping.levels))
    base = evaluate(nest, arch, mapping, check_capacity=False)
    assert evaluate(nest, arch, same, check_capacity=False) == base
    assert evaluate(nest, arch, dropped, check_capacity=False) == base


def test_levelmapping_defaults_keep_everything() -> None:
    lm = LevelMapping()
    assert lm.keeps("Weights") and not lm.keeps("Weights", virtual=True)
    assert not LevelMapping(bypass=frozenset({"Inputs"})).keeps("Inputs")
