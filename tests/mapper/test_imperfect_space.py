"""The imperfect map space (Timeloop 3 remainders D=n,r, `MapSpace(imperfect=True)`) and both searches over it:
rows the walk accepts, every factorization of the allowed form (brute force), the exact search's optimum equal
to brute force over perfect + imperfect mappings, never worse than perfect-only, CLI and API round trips."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import yaml

from stationary.api.network import map_layer
from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.mapper.bounds.layer import layer_bound
from stationary.mapper.exact import BranchAndBound, Budget
from stationary.mapper.search import SearchOptions, _Pool, search
from stationary.mapper.space import MapSpace, imperfect_pad
from stationary.mapping.constraints import Constraint
from stationary.mapping.mapping import covered
from stationary.mapping.timeloop import mapping_to_dict
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, MappingArrays, row_to_mapping
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.problem import load_loop_nest
from tests.clirun import run_cli
from tests.mapper.test_search import tiny_arch

CASE = "tests/cases/timeloop-imperfect/imp1_P7/"
SLOTS = (False, False, True, False)  # tiny_arch's slots, outermost first: DRAM, Buf, Buf spatial (2), RF


def allowed_rows(n: int, fanout: int = 2) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Brute force: every (factors, residuals) over tiny_arch's slots that covers exactly n, with a padded
    product at most n + imperfect_pad(n), remainders only on temporal loops with no spatial loop of the dim
    outside them and not on the outermost loop; residual = factor where a loop has none."""
    out = set()
    for f in itertools.product(range(1, n + 1), repeat=len(SLOTS)):
        if f[2] > fanout or math.prod(f) > n + imperfect_pad(n):
            continue
        for r in itertools.product(*(range(1, x + 1) for x in f)):
            loops = [(x, y, s) for x, y, s in zip(f, r, SLOTS) if x > 1]
            if covered([(x, y) for x, y, _ in loops]) != n or (loops and loops[0][1] < loops[0][0]):
                continue
            spatial_seen, ok = False, True
            for x, y, s in loops:
                if y < x and (s or spatial_seen):
                    ok = False
                spatial_seen |= s
            if ok:
                out.add((f, r))
    return out


@pytest.mark.parametrize("n", [2, 3, 5, 7, 12])
def test_space_holds_every_imperfect_factorization_of_the_allowed_form(n: int) -> None:
    nest, arch = Layer("x", LayerKind.CONV, M=n).loop_nest(), tiny_arch(rf_words=64)
    space = MapSpace(nest, arch, imperfect=True)
    k = nest.dims.index("M")
    got = [(tuple(map(int, f)), tuple(map(int, r))) for f, r in zip(space.options[k], space.residuals[k])]
    assert len(got) == len(set(got))  # no row twice
    assert set(got) == allowed_rows(n)
    perfect = MapSpace(nest, arch)
    assert len(perfect.options[k]) == sum(f == r for f, r in got)  # the perfect rows are today's rows
    assert perfect.residuals[k].tolist() == perfect.options[k].tolist() and not space.sampled_dims


def test_example_55_is_in_the_space() -> None:
    """55 with inner tiles 12 and 4: outer 5, middle 3 (residual 2), inner 4 (residual 3)."""
    nest, arch = Layer("x", LayerKind.CONV, M=55).loop_nest(), tiny_arch(rf_words=64)
    space = MapSpace(nest, arch, imperfect=True)
    k = nest.dims.index("M")
    rows = {(tuple(map(int, f)), tuple(map(int, r))) for f, r in zip(space.options[k], space.residuals[k])}
    assert ((5, 3, 1, 4), (5, 2, 1, 3)) in rows


def small_case() -> tuple:
    nest = Layer("w", LayerKind.CONV, M=2, C=1, P=5, R=2, H=6).loop_nest()
    return nest, tiny_arch(rf_words=6)


def test_every_generated_row_validates_and_the_walk_counts_it_as_the_fast_model() -> None:
    nest, arch = small_case()
    space, model = MapSpace(nest, arch, imperfect=True), FastModel(nest, arch)
    rng = np.random.default_rng(3)
    m = space.sample(rng, 120)
    m = MappingArrays.concat([m, space.mutate(rng, m), space.mutate(rng, space.mutate(rng, m))])
    assert m.imperfect_rows().sum() > 50
    fr = model.evaluate(m)
    walked = 0
    for b in range(m.size):
        mapping = row_to_mapping(m, b, nest, arch)
        if not fr.valid[b]:  # a tile overflows or the spatial factors exceed the fan-out: refused, not counted
            with pytest.raises(StationaryError, match="overflow|fan-out"):
                mapping.validate(nest, arch)
                evaluate(nest, arch, mapping)
            continue
        mapping.validate(nest, arch)
        result = evaluate(nest, arch, mapping)
        assert math.isclose(result.energy_pj, float(fr.energy_pj[b]), rel_tol=1e-9)
        assert result.cycles == int(fr.cycles[b])
        walked += mapping.has_residuals()
    assert walked > 10


def brute_force(nest, arch, constraints, imperfect: bool) -> tuple[np.ndarray, np.ndarray]:
    """(energy, cycles) of every valid mapping: each dim's allowed rows (perfect, or all) x every order of the
    dims with a loop at each level, keeps fixed by `constraints` (scored by the fast model, exact)."""
    live = [d for d in nest.dims if nest.bounds[d] > 1]
    per_dim = []
    for d in live:
        rows = sorted(allowed_rows(nest.bounds[d]))
        per_dim.append([(f, r) for f, r in rows if imperfect or f == r])
    space = MapSpace(nest, arch, constraints)
    keep = space.keep_value[None]
    D, L = len(nest.dims), len(arch.levels)
    ks = [nest.dims.index(d) for d in live]
    tf, sf, tr, perm = [], [], [], []
    rest = [k for k in range(D) if k not in ks]
    orders = [list(p) + rest for p in itertools.permutations(ks)]
    for combo in itertools.product(*per_dim):
        t, s, r = np.ones((L, D), np.int64), np.ones((L, D), np.int64), np.ones((L, D), np.int64)
        for k, (f, res) in zip(ks, combo):
            t[0, k], t[1, k], s[1, k], t[2, k] = f[0], f[1], f[2], f[3]
            r[0, k], r[1, k], r[2, k] = res[0], res[1], res[3]
        if np.prod(s[1]) > 2:
            continue
        for p in itertools.product(orders, repeat=L):
            tf.append(t)
            sf.append(s)
            tr.append(r)
            perm.append(np.array(p))
    B = len(tf)
    m = MappingArrays(np.array(tf), np.array(sf), np.ones((B, L, D), bool), np.array(perm),
                      np.broadcast_to(keep, (B, L, len(nest.tensors))).copy(), temporal_residual=np.array(tr))
    fr = FastModel(nest, arch).evaluate(m)
    return fr.energy_pj[fr.valid], fr.cycles[fr.valid].astype(float)


def exact_case() -> tuple:
    """A window layer where a remainder wins: P = 7 under R = 3 (brute force: 2,273 pJ against 2,406 pJ perfect)."""
    return Layer("e", LayerKind.CONV, P=7, R=3, H=9).loop_nest(), tiny_arch(rf_words=6)


KEEP_ALL = [Constraint(lv, "dataspace", keep=frozenset({"Weights", "Inputs", "Outputs"}), source="test")
            for lv in ("Buf", "RF")]


@pytest.mark.parametrize("objective", ["energy", "cycles", "edp"])
def test_exact_search_finds_the_brute_force_optimum_over_perfect_and_imperfect(objective: str) -> None:
    nest, arch = exact_case()
    energy, cycles = brute_force(nest, arch, KEEP_ALL, imperfect=True)
    p_energy, p_cycles = brute_force(nest, arch, KEEP_ALL, imperfect=False)
    value = {"energy": energy, "cycles": cycles, "edp": energy * cycles}[objective]
    p_value = {"energy": p_energy, "cycles": p_cycles, "edp": p_energy * p_cycles}[objective]
    space, model = MapSpace(nest, arch, KEEP_ALL, imperfect=True), FastModel(nest, arch)
    pool = _Pool(objective, 4, False)
    out = BranchAndBound(space, model, pool, objective, Budget(), 256, 0.0).run()
    assert out.complete and not out.sampled
    assert math.isclose(float(pool.best_scores[0]), float(value.min()), rel_tol=1e-9)
    assert float(value.min()) <= float(p_value.min()) * (1 + 1e-9)
    if objective == "energy":  # here a remainder beats every perfect mapping (the option matters)
        assert float(value.min()) < float(p_value.min()) * (1 - 1e-9)
    # the search itself, seeded by its heuristic, says what it proved
    found = search(nest, arch, KEEP_ALL, SearchOptions(objective=objective, strategy="exact", imperfect=True,
                                                       budget=1024, batch=256, budget_evals=None))
    got = {"energy": found.result.energy_pj, "cycles": float(found.result.cycles),
           "edp": found.result.energy_pj * found.result.cycles}[objective]
    assert found.complete and math.isclose(got, float(value.min()), rel_tol=1e-9)


@pytest.mark.parametrize("P,R,M,rf", [(7, 3, 1, 6), (5, 2, 1, 4), (6, 3, 1, 5), (7, 1, 3, 6), (5, 1, 4, 8),
                                      (9, 3, 1, 7)])
def test_exact_search_with_the_energy_bounds_on_keeps_the_brute_force_optimum(P: int, R: int, M: int,
                                                                             rf: int) -> None:
    """The root layer bound over tile classes and the partial DRAM-cut bound cut remainder rows too (docs/bounds.md
    §7): seeded with the best perfect mapping (as the heuristic seeds it), the branch and bound with both on
    scores fewer rows than with them off and still ends at the brute-force optimum over perfect + imperfect rows
    (below the perfect one on four of these layers)."""
    nest = Layer("e", LayerKind.CONV, P=P, R=R, M=M, H=P + R - 1).loop_nest()
    arch = tiny_arch(rf_words=rf)
    model = FastModel(nest, arch)
    energy, _ = brute_force(nest, arch, KEEP_ALL, imperfect=True)
    root = layer_bound(nest, arch, imperfect=True).energy_lower_bound_pj
    assert root <= float(energy.min()) * (1 + 1e-9)
    evaluated = []
    for on in (False, True):
        pool = _Pool("energy", 4, False)
        perfect = MapSpace(nest, arch, KEEP_ALL)
        assert BranchAndBound(perfect, model, pool, "energy", Budget(), 256, 0.0).run().complete
        bb = BranchAndBound(MapSpace(nest, arch, KEEP_ALL, imperfect=True), model, pool, "energy", Budget(), 256,
                            root if on else 0.0, partial_bound=on)
        assert (bb.partial is not None) == on
        out = bb.run()
        assert out.complete and not out.sampled
        assert math.isclose(float(pool.best_scores[0]), float(energy.min()), rel_tol=1e-9)
        evaluated.append(out.evaluated)
    assert evaluated[1] < evaluated[0]  # the bounds cut remainder rows


@pytest.mark.parametrize("strategy", ["heuristic", "exhaustive"])
def test_imperfect_is_never_worse_than_perfect_and_deterministic(strategy: str) -> None:
    nest, arch = exact_case() if strategy == "exhaustive" else small_case()
    base = SearchOptions(budget=1024, batch=256, strategy=strategy)
    perfect = search(nest, arch, options=base)
    a = search(nest, arch, options=SearchOptions(**{**base.__dict__, "imperfect": True}))
    b = search(nest, arch, options=SearchOptions(**{**base.__dict__, "imperfect": True}))
    assert a.result.energy_pj <= perfect.result.energy_pj * (1 + 1e-9)
    assert a.mapping == b.mapping and a.result.energy_pj == b.result.energy_pj and a.evaluated == b.evaluated


def test_default_space_has_no_remainders() -> None:
    nest, arch = small_case()
    space = MapSpace(nest, arch)
    assert not space.imperfect and not space.row_rules
    m = space.sample(np.random.default_rng(0), 64)
    assert m.temporal_residual is None and m.imperfect_rows().sum() == 0
    assert space.mutate(np.random.default_rng(1), m).temporal_residual is None
    assert space.size() < MapSpace(nest, arch, imperfect=True).size()


def test_a_written_imperfect_mapping_is_rescored_to_the_same_numbers(tmp_path) -> None:
    arch = load_arch(CASE + "arch.yaml", CASE + "ert.yaml")
    nest = load_loop_nest(CASE + "problem.yaml", 1)
    space, model = MapSpace(nest, arch, imperfect=True), FastModel(nest, arch)
    m = space.sample(np.random.default_rng(0), 256)
    fr = model.evaluate(m)
    rows = np.nonzero(fr.valid & m.imperfect_rows())[0]
    assert len(rows)
    b = int(rows[0])
    mapping = row_to_mapping(m, b, nest, arch)
    text = yaml.safe_dump(mapping_to_dict(mapping, nest, arch))
    assert "," in text  # D=n,r written
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    out = run_cli("model", "--arch", CASE + "arch.yaml", "--ert", CASE + "ert.yaml", "--problem",
                  CASE + "problem.yaml", "--mapping", str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert math.isclose(data["energy_pj"], float(fr.energy_pj[b]), rel_tol=1e-9)
    assert data["cycles"] == int(fr.cycles[b])


def test_cli_map_imperfect_round_trips_through_model(tmp_path) -> None:
    args = ("--arch", CASE + "arch.yaml", "--ert", CASE + "ert.yaml", "--problem", CASE + "problem.yaml")
    out = run_cli("map", *args, "--imperfect", "--budget", "2048", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump({"mapping": data["mapping"]["mapping"]}))
    again = run_cli("model", *args, "--mapping", str(path), "--json")
    assert again.returncode == 0, again.stderr
    assert math.isclose(json.loads(again.stdout)["energy_pj"], data["energy_pj"], rel_tol=1e-9)
    # the API gives the same, and never more than the perfect-only search
    api = map_layer(CASE + "problem.yaml", CASE + "arch.yaml", ert=CASE + "ert.yaml", imperfect=True, budget=2048)
    perfect = map_layer(CASE + "problem.yaml", CASE + "arch.yaml", ert=CASE + "ert.yaml", budget=2048)
    assert math.isclose(api.result.energy_pj, data["energy_pj"], rel_tol=1e-9)
    assert api.result.energy_pj <= perfect.result.energy_pj * (1 + 1e-9)
    help_text = run_cli("evaluate", "--help")
    assert "--imperfect" in help_text.stdout


def test_bad_imperfect_values_are_clear_errors() -> None:
    with pytest.raises(StationaryError, match="imperfect must be True or False") as err:
        map_layer(CASE + "problem.yaml", CASE + "arch.yaml", ert=CASE + "ert.yaml", imperfect="no")  # type: ignore[arg-type]
    assert err.value.field == "--imperfect"
    out = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:fc8", "--imperfect", "--budget-evals", "100")
    assert out.returncode != 0 and "--strategy exact" in out.stderr and "Traceback" not in out.stderr
