"""The fast (vectorized, closed-form) model against the loop walk (exact model) and the Timeloop reference cases.

`python3 tests/model/random_cases.py FIRST COUNT` prints the mismatch rate on the wide random cases."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.arch.ert import EnergyTable
from stationary.arch.timeloop import load_timeloop_arch
from stationary.mapping.mapping import Mapping
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.model import fast as fast_module
from stationary.model.evaluate import evaluate, exact_counts
from stationary.model.fast import FastModel, MappingArrays, _reachable, distinct_rows, mapping_arrays
from stationary.model.nest_analysis import NestAnalysis
from stationary.workload.importers.timeloop import load_problem
from tests.model.random_cases import architectures, layers, mappings, random_case, walk_mismatches, wide_case

CASES = sorted(p for p in (Path(__file__).parents[1] / "cases" / "timeloop").iterdir() if p.is_dir())


def compare(nest, arch, mapping) -> tuple[list[str], float]:
    """Mismatching per-instance counts (exact vs fast), and the relative energy difference."""
    exact = evaluate(nest, arch, mapping, check_capacity=False)
    fast = FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    bad = []
    for i, lv in enumerate(arch.levels):
        if lv.virtual:
            continue
        got_level = exact.level(lv.name)
        if got_level.utilized_instances != fast.utilized_instances[0, i]:
            bad.append(f"{lv.name} utilized instances")
        for t, tensor in enumerate(nest.tensors):
            tc = got_level.tensors[tensor.name]
            if not tc.kept:
                continue
            want = (tc.reads_per_instance, tc.fills_per_instance, tc.updates_per_instance, tc.utilized_capacity)
            got = tuple(int(x[0, i, t]) for x in (fast.reads, fast.fills, fast.updates, fast.tile_words))
            if got != want:
                bad.append(f"{lv.name}.{tensor.name}: fast {got} exact {want}")
            if not math.isclose(tc.energy_pj, fast.tensor_energy_pj[0, i, t], rel_tol=1e-9, abs_tol=1e-9):
                bad.append(f"{lv.name}.{tensor.name} energy")
        if not math.isclose(got_level.leak_energy_pj, fast.leak_energy_pj[0, i], rel_tol=1e-9, abs_tol=1e-9):
            bad.append(f"{lv.name} leakage")
    if exact.cycles != fast.cycles[0] or exact.macs != fast.macs[0]:
        bad.append("cycles/macs")
    if not math.isclose(exact.utilization, fast.utilization[0], rel_tol=1e-9):
        bad.append("utilization")
    rel = abs(exact.energy_pj - fast.energy_pj[0]) / exact.energy_pj
    if rel > 1e-9:
        bad.append(f"energy {exact.energy_pj} vs {fast.energy_pj[0]}")
    return bad, rel


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_fast_equals_exact_without_sliding_windows(seed: int) -> None:
    nest, arch, mapping = random_case(seed, windows=False)
    bad, _ = compare(nest, arch, mapping)
    assert not bad, bad


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_fast_equals_walk_on_every_kind_of_mapping(seed: int) -> None:
    """Sliding windows, strides, dilation, transposed convolutions, 3-5 levels with meshes, bypass, several
    MACs per buffer, multicast switched off: every count field equal, every energy to 1e-9."""
    bad = walk_mismatches(*wide_case(seed))
    assert not bad, bad


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fast_equals_walk_on_padded_layers(data: st.DataObject) -> None:
    """The hypothesis layers (padding, stride, windows up to 3x3) on a 3-level mesh architecture."""
    nest = data.draw(layers())
    arch = data.draw(architectures())
    mapping = data.draw(mappings(nest, arch))
    bad = walk_mismatches(nest, arch, mapping)
    assert not bad, bad


@pytest.mark.slow
def test_fast_equals_walk_20000_cases() -> None:
    failed = [(seed, bad) for seed in range(20_000) if (bad := walk_mismatches(*wide_case(seed)))]
    assert not failed, (len(failed), failed[:3])


def test_wide_cases_exercise_links_and_wrapped_halos(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality above is not vacuous: on these seeds the walk's counts change when its neighbour link
    transfers are switched off, and the old closed form (no wrap-surviving halo) would differ as well."""
    seeds = range(120)
    assert all(not walk_mismatches(*wide_case(s)) for s in seeds)
    monkeypatch.setattr(NestAnalysis, "_link_transfers", lambda self, L, cur, unaccounted, st: [0.0] * self.nt)
    without_links = sum(bool(walk_mismatches(*wide_case(s))) for s in seeds)
    assert without_links >= 3


def test_spatial_order_decides_neighbours() -> None:
    """Two spatial loops on one mesh axis: their order (kept in MappingArrays.spatial_order) decides which
    children are neighbours, so the walk's counts follow it; the fast model equals the walk for both orders.
    (Seeds 760-800 include one where the order changes the counts.)"""
    found = 0
    for seed in range(760, 800):
        nest, arch, mapping = random_case(seed, windows=True, n_levels=(3, 4), mac_fanout=True, wide_mesh=True)
        for level, lm in enumerate(mapping.levels):
            axis = lm.spatial_axis(nest.dims)
            order = lm.spatial_order(nest.dims)
            xs = [d for d in order if axis[d] == "X"]
            ys = [d for d in order if axis[d] == "Y"]
            for on_x in (True, False):
                used = [d for d in (xs if on_x else ys) if d in lm.spatial]
                if len(used) < 2:
                    continue
                flipped = used[::-1] + [d for d in (xs if on_x else ys) if d not in used]
                perm = tuple(flipped + ys) if on_x else tuple(xs + flipped)
                other = Mapping(mapping.levels[:level] + (replace(lm, spatial_permutation=perm, split=len(xs)),)
                                + mapping.levels[level + 1:])
                for m in (mapping, other):
                    bad = walk_mismatches(nest, arch, m)
                    assert not bad, (seed, bad)
                a = exact_counts(nest, arch, mapping)
                b = exact_counts(nest, arch, other)
                found += int(not (a.reads == b.reads).all())
    assert found >= 1


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fast_matches_timeloop_cases(case: Path) -> None:
    nest = load_problem(case / "problem.yaml")
    arch = load_timeloop_arch(case / "arch.yaml", EnergyTable.load(case / "ert.yaml"))
    mapping = load_timeloop_mapping(case / "mapping.yaml", nest, arch)
    exp = json.loads((case / "expected.json").read_text())
    fast = FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    assert fast.cycles[0] == exp["cycles"]
    assert math.isclose(fast.energy_pj[0], exp["energy_pj"], rel_tol=1e-9)
    bad, _ = compare(nest, arch, mapping)
    assert not bad, bad


def test_batch_equals_one_by_one() -> None:
    """Rows of one batch (different factors, orders, keeps) get the same numbers as alone."""
    cases = [random_case(7, windows=False, mapping_seed=k) for k in range(30)]
    nest, arch, _ = cases[0]
    rows = [mapping_arrays([m], nest, arch) for _, _, m in cases]
    batch = MappingArrays.concat(rows)
    model = FastModel(nest, arch)
    together = model.evaluate(batch)
    for b, row in enumerate(rows):
        alone = model.evaluate(row)
        assert together.energy_pj[b] == alone.energy_pj[0]
        assert (together.reads[b] == alone.reads[0]).all()
    assert len({float(e) for e in together.energy_pj}) > 5  # the rows really differ


def assert_same_result(want: object, got: object) -> None:
    """Every array of two fast results equal: integers and flags exactly, energies to 1e-9 relative."""
    for name, a in vars(want).items():
        b = getattr(got, name)
        if not isinstance(a, np.ndarray):
            assert a == b, name
        elif a.dtype.kind == "f":
            assert np.allclose(a, b, rtol=1e-9, atol=0), name
        else:
            assert np.array_equal(a, b), name


@pytest.mark.parametrize("seed", range(8))
def test_repeated_rows_cost_once_and_equal_the_uncached_path(seed: int) -> None:
    """A batch with repeated mappings (windows, links, shuffled wide meshes) gets, row by row, what the
    uncached path gives every row; the repeats are really grouped."""
    cases = [random_case(seed, windows=True, mapping_seed=k, shuffle_spatial=True, wide_mesh=True,
                         strided=True) for k in range(10)]
    nest, arch, _ = cases[0]
    rows = mapping_arrays([m for _, _, m in cases], nest, arch)
    batch = rows.take(np.random.default_rng(seed).integers(0, 10, 60))
    first, inverse = distinct_rows(batch)
    assert first.size <= 10 < batch.size
    assert all(np.array_equal(getattr(batch, f)[first][inverse], getattr(batch, f))
               for f in ("temporal", "spatial", "spatial_x", "permutation", "keep", "spatial_order"))
    model = FastModel(nest, arch)
    assert_same_result(model.evaluate_rows(batch), model.evaluate(batch))


def test_row_hash_collision_keeps_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows that hash alike but differ are never grouped: with every row colliding, each is costed."""
    cases = [random_case(5, windows=True, mapping_seed=k) for k in range(6)]
    nest, arch, _ = cases[0]
    batch = mapping_arrays([m for _, _, m in cases] * 2, nest, arch)
    monkeypatch.setattr(fast_module, "_ROW_HASH", np.zeros_like(fast_module._ROW_HASH))
    first, inverse = distinct_rows(batch)
    assert np.array_equal(first, np.arange(12)) and np.array_equal(inverse, np.arange(12))
    model = FastModel(nest, arch)
    assert_same_result(model.evaluate_rows(batch), model.evaluate(batch))


def test_capacity_overflow_marks_mapping_invalid() -> None:
    nest, arch, mapping = random_case(3, windows=False)
    small = arch.with_level(len(arch.levels) - 1, depth=0)
    fast = FastModel(nest, small).evaluate(mapping_arrays([mapping], nest, small))
    assert not fast.valid[0]
    assert FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch)).valid[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_the_cheap_fit_check_is_the_models_validity(seed: int) -> None:
    """`FastModel.may_fit` (fan-outs, capacities, a source for every tensor; no counts) equals `evaluate`'s
    validity on perfect rows of a dense architecture, capacities shrunk so that many rows overflow, and is
    never False where `evaluate` says valid (rows with remainders, sparse architectures: left True)."""
    from stationary.mapper.space import MapSpace
    from stationary.model.sparsity import Sparsity

    nest, arch, _ = random_case(seed, windows=seed % 2 == 0, mac_fanout=seed % 3 == 0, wide_mesh=True)
    rng = np.random.default_rng(seed)
    for i, lv in enumerate(arch.levels[1:], 1):  # some inner levels at a fraction of their words
        if lv.size_words is not None and rng.random() < 0.6:
            arch = arch.with_level(i, depth=max(1, int(lv.depth * rng.uniform(0.05, 0.6))))
    for imperfect in (False, True):
        space = MapSpace(nest, arch, imperfect=imperfect)
        rows = space.sample(rng, 120)
        rows = MappingArrays.concat([rows, space.mutate(rng, rows)])
        model = FastModel(nest, arch)
        fits, valid = model.may_fit(rows), model.evaluate(rows).valid
        assert not (valid & ~fits).any()
        perfect = ~rows.imperfect_rows()
        assert np.array_equal(fits[perfect], valid[perfect])
    sparse = replace(arch, sparsity=Sparsity((("Weights", 0.5),), compute_zero="gate"))
    assert FastModel(nest, sparse).may_fit(rows).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_fast_result_object_equals_exact_json(seed: int) -> None:
    """The fast model's Result serializes exactly like the exact model's (sliding windows included)."""
    nest, arch, mapping = random_case(seed, windows=True)
    model = FastModel(nest, arch)
    fast = model.result(model.evaluate(mapping_arrays([mapping], nest, arch)), 0).to_json()
    exact = evaluate(nest, arch, mapping, check_capacity=False).to_json()

    def close(a, b):
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return a == b

    assert close(fast, exact)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_link_candidates_are_the_neighbour_differences(seed: int) -> None:
    """The closed-form neighbour differences (carry patterns, no children enumerated) that `_links` filters with
    are exactly the differences off(i + s) - off(i) of the children's box offsets, s = 1 and the mesh width,
    enumerated child by child (i + s below the children count), at every fan-out of a wide random case."""
    nest, arch, mapping = wide_case(seed)
    model = FastModel(nest, arch)
    m = mapping_arrays([mapping], nest, arch)
    sf, order = m.spatial[:, ::-1], m.spatial_orders()[:, ::-1]
    below = np.ones_like(sf[:, 0])
    for j in range(len(arch.levels)):
        num = int(np.prod(sf[0, j]))
        h, v = (int(x) for x in model.fanout[len(arch.levels) - 1 - j])
        for t in range(len(nest.tensors)):
            C = model.coef_axes[t]
            cand, occurs = model._link_candidates(t, j, sf[:, j], order[:, j], below)
            got = {tuple(int(x) for x in c) for c, ok in zip(cand[0], occurs[0]) if ok}
            ends = [int(sf[0, j, d]) for d in order[0, j]]
            steps = [C[:, d] * below[0, d] for d in order[0, j]]

            def off(i: int, ends: list[int] = ends, steps: list = steps, n_axes: int = C.shape[0]) -> np.ndarray:
                total = np.zeros(n_axes, np.int64)
                for e, w in zip(ends, steps):
                    total += (i % e) * w
                    i //= e
                return total

            want = set()
            for s in ([1] if h > 1 else []) + ([h] if v > 1 else []):
                for i in range(num - s):
                    d = tuple(int(x) for x in off(i + s) - off(i))
                    want |= {d, tuple(-x for x in d)}
            assert got == want, (seed, j, t)
        below = below * sf[:, j] * m.temporal[:, ::-1][:, j]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1))
def test_reachable_prefilter_keeps_every_neighbour_difference(seed: int) -> None:
    """`_links` first drops box differences that no two children's offsets can have (`_reachable`: within the
    offsets' span, on the gcd lattice of the used loops' steps); every closed-form neighbour difference that
    occurs passes that filter, so the cheap filter never hides a link, and it does reject some differences."""
    nest, arch, mapping = wide_case(seed)
    model = FastModel(nest, arch)
    m = mapping_arrays([mapping], nest, arch)
    sf, order = m.spatial[:, ::-1], m.spatial_orders()[:, ::-1]
    below = np.ones_like(sf[:, 0])
    for j in range(len(arch.levels)):
        for t in range(len(nest.tensors)):
            C = model.coef_axes[t]
            cand, occurs = model._link_candidates(t, j, sf[:, j], order[:, j], below)
            real = cand[0][occurs[0]]
            if real.size:
                assert _reachable(C, sf[:, j], below, real[None]).all(), (seed, j, t)
                beyond = (C * (sf[0, j] * below[0])).sum(axis=1) + 1  # more than any two offsets differ by
                far = (np.abs(real) + beyond)[None]
                assert not _reachable(C, sf[:, j], below, far).any(), (seed, j, t)
        below = below * sf[:, j] * m.temporal[:, ::-1][:, j]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_reachable_batch_last_layout_equals_rows_layout_and_the_definition(seed: int) -> None:
    """`_links` cuts rows with `_reachable` in the walk's batch-last layout (per axis, (kinds, rows)); that gives
    what the rows layout gives, and both equal the definition checked element by element: within the span of
    the children's offsets on every axis and a multiple there of the gcd of the used loops' steps."""
    rng = np.random.default_rng(seed)
    rows, kinds, A, D = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 4)), 4
    C = rng.integers(0, 3, (A, D))
    sf = rng.integers(1, 4, (rows, D))
    below = rng.integers(1, 5, (rows, D))
    delta = rng.integers(-12, 13, (rows, kinds, A))
    got = _reachable(C, sf, below, delta)
    assert np.array_equal(_reachable(C, sf, below, [delta[:, :, a].T for a in range(A)], batch_last=True).T, got)
    for r in range(rows):
        w = C * below[r]  # (A, D) each loop's step on each axis
        for k in range(kinds):
            want = True
            for a in range(A):
                used = [int(w[a, d]) for d in range(D) if sf[r, d] > 1]
                g = max(math.gcd(*used), 1) if used else 1
                d_a = int(delta[r, k, a])
                want &= abs(d_a) <= int(((sf[r] - 1) * w[a]).sum()) and d_a % g == 0
            assert bool(got[r, k]) == want, (seed, r, k)


@pytest.mark.parametrize("seed", range(6))
def test_small_and_large_batch_paths_give_the_same_counts(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """`SMALL_BATCH` picks how a batch is computed, not what: `_moves` scans with one np.cumsum or a loop over
    the moves, `_extents` takes one matmul or a loop over the axes' terms, the link prefilter runs every tensor
    at once or one at a time (`_reachable` with per-row or shared coefficients). Both ways give every count of
    a batch of different mappings (windows, links, MAC fan-outs)."""
    cases = [random_case(seed, windows=True, mapping_seed=k, mac_fanout=True, wide_mesh=True, strided=True)
             for k in range(8)]
    nest, arch, _ = cases[0]
    rows = mapping_arrays([m for _, _, m in cases], nest, arch).take(np.random.default_rng(seed).integers(0, 8, 80))
    model = FastModel(nest, arch)
    monkeypatch.setattr(fast_module, "SMALL_BATCH", 0)
    loop = model.evaluate_rows(rows)
    monkeypatch.setattr(fast_module, "SMALL_BATCH", 10**9)
    assert_same_result(loop, model.evaluate_rows(rows))


@pytest.mark.parametrize("seed", range(12))
def test_reused_work_arrays_leave_no_trace(seed: int) -> None:
    """The work arrays (`FastModel._scratch`, one set per thread shared by every model) are reused across calls
    of different batch sizes and rows (filled with garbage between calls: a call reads only what it wrote), by
    another model of another layer and architecture in between, across threads and in a pickled copy: every
    call equals a fresh model's on the same rows."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    cases = [random_case(seed, windows=True, mapping_seed=k, mac_fanout=seed % 2 == 0, wide_mesh=True,
                         strided=seed % 3 == 0, n_levels=(3, 4, 5)) for k in range(16)]
    nest, arch, _ = cases[0]
    every = mapping_arrays([m for _, _, m in cases], nest, arch)
    rng = np.random.default_rng(seed)
    batches = [every.take(rng.integers(0, 16, n)) for n in (1, 40, 3, 40, 1, 90)]
    want = [FastModel(nest, arch).evaluate_rows(rows) for rows in batches]
    model = FastModel(nest, arch)
    for rows, w in zip(batches, want):
        assert_same_result(w, model.evaluate_rows(rows))
        for buf in fast_module.work_arrays().values():  # what a call leaves must never be read by the next
            buf.fill(-7)
    other_cases = [random_case(seed + 100, windows=True, mapping_seed=k, mac_fanout=True, wide_mesh=True,
                               n_levels=(3, 4, 5)) for k in range(8)]
    other_nest, other_arch, _ = other_cases[0]
    other = FastModel(other_nest, other_arch)
    other_rows = mapping_arrays([m for _, _, m in other_cases], other_nest, other_arch)
    other_want = FastModel(other_nest, other_arch).evaluate_rows(other_rows)
    for rows, w in zip(batches, want):  # two models' calls interleaved on the same work arrays
        assert_same_result(other_want, other.evaluate_rows(other_rows))
        assert_same_result(w, model.evaluate_rows(rows))
    copy = pickle.loads(pickle.dumps(model))
    for rows, w in zip(batches[::-1], want[::-1]):
        assert_same_result(w, copy.evaluate_rows(rows))
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(model.evaluate_rows, batches * 3))
    for g, w in zip(got, want * 3):
        assert_same_result(w, g)
