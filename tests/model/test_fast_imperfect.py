"""The fast model on mappings with Timeloop 3 remainders (`D=n,r`) against the loop walk (evaluate.py +
nest_analysis.py): every count equal and every energy to 1e-9 on random imperfect cases of every kind the fast
model handles (sliding windows, strides, dilation, meshes, bypass, several MACs under one buffer, networks that
cannot multicast, neighbour link transfers), in batches that mix perfect and imperfect rows; the walk's
refusals (unequal instances, factors that do not cover a dimension) are the fast model's, word for word; and
Timeloop 3.0.3's imperfect reference cases give the walk's numbers. The slow run checks 20,000 cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.mapping.timeloop import mapping_from_dict
from stationary.model.costing import Costing
from stationary.model.evaluate import exact_counts
from stationary.model.fast import FastModel, MappingArrays, mapping_arrays, row_to_mapping
from stationary.model.nest_analysis import NestAnalysis
from tests.model.random_cases import differences, random_case, wide_case
from tests.model.test_imperfect_cases import load_case
from tests.model.test_imperfect_oracle import imperfect_case


def _base(seed: int, wide: bool):
    """The perfect mapping `imperfect_case(seed, wide)` starts from (same layer and architecture)."""
    if wide:
        return wide_case(seed)[2]
    return random_case(seed, windows=False, n_levels=(3, 4, 5), strided=False, mac_fanout=False)[2]


def _walk(nest, arch, mapping):
    """The walk's costed counts, or the message it refuses the mapping with."""
    try:
        return Costing(arch).cost(exact_counts(nest, arch, mapping)), None
    except StationaryError as exc:
        return None, exc.message


def mismatches(seed: int, wide: bool) -> list[str]:
    """Fast vs walk on imperfect_case(seed, wide), costed in one batch with the perfect mapping it came from
    (the imperfect row first, so the merge of the two paths is exercised both ways over the seeds)."""
    nest, arch, mapping, _ = imperfect_case(seed, wide)
    base = _base(seed, wide)
    rows = [mapping, base] if seed % 2 else [base, mapping]
    fm = FastModel(nest, arch)
    wants = [_walk(nest, arch, m) for m in rows]
    refused = [msg for _, msg in wants if msg is not None]
    try:
        got = fm.evaluate(mapping_arrays(rows, nest, arch))
    except StationaryError as exc:
        return [] if refused and exc.message == refused[0] else [f"fast refused: {exc.message}; walk: {refused}"]
    if refused:
        return [f"the walk refused ({refused[0]}) but the fast model accepted"]
    bad = []
    for b, (want, _) in enumerate(wants):
        one = fm.evaluate(mapping_arrays([rows[b]], nest, arch))
        bad += [f"row {b}: {x}" for x in differences(want, one, ("walk", "fast"))]
        bad += [f"row {b} of the batch: {x}" for x in differences(one, _row(got, b), ("alone", "batch"))]
    return bad


def _row(fr, b: int):
    """Row b of a FastResult as a batch of one."""
    from dataclasses import fields, replace

    return replace(fr, **{f.name: getattr(fr, f.name)[b:b + 1] for f in fields(fr)
                          if isinstance(getattr(fr, f.name), np.ndarray)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_fast_equals_walk_with_remainders(seed: int, wide: bool) -> None:
    bad = mismatches(seed, wide)
    assert not bad, bad


def test_the_cases_hold_remainders_links_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality above is not vacuous: most wide cases have remainders, some are refused (unequal
    instances), and on some the walk's counts change when its neighbour link transfers are switched off."""
    seeds = range(150)
    cases = [imperfect_case(s, True) for s in seeds]
    assert sum(c[3] for c in cases) >= 80
    walked = [_walk(n, a, m) for n, a, m, _ in cases]
    assert sum(msg is not None for _, msg in walked) >= 5
    assert all(not mismatches(s, True) for s in seeds)
    monkeypatch.setattr(NestAnalysis, "_link_transfers", lambda self, L, cur, unaccounted, st: [0.0] * self.nt)
    changed = sum(bool(differences(w, _walk(n, a, m)[0], ("links", "no links")))
                  for (n, a, m, c), (w, msg) in zip(cases, walked) if c and msg is None)
    assert changed >= 3


@pytest.mark.parametrize("split", [1, 2, 3])
def test_every_split_into_blocks_gives_the_walks_counts(monkeypatch: pytest.MonkeyPatch, split: int) -> None:
    """The fast model splits each level's loops into an inner block (solved once per context and first status)
    and the outer sequence of blocks, at the cheapest point; forced to any other split it counts the same."""
    from stationary.model import fast as fast_module

    monkeypatch.setattr(fast_module, "SPLIT", split)
    failed = [(s, bad) for s in range(40) for wide in (False, True) if (bad := mismatches(s, wide))]
    assert not failed, failed[:2]


@pytest.mark.slow
def test_fast_equals_walk_with_remainders_20000_cases() -> None:
    """20,000 batches of a perfect and an imperfect mapping (narrow and wide cases alternating): 0 mismatches."""
    failed = [(seed, bad) for seed in range(20_000) if (bad := mismatches(seed, bool(seed % 3)))]
    assert not failed, (len(failed), failed[:3])


@pytest.mark.parametrize("case", ["imp1_P7", "imp2_K5"])
def test_timeloop_imperfect_cases_give_the_walks_numbers(case: str) -> None:
    nest, arch, mapping = load_case(case)
    for energy in ("update", "write"):
        want = Costing(arch, energy).cost(exact_counts(nest, arch, mapping))
        got = FastModel(nest, arch, energy).evaluate(mapping_arrays([mapping], nest, arch))
        assert differences(want, got, ("walk", "fast")) == []
    if case == "imp1_P7":  # docs/counting-rules.md section 9's worked example
        assert int(got.macs[0]) == 14_112 and int(got.compute_cycles[0]) == 14_112
        rf = arch.level_index("RegisterFile")
        assert int(got.tile_words[0, rf, [t.name for t in nest.tensors].index("Outputs")]) == 4


def test_unequal_instances_are_refused_with_the_walks_message() -> None:
    nest, arch, mapping = load_case("imp3_P7K5_mesh")
    with pytest.raises(StationaryError) as walk:
        exact_counts(nest, arch, mapping)
    with pytest.raises(StationaryError) as fast:
        FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    assert fast.value.message == walk.value.message
    assert "RegisterFile temporal K=2,1 under the spatial loop inter_PE_spatial K=3 of K" in fast.value.message


def test_factors_that_do_not_cover_a_dimension_are_refused() -> None:
    """Arrays are not validated on the way in: the fast model checks coverage itself (the Mapping's rule)."""
    nest, arch, mapping = load_case("imp1_P7")
    m = mapping_arrays([mapping], nest, arch)
    rf, p = arch.level_index("RegisterFile"), nest.dims.index("P")
    bad = MappingArrays(m.temporal, m.spatial, m.spatial_x, m.permutation, m.keep, m.spatial_order,
                        m.temporal_residuals().copy())
    bad.temporal[0, rf, p] = 3  # P = 4 x (3,1): covers 1 + 3 x 3 = 10, not 7
    with pytest.raises(StationaryError, match=r"factors of P \(GlobalBuffer temporal 4 x RegisterFile temporal "
                                              r"3,1\) cover 10 iterations but the bound is 7") as exc:
        FastModel(nest, arch).evaluate(bad)
    assert exc.value.field == "factors.P"


def test_residuals_round_trip_through_the_arrays() -> None:
    """mapping_arrays -> row_to_mapping keeps every residual (and row_to_mapping's arrays are the same)."""
    for case in ("imp1_P7", "imp2_K5", "imp3_P7K5_mesh"):
        nest, arch, mapping = load_case(case)
        m = mapping_arrays([mapping], nest, arch)
        assert m.imperfect_rows().tolist() == [True]
        back = row_to_mapping(m, 0, nest, arch)
        for a, b in zip(back.levels, mapping.levels):
            assert (a.temporal, a.temporal_residual) == (b.temporal, b.temporal_residual)
        again = mapping_arrays([back], nest, arch)
        assert np.array_equal(again.temporal_residuals(), m.temporal_residuals())
    for seed in range(30):
        nest, arch, mapping, _ = imperfect_case(seed, True)
        back = row_to_mapping(mapping_arrays([mapping], nest, arch), 0, nest, arch)
        assert [lm.temporal_residual for lm in back.levels] == [lm.temporal_residual for lm in mapping.levels]


def test_range_guard_bounds_the_counts_with_remainders() -> None:
    """_check_range's bound (box factor x the product of every factor) holds for the counts of mappings with
    remainders (a remainder only removes iterations), so rows it lets through cannot wrap."""
    for seed in range(60):
        nest, arch, mapping, _ = imperfect_case(seed, True)
        counts = _walk(nest, arch, mapping)[0]
        if counts is None:
            continue
        fm = FastModel(nest, arch)
        m = mapping_arrays([mapping], nest, arch)
        bound = float(np.prod(m.temporal) * np.prod(m.spatial) * fm.box_factor)
        inst = counts.utilized_instances[0].astype(float)[:, None]
        for f in (counts.reads, counts.fills, counts.updates, counts.tile_words):
            assert (f[0].astype(float) * inst <= bound).all(), seed


def test_range_guard_refuses_huge_imperfect_mappings() -> None:
    data = {"mapping": [{"target": "GlobalBuffer", "type": "temporal",
                         "factors": "R=1 S=1 P=4 Q=7 C=4 K=8 N=1"},
                        {"target": "RegisterFile", "type": "temporal", "factors": "R=3 S=3 P=2,1 Q=1 C=1 K=1 N=1"}]}
    nest, arch, _ = load_case("imp1_P7")
    m = mapping_arrays([mapping_from_dict(data, nest, arch)], nest, arch)
    huge = MappingArrays(m.temporal * 2**21, m.spatial, m.spatial_x, m.permutation, m.keep, m.spatial_order,
                         m.temporal_residuals())
    with pytest.raises(StationaryError, match="beyond the fast model's 64-bit integers"):
        FastModel(nest, arch).evaluate(huge)


def test_too_many_simulated_iterations_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The imperfect path enumerates the walk's simulated iterations (up to 4 per temporal loop): past its
    limit it refuses the batch with a clear error rather than run out of memory."""
    from stationary.model import fast as fast_module

    nest, arch, mapping = load_case("imp1_P7")
    m = mapping_arrays([mapping], nest, arch)
    FastModel(nest, arch).evaluate(m)
    monkeypatch.setattr(fast_module, "IMPERFECT_ITERATIONS", 4)
    with pytest.raises(StationaryError, match="simulated iterations in the fast model"):
        FastModel(nest, arch).evaluate(m)
