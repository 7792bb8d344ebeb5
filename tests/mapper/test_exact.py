"""The exact branch and bound: on small spaces its optimum (each objective) and its Pareto front equal an
enumeration of every mapping; it is deterministic; a budget gives "bounded" with a gap no smaller than the true
one; a constraint set with no valid mapping names the constraint."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper import exact
from stationary.mapper.bounds.certificate import certify
from stationary.mapper.bounds.layer import layer_bound
from stationary.mapper.exact import BranchAndBound, Budget
from stationary.mapper.search import SearchOptions, _Pool, search
from stationary.mapper.space import MapSpace
from stationary.mapping.constraints import Constraint
from stationary.model.fast import FastModel
from stationary.workload.layer import Layer, LayerKind
from tests.clirun import run_cli
from tests.mapper.test_search import tiny_arch

CASES = [  # (layer, RF words): plain layers, a window (sliding: the B&B equals brute force there too), N > 1
    (Layer("a", LayerKind.CONV, M=2, C=2, P=4), 6),
    (Layer("b", LayerKind.CONV, N=2, M=2, C=1, P=2), 8),
    (Layer("w", LayerKind.CONV, M=2, C=1, P=3, R=2, H=4), 8),
]


def enumerate_all(space: MapSpace, model: FastModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(energy, cycles, valid) of every mapping of the space (the brute force)."""
    parts = [model.evaluate(b) for b in space.enumerate(4096)]
    return (np.concatenate([p.energy_pj for p in parts]), np.concatenate([p.cycles for p in parts]).astype(float),
            np.concatenate([p.valid for p in parts]))


def front_points(energy: np.ndarray, cycles: np.ndarray) -> list[tuple[float, float]]:
    """The energy-cycles Pareto front of a point set (sorted by energy)."""
    out, best = [], math.inf
    for e, c in sorted(zip(energy.tolist(), cycles.tolist())):
        if c < best:
            out.append((e, c))
            best = c
    return out


def run_bb(layer: Layer, rf: int, objective: str, pareto: bool = False, budget: Budget | None = None):
    nest, arch = layer.loop_nest(), tiny_arch(rf_words=rf)
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    pool = _Pool(objective, 4, pareto)
    bb = BranchAndBound(space, model, pool, objective, budget or Budget(), 256,
                        layer_bound(nest, arch).energy_lower_bound_pj)
    return bb.run(), pool, space, model


@pytest.mark.parametrize("objective", ["energy", "cycles", "edp"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_branch_and_bound_equals_enumeration(case: int, objective: str) -> None:
    layer, rf = CASES[case]
    out, pool, space, model = run_bb(layer, rf, objective)
    energy, cycles, valid = enumerate_all(space, model)
    value = np.where(valid, {"energy": energy, "cycles": cycles, "edp": energy * cycles}[objective], np.inf)
    assert out.complete and not out.sampled
    assert math.isclose(float(pool.best_scores[0]), float(value.min()), rel_tol=1e-9)
    assert out.evaluated < len(value)  # something was cut (capacity, bound or equivalent orders)
    assert out.pruned > 0
    assert out.root_bound <= float(value.min()) * (1 + 1e-9)


@pytest.mark.parametrize("case", [1, 2])
def test_pareto_front_equals_enumeration(case: int) -> None:
    layer, rf = CASES[case]
    out, pool, space, model = run_bb(layer, rf, "energy", pareto=True)
    energy, cycles, valid = enumerate_all(space, model)
    want = front_points(energy[valid], cycles[valid])
    got = [(float(e), float(c)) for e, c in pool.front_ec]
    assert out.complete
    assert len(got) == len(want)
    for (e1, c1), (e2, c2) in zip(got, want):
        assert math.isclose(e1, e2, rel_tol=1e-9) and c1 == c2


def test_exact_search_certifies_and_is_deterministic() -> None:
    layer, rf = CASES[1]
    nest, arch = layer.loop_nest(), tiny_arch(rf_words=rf)
    opts = SearchOptions(strategy="exact", budget=512, batch=128)
    a, b = search(nest, arch, options=opts), search(nest, arch, options=opts)
    assert a.mapping == b.mapping and a.result.energy_pj == b.result.energy_pj and a.evaluated == b.evaluated
    assert a.pruned == b.pruned and a.complete
    cert = certify(a, nest, arch)
    assert cert.status == "optimal" and cert.gap == 0.0 and cert.pruned == a.pruned > 0
    energy, cycles, valid = enumerate_all(MapSpace(nest, arch), FastModel(nest, arch))
    assert math.isclose(a.result.energy_pj, float(energy[valid].min()), rel_tol=1e-9)
    pareto = search(nest, arch, options=SearchOptions(strategy="exact", budget=512, batch=128, pareto=True))
    want = front_points(energy[valid], cycles[valid])
    assert [(e, float(c)) for e, c, _ in pareto.pareto] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("objective", ["energy", "cycles", "edp"])
def test_budget_gives_bounded_with_a_gap_at_least_the_true_gap(objective: str) -> None:
    layer = Layer("g", LayerKind.CONV, M=2, C=2, P=2)
    nest, arch = layer.loop_nest(), tiny_arch(rf_words=8)
    found = search(nest, arch, options=SearchOptions(strategy="exact", objective=objective, budget=64, batch=32,
                                                     budget_evals=40, seed_dataflows=False, seed_keeps=False))
    cert = certify(found, nest, arch, objective=objective)
    energy, cycles, valid = enumerate_all(MapSpace(nest, arch), FastModel(nest, arch))
    best = float(np.where(valid, {"energy": energy, "cycles": cycles, "edp": energy * cycles}[objective],
                          np.inf).min())
    r = found.result
    value = {"energy": r.energy_pj, "cycles": float(r.cycles), "edp": r.energy_pj * r.cycles}[objective]
    if cert.status == "optimal":  # a complete search, or a seed that already meets the proven bound: true
        assert value <= best * (1 + 1e-9)
    else:
        assert not found.complete
    assert cert.gap >= value / best - 1 - 1e-9


def test_exact_search_is_never_worse_than_its_heuristic_seed() -> None:
    nest = Layer("s", LayerKind.CONV, N=2, M=8, C=8, P=6, Q=6).loop_nest()
    arch = tiny_arch(rf_words=32)
    heur = search(nest, arch, options=SearchOptions(strategy="heuristic", budget=2000))
    exact = search(nest, arch, options=SearchOptions(strategy="exact", budget=2000, budget_evals=20_000))
    assert exact.result.energy_pj <= heur.result.energy_pj * (1 + 1e-9)


@pytest.mark.parametrize("evals", [3_000, 30_000])
@pytest.mark.parametrize("arch_name", ["eyeriss", "simba_like"])
def test_the_cheap_fit_check_changes_no_exact_result(monkeypatch: pytest.MonkeyPatch, arch_name: str,
                                                     evals: int | None) -> None:
    """Groups the cheap fit check proves invalid skip the fast model in the bound but are still charged to the
    budget: with and without the check, the same mapping, cuts, evaluations and proven bound, for a budget that
    stops the search early and one that stops it late."""
    from stationary.arch.load import load_arch

    arch = load_arch(arch_name)
    nest = Layer("x", LayerKind.CONV, M=16, C=8, P=7, Q=7, R=3, S=3, H=9, W=9).loop_nest()
    opts = SearchOptions(strategy="exact", budget=1024, batch=256, budget_evals=evals)
    with_check = search(nest, arch, options=opts)
    monkeypatch.setattr(FastModel, "may_fit", lambda self, m: np.ones(m.size, bool))
    without = search(nest, arch, options=opts)
    assert with_check.mapping == without.mapping  # (bounds of a row computed in another batch: equal to 1e-12)
    assert math.isclose(with_check.result.energy_pj, without.result.energy_pj, rel_tol=1e-12)
    assert math.isclose(with_check.objective_bound, without.objective_bound, rel_tol=1e-12)
    assert (with_check.evaluated, with_check.pruned, with_check.complete) == (
        without.evaluated, without.pruned, without.complete)


def test_empty_space_names_the_constraint_under_exact_search() -> None:
    nest = CASES[0][0].loop_nest()
    keep_all = Constraint("RF", "dataspace", keep=frozenset({"Weights", "Inputs", "Outputs"}), source="test")
    with pytest.raises(StationaryError, match="dataspace on RF"):
        search(nest, tiny_arch(rf_words=2), [keep_all], SearchOptions(strategy="exact", budget=256))


def test_bad_budgets_are_clear_errors() -> None:
    with pytest.raises(StationaryError, match="time budget"):
        Budget(seconds=0)
    with pytest.raises(StationaryError, match="evaluation budget"):
        Budget(evaluations=0)
    out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:fc8", "--strategy", "exact", "--budget-s", "-1")
    assert out.returncode != 0 and "budget-s" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:fc8", "--budget-evals", "100")
    assert out.returncode != 0 and "--strategy exact" in out.stderr and "Traceback" not in out.stderr
    assert out.returncode != 0 and "budget-s" in out.stderr and "Traceback" not in out.stderr


def test_cli_map_exact_with_budget_and_pareto() -> None:
    out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:fc8", "--strategy", "exact", "--budget", "1000",
                  "--budget-evals", "5000", "--pareto", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["strategy"] == "exact" and data["optimality"]["objective"] == "energy"
    assert data["optimality"]["status"] in ("optimal", "bounded") and data["optimality"]["gap"] >= 0
    assert data["pareto"] and all(p["energy_pj"] > 0 for p in data["pareto"])


def option_rows(space: MapSpace, m) -> np.ndarray:
    """(B, D): the factor row (index into space.options[d]) of every mapping of a batch, per dim."""
    out = np.zeros((m.size, space.n_dims), np.int64)
    for k, opts in enumerate(space.options):
        where = {tuple(int(x) for x in row): i for i, row in enumerate(opts)}
        slots = np.stack([(m.spatial if s.spatial else m.temporal)[:, s.level, k] for s in space.slots], axis=1)
        out[:, k] = [where[tuple(int(x) for x in row)] for row in slots]
    return out


def check_partial_bounds(seed: int) -> int:
    """Every valid mapping of a random small space (test_bounds.random_case) costs at least the partial bound
    of each of its prefixes (dims fixed in the search's order) and its group bound: returns how many mappings
    were checked (0 when the space is empty or too big)."""
    from tests.mapper.test_bounds import random_case

    return check_case_bounds(*random_case(np.random.default_rng(seed)), seed)


def check_case_bounds(layer: Layer, arch: Architecture, seed: int = -1, limit: int | None = None) -> int:
    """check_partial_bounds on one layer and architecture (spaces above `limit` mappings are skipped)."""
    from tests.mapper.test_bounds import SPACE_LIMIT

    nest = layer.loop_nest()
    try:
        space = MapSpace(nest, arch)
        bb = BranchAndBound(space, FastModel(nest, arch), _Pool("energy", 4, False), "energy", Budget(), 256,
                            layer_bound(nest, arch).energy_lower_bound_pj)
    except StationaryError:  # no valid mapping (no tile fits): nothing to bound
        return 0
    if space.size() > (SPACE_LIMIT if limit is None else limit):
        return 0
    assert bb.partial is not None
    checked = 0
    for batch in space.enumerate(4096):
        fr = bb.model.evaluate(batch)
        ok = np.nonzero(fr.valid)[0]
        if not len(ok):
            continue
        m, energy = batch.take(ok), fr.energy_pj[ok]
        rows = option_rows(space, m)[:, bb.order]
        cycles = fr.compute_cycles[ok].astype(float)
        for k in range(space.n_dims + 1):
            low = bb.partial.energy_pj(rows[:, :k], np.ones(len(ok)))
            assert (low <= energy * (1 + 1e-9)).all(), (seed, k, float((low / energy).max()))
        group, _, _ = bb._bound(m)
        with_cut = np.maximum(group, bb.partial.energy_pj(None, cycles, bb.partial.cut_energy_pj(rows),
                                                          bb.partial.inner_pj(rows)))
        assert (with_cut <= energy * (1 + 1e-9)).all(), (seed, float((with_cut / energy).max()))
        checked += len(ok)
    return checked


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 1 << 30))
def test_partial_and_group_bounds_never_exceed_any_completion(seed: int) -> None:
    check_partial_bounds(seed)


def test_partial_bounds_cover_many_mappings() -> None:
    """The property above on fixed seeds, so that it is known to reach enough enumerable cases."""
    assert sum(check_partial_bounds(s) > 0 for s in range(40)) >= 10


def held_arch(buf_words: int) -> Architecture:
    """tiny_arch with a buffer that must keep every tensor: its tile bounds the DRAM traffic of every mapping."""
    e = ActionEnergy
    return Architecture("held", (
        StorageLevel("DRAM", energy=e(100, 100, 100)),
        StorageLevel("Buf", depth=buf_words, energy=e(6, 6, 6),
                     keep_always=frozenset({"Weights", "Inputs", "Outputs"})),
        StorageLevel("RF", depth=8, instances=2, mesh_x=2, mesh_y=1, energy=e(1, 1, 1)),
    ), ComputeUnit("MAC", 2, 2, 1, energy_pj=1.0))


@pytest.mark.parametrize("buf_words", [16, 24])
def test_partial_bound_cuts_nodes_and_keeps_the_optimum(buf_words: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer whose DRAM traffic depends on the factorization, searched in small blocks (as full-size spaces
    are) from a weak incumbent: with the partial bound the search scores and bounds strictly fewer rows than
    without it, cuts partial nodes by it, and both find the enumerated optimum."""
    monkeypatch.setattr(exact, "DESCEND_ROWS", 2)
    monkeypatch.setattr(exact, "GROUP_ROWS", 32)
    nest, arch = Layer("d", LayerKind.CONV, M=4, C=4, P=4).loop_nest(), held_arch(buf_words)
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    energy, _, valid = enumerate_all(space, model)
    best = float(energy[valid].min())
    work, cut = [], []
    for partial in (True, False):
        pool = _Pool("energy", 4, False)
        seed = space.minimal()
        pool.add(seed, model.evaluate(seed))
        out = BranchAndBound(space, model, pool, "energy", Budget(), 256,
                             layer_bound(nest, arch).energy_lower_bound_pj, partial_bound=partial).run()
        assert out.complete and math.isclose(float(pool.best_scores[0]), best, rel_tol=1e-9)
        work.append(out.evaluated + out.bound_evaluations)
        cut.append(out.pruned_partial)
    assert cut[0] > 0 and cut[1] == 0
    assert work[0] < work[1]


def psum_arch(update_pj: float = 50.0) -> Architecture:
    """Four MACs, each under its own RF that must keep the partial sums (one MAC per instance), fed by a shared
    buffer: how many copies of each output the fan-out makes (a spatial C) sets the RF's read-backs."""
    e = ActionEnergy
    return Architecture("psum", (
        StorageLevel("DRAM", energy=e(100, 100, 100)),
        StorageLevel("Buf", depth=64, energy=e(6, 6, 6)),
        StorageLevel("RF", depth=8, instances=4, mesh_x=4, mesh_y=1, energy=e(update_pj, update_pj, update_pj),
                     keep_always=frozenset({"Outputs"})),
    ), ComputeUnit("MAC", 4, 4, 1, energy_pj=1.0))


PSUM_LAYERS = [Layer("c", LayerKind.CONV, M=1, C=4, P=4), Layer("e", LayerKind.CONV, M=2, C=4)]


@pytest.mark.parametrize("layer", PSUM_LAYERS, ids=lambda x: x.name)
def test_on_chip_bound_never_exceeds_any_completion_and_bites(layer: Layer) -> None:
    """The read-back bound (bounds/partial.py, _OutputCopies) at every prefix of every valid mapping is <= its
    energy, and it is not vacuous: with every dim fixed it raises some mapping's bound above the layer rule's."""
    nest, arch = layer.loop_nest(), psum_arch()
    assert check_case_bounds(layer, arch, limit=30_000) > 0
    space = MapSpace(nest, arch)
    bb = BranchAndBound(space, FastModel(nest, arch), _Pool("energy", 4, False), "energy", Budget(), 256,
                        layer_bound(nest, arch).energy_lower_bound_pj)
    assert bb.partial is not None and bb.partial.copies.cases
    raised = 0
    for batch in space.enumerate(4096):
        rows = option_rows(space, batch)[:, bb.order]
        raised += int((bb.partial.inner_pj(rows).min(axis=1) > bb.partial.terms.picks_inner.min()).sum())
    assert raised > 0


@pytest.mark.parametrize("layer", PSUM_LAYERS, ids=lambda x: x.name)
def test_on_chip_bound_cuts_nodes_and_keeps_the_optimum(layer: Layer, monkeypatch: pytest.MonkeyPatch) -> None:
    """From a weak incumbent, in small blocks: with the on-chip bound the search spends strictly fewer fast-model
    rows (scored and bounded) than with the DRAM-only partial bound, and both find the enumerated optimum."""
    monkeypatch.setattr(exact, "DESCEND_ROWS", 2)
    monkeypatch.setattr(exact, "GROUP_ROWS", 32)
    nest, arch = layer.loop_nest(), psum_arch()
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    energy, _, valid = enumerate_all(space, model)
    best = float(energy[valid].min())
    work = []
    for on_chip in (True, False):
        pool = _Pool("energy", 4, False)
        seed = space.minimal()
        pool.add(seed, model.evaluate(seed))
        out = BranchAndBound(space, model, pool, "energy", Budget(), 256,
                             layer_bound(nest, arch).energy_lower_bound_pj, on_chip_bound=on_chip).run()
        assert out.complete and math.isclose(float(pool.best_scores[0]), best, rel_tol=1e-9)
        work.append(out.evaluated + out.bound_evaluations)
    assert work[0] < work[1]


def _stopped_search(layer: Layer, evaluations: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, float]:
    """The branch and bound on `layer` (psum architecture, small rows) stopped after `evaluations`, and the
    enumerated optimum of the same space."""
    monkeypatch.setattr(exact, "DESCEND_ROWS", 2)
    monkeypatch.setattr(exact, "GROUP_ROWS", 32)
    nest, arch = layer.loop_nest(), psum_arch()
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    energy, _, valid = enumerate_all(space, model)
    pool = _Pool("energy", 4, False)
    seed = space.minimal()
    pool.add(seed, model.evaluate(seed))
    out = BranchAndBound(space, model, pool, "energy", Budget(evaluations=evaluations), 64,
                         layer_bound(nest, arch).energy_lower_bound_pj).run()
    assert not out.complete
    return out, float(energy[valid].min())


@pytest.mark.parametrize("evaluations", [120, 300, 500])
def test_open_node_bound_of_a_stopped_search_is_proven(evaluations: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget stops the search: the bound it proves (least bound of the open nodes, or the incumbent) is at
    least the root bound and at most the enumerated optimum."""
    out, best = _stopped_search(PSUM_LAYERS[0], evaluations, monkeypatch)
    assert out.root_bound <= out.open_bound <= best * (1 + 1e-9)


def test_open_node_bound_rises_above_the_root_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: stopped after the low-bound subtrees are done, the search proves more than the root bound
    (here the enumerated optimum itself, without having finished)."""
    out, best = _stopped_search(PSUM_LAYERS[1], 300, monkeypatch)
    assert out.root_bound < out.open_bound <= best * (1 + 1e-9)
