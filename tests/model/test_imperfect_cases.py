"""Timeloop v3.0.3's imperfect-factorization cases (tests/cases/timeloop-imperfect): the cases it evaluates
give its per-level counts; where Timeloop refuses a mapping whose factors do not cover the dimension, so does
the model, naming the dimension and levels."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from stationary.arch.ert import EnergyTable
from stationary.arch.timeloop import load_timeloop_arch
from stationary.errors import StationaryError
from stationary.mapping.check import violations
from stationary.mapping.timeloop import load_timeloop_mapping, mapping_from_dict, mapping_to_dict
from stationary.model.evaluate import evaluate
from stationary.workload.importers.timeloop import load_problem

CASES = Path(__file__).parents[1] / "cases" / "timeloop-imperfect"


def load_case(case: str):
    d = CASES / case
    nest = load_problem(d / "problem.yaml")
    arch = load_timeloop_arch(d / "arch.yaml", EnergyTable.load(d / "ert.yaml"))
    return nest, arch, load_timeloop_mapping(d / "mapping.yaml", nest, arch)


@pytest.mark.parametrize("case", ["imp1_P7", "imp2_K5"])
def test_residual_cases_equal_timeloop_per_level(case: str) -> None:
    """Every level and tensor: reads, fills, updates per instance, partition, utilized capacity and instances as
    Timeloop 3.0.3 printed them; MACs exact. Cycles are the steps run (Timeloop pads them: 16128 = 14112 x 8/7)."""
    nest, arch, mapping = load_case(case)
    assert mapping.has_residuals() and not mapping.is_perfect()
    assert violations(mapping, arch, nest) == []
    stats = json.loads((CASES / case / "timeloop-v3.0.3.stats.json").read_text())
    r = evaluate(nest, arch, mapping, update_energy="write")
    assert r.macs == stats["compute"]["Computes (total)"] == nest.macs
    assert r.compute_cycles == nest.macs  # one MAC: one step per MAC, Timeloop reports more
    assert stats["compute"]["Cycles"] > r.compute_cycles
    compared = 0
    for lv in stats["levels"]:
        ours = next(x for x in r.levels if x.name == lv["name"])
        for t, ds in lv.get("data_spaces", {}).items():
            o = ours.tensors[t]
            assert (o.reads_per_instance, o.fills_per_instance, o.updates_per_instance, o.partition_size,
                    o.utilized_capacity, o.utilized_instances) == (
                ds["Scalar reads (per-instance)"], ds["Scalar fills (per-instance)"],
                ds["Scalar updates (per-instance)"], ds["Partition size"], ds["Utilized capacity"],
                ds["Utilized instances (max)"]), (lv["name"], t)
            # Timeloop 3.0.3 prices updates at the ERT's write energy and prints 2 decimals
            assert abs(o.energy_pj - ds["Energy (total)"]) <= 0.005 + 1e-9, (lv["name"], t)
            compared += 1
    assert compared == 9
    assert abs(r.compute_energy_pj - stats["compute"]["Energy (total)"]) <= 0.005 + 1e-9


@pytest.mark.parametrize("case", ["imp1_P7", "imp2_K5", "imp3_P7K5_mesh"])
def test_residuals_round_trip_through_the_timeloop_writer(case: str) -> None:
    nest, arch, mapping = load_case(case)
    text = mapping_to_dict(mapping, nest, arch)
    assert any(",1" in d.get("factors", "") for d in text["mapping"])
    again = mapping_from_dict(text, nest, arch)
    for a, b in zip(again.levels, mapping.levels):
        assert (a.temporal, a.temporal_residual, a.spatial, a.spatial_residual) == (
            b.temporal, b.temporal_residual, b.spatial, b.spatial_residual)


def test_a_residual_on_the_outermost_loop_is_refused() -> None:
    nest, arch, _ = load_case("imp1_P7")
    data = {"mapping": [{"target": "GlobalBuffer", "type": "temporal", "factors": "R=1 S=1 P=4,3 Q=7 C=4 K=8 N=1"},
                        {"target": "RegisterFile", "type": "temporal", "factors": "R=3 S=3 P=2 Q=1 C=1 K=1 N=1"}]}
    with pytest.raises(StationaryError, match=r"outermost loop of P \(GlobalBuffer temporal P=4,3\) always"):
        mapping_from_dict(data, nest, arch)


def test_residuals_that_do_not_cover_the_bound_are_refused() -> None:
    nest, arch, _ = load_case("imp1_P7")
    data = {"mapping": [{"target": "GlobalBuffer", "type": "temporal", "factors": "R=1 S=1 P=4 Q=7 C=4 K=8 N=1"},
                        {"target": "RegisterFile", "type": "temporal", "factors": "R=3 S=3 P=3,1 Q=1 C=1 K=1 N=1"}]}
    with pytest.raises(StationaryError, match=r"factors of P \(GlobalBuffer temporal 4 x RegisterFile temporal "
                                              r"3,1\) cover 10 iterations but the bound is 7"):
        mapping_from_dict(data, nest, arch)


def test_unequal_instances_are_refused_not_rounded() -> None:
    """imp3: K = 5 = spatial 3 x RegisterFile (2,1): the last PE column does half the work, so per-instance
    means are not even integers (RegisterFile Outputs reads 7840 over 12 instances; see the next test).
    Timeloop 3.0.3 reports 10,584 MACs (it extrapolates the first PE column and counts K = 5 as 6); the true
    count is 8,820. Per-instance costing cannot express unequal instances exactly, so the model refuses (it
    loads, and the checker accepts it) rather than round, naming the level and dimension."""
    nest, arch, mapping = load_case("imp3_P7K5_mesh")
    assert nest.macs == 8820 and violations(mapping, arch, nest) == []
    with pytest.raises(StationaryError, match=r"RegisterFile temporal K=2,1 under the spatial loop "
                                              r"inter_PE_spatial K=3 of K"):
        evaluate(nest, arch, mapping)


@pytest.mark.parametrize(("case", "message"), [
    ("imp1_P7_noresidual", "factors of P multiply to 8 (GlobalBuffer temporal 4 x RegisterFile temporal 2) but "
                           "the bound is 7"),
    ("imp2_K5_noresidual", "factors of K multiply to 6 (MainMemory temporal 3 x RegisterFile temporal 2) but "
                           "the bound is 5"),
])
def test_factors_not_covering_a_dimension_are_refused(case: str, message: str) -> None:
    d = CASES / case
    nest = load_problem(d / "problem.yaml")
    arch = load_timeloop_arch(d / "arch.yaml", EnergyTable.load(d / "ert.yaml"))
    with pytest.raises(StationaryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(nest, arch, load_timeloop_mapping(d / "mapping.yaml", nest, arch))


def test_imp3_against_the_enumeration_and_timeloop() -> None:
    """imp3 by brute force: 8,820 MACs where Timeloop 3.0.3 prints 10,584 (K = 5 counted as 6 under the
    spatial loop); 882 steps (= Timeloop's 1,008 x 7/8 padding on P: 4 x 2 vs 7); RegisterFile Outputs: 8,820
    updates and 7,840 reads over 12 instances (Timeloop: 882 and 784 each, i.e. 10,584 and 9,408)."""
    from tests.model.oracle import oracle_counts

    nest, arch, mapping = load_case("imp3_P7K5_mesh")
    o = oracle_counts(nest, arch, mapping)
    rf = arch.level_index("RegisterFile")
    out = [t.name for t in nest.tensors].index("Outputs")
    assert int(o.macs[0]) == 8820 and int(o.compute_cycles[0]) == 882
    assert int(o.instances[0, rf]) == 12
    assert o.updates[0, rf, out] * 12 == 8820 and o.reads[0, rf, out] * 12 == 7840
    assert o.reads[0, rf, out] == Fraction(7840, 12)  # unequal instances: why the model refuses (above)
