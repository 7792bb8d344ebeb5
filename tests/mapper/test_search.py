"""The mapper: exhaustive optimum on small spaces (checked by brute force with the exact model), the
heuristic finds it too, constraints are obeyed, bad input gets a clear error, results are deterministic."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper.network import map_network
from stationary.mapper.search import SearchOptions, search
from stationary.mapper.space import ordered_factorizations
from stationary.mapping.constraints import Constraint
from stationary.mapping.dataflows import dataflow_constraints
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.network import Network
from tests.clirun import run_cli


def tiny_arch(rf_words: int = 6) -> Architecture:
    e = ActionEnergy
    return Architecture("tiny", (
        StorageLevel("DRAM", energy=e(100, 100, 100)),
        StorageLevel("Buf", depth=64, energy=e(6, 6, 6)),
        StorageLevel("RF", depth=rf_words, instances=2, mesh_x=2, mesh_y=1, energy=e(1, 1, 1)),
    ), ComputeUnit("MAC", 2, 2, 1, energy_pj=1.0))


def tiny_layer() -> Layer:
    return Layer("t", LayerKind.CONV, M=2, C=2, P=4)


def brute_force(nest, arch) -> float:
    """Minimum exact energy over every perfect factorization, every loop order, spatial dim and keep choice."""
    dims = [d for d in nest.dims if nest.bounds[d] > 1]
    slots = [(0, "T"), (1, "T"), (1, "S"), (2, "T")]
    per_dim = [ordered_factorizations(nest.bounds[d], len(slots)) for d in dims]
    names = [t.name for t in nest.tensors]
    keeps = [frozenset(c) for r in range(4) for c in itertools.combinations(names, r)]
    best = math.inf
    for combo in itertools.product(*per_dim):
        spatial = {d: f[2] for d, f in zip(dims, combo) if f[2] > 1}
        if math.prod(spatial.values()) > 2:
            continue
        temporal = [{d: f[j] for d, f in zip(dims, combo) if f[j] > 1} for j in (0, 1, 3)]
        for perms in itertools.product(*(itertools.permutations(t) for t in temporal)):
            for kb, kr in itertools.product(keeps, keeps):
                levels = (LevelMapping(temporal[0], perms[0]),
                          LevelMapping(temporal[1], perms[1], spatial, tuple(spatial), keep=kb,
                                       bypass=frozenset(names) - kb),
                          LevelMapping(temporal[2], perms[2], keep=kr, bypass=frozenset(names) - kr))
                try:
                    best = min(best, evaluate(nest, arch, Mapping(levels)).energy_pj)
                except StationaryError:
                    continue  # overflows a level
    return best


@pytest.fixture(scope="module")
def optimum() -> float:
    return brute_force(tiny_layer().loop_nest(), tiny_arch())


def test_exhaustive_search_finds_the_brute_force_optimum(optimum: float) -> None:
    found = search(tiny_layer().loop_nest(), tiny_arch(), options=SearchOptions(strategy="exhaustive"))
    assert found.strategy == "exhaustive"
    assert math.isclose(found.result.energy_pj, optimum, rel_tol=1e-9)


def test_heuristic_search_finds_the_optimum_on_a_small_space(optimum: float) -> None:
    found = search(tiny_layer().loop_nest(), tiny_arch(),
                   options=SearchOptions(strategy="heuristic", budget=30_000, batch=512, seed=3))
    assert math.isclose(found.result.energy_pj, optimum, rel_tol=1e-9)


def test_search_is_deterministic_for_a_seed() -> None:
    nest = Layer("d", LayerKind.CONV, N=2, M=8, C=8, P=6, Q=6).loop_nest()
    arch = tiny_arch(rf_words=32)
    a, b = (search(nest, arch, options=SearchOptions(strategy="heuristic", budget=6000, seed=7)) for _ in range(2))
    assert a.result.energy_pj == b.result.energy_pj and a.mapping == b.mapping


def test_objectives_trade_energy_for_cycles() -> None:
    nest = Layer("o", LayerKind.CONV, N=2, M=4, C=4, P=4).loop_nest()
    arch = tiny_arch(rf_words=16)
    by = {o: search(nest, arch, options=SearchOptions(objective=o, strategy="heuristic", budget=8000)).result
          for o in ("energy", "cycles")}
    assert by["cycles"].cycles <= by["energy"].cycles
    assert by["energy"].energy_pj <= by["cycles"].energy_pj


def test_row_stationary_constraints_are_obeyed() -> None:
    from stationary.arch.load import load_arch

    arch = load_arch("survey256")
    layer = Layer("rs", LayerKind.CONV, N=2, M=8, C=4, P=8, Q=8, R=3, S=3, H=10, W=10)
    nest = layer.loop_nest()
    found = search(nest, arch, dataflow_constraints("rs", nest, arch), SearchOptions(budget=4000))
    gb = found.mapping.levels[1]
    assert gb.spatial.get("R") == 3 and gb.spatial_axis(nest.dims)["R"] == "Y"
    assert set(gb.spatial) <= {"R", "C", "M", "P", "N"}
    assert found.mapping.levels[2].temporal.get("S") == 3


def test_empty_space_names_the_constraint() -> None:
    nest = tiny_layer().loop_nest()
    keep_all = Constraint("RF", "dataspace", keep=frozenset({"Weights", "Inputs", "Outputs"}), source="test")
    bad = [keep_all, Constraint("RF", "temporal", (("P", 4), ("C", 2), ("M", 2)), source="test")]
    search(nest, tiny_arch(), bad[:1])  # keeping everything alone is fine
    with pytest.raises(StationaryError, match="temporal on RF"):
        search(nest, tiny_arch(), bad)
    with pytest.raises(StationaryError, match="cannot be factored"):
        search(nest, tiny_arch(), [Constraint("Buf", "spatial", (("P", 3),), source="test")])


def test_unknown_objective_and_dataflow_are_clear_errors() -> None:
    nest = tiny_layer().loop_nest()
    with pytest.raises(StationaryError, match="unknown objective"):
        search(nest, tiny_arch(), options=SearchOptions(objective="speed"))
    with pytest.raises(StationaryError, match="unknown dataflow"):
        dataflow_constraints("xs", nest, tiny_arch())
    for args in (["--objective", "speed"], ["--dataflow", "xs"]):
        p = run_cli("map", "--arch", "eyeriss", "--problem", "alexnet:conv3", *args)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_a_budget_below_one_evaluation_is_a_clear_error() -> None:
    """A zero or negative budget used to run a minimum search silently; now it names --budget."""
    nest = tiny_layer().loop_nest()
    for budget in (0, -5, True):
        with pytest.raises(StationaryError, match="positive number of fast-model evaluations") as err:
            search(nest, tiny_arch(), options=SearchOptions(budget=budget))
        assert err.value.field == "--budget"
    for command in (["map", "--problem", "alexnet:fc8"], ["evaluate", "alexnet"]):
        p = run_cli(*command, "--arch", "eyeriss", "--budget", "0")
        assert p.returncode == 2 and "--budget" in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_the_heuristic_scores_generation_rows_at_a_time_and_refuses_an_empty_one() -> None:
    """Each generation is `generation` rows (at most `batch`): the budget is spent in whole generations, so a lone
    heuristic (no seeds, no last descent) scores the budget rounded up to a generation; a generation or batch
    below 1 is refused."""
    nest = Layer("g", LayerKind.CONV, N=2, M=8, C=8, P=6, Q=6).loop_nest()
    lone = SearchOptions(strategy="heuristic", seed_dataflows=False, seed_keeps=False, budget=1000,
                         descent_share=0.0)
    for generation, batch, rows in ((512, 2048, 512), (300, 2048, 300), (512, 128, 128)):
        found = search(nest, tiny_arch(rf_words=32), options=replace(lone, generation=generation, batch=batch))
        assert found.evaluated == math.ceil(1000 / rows) * rows
    for bad in ({"generation": 0}, {"batch": 0}):
        with pytest.raises(StationaryError, match="positive row counts") as err:
            search(nest, tiny_arch(rf_words=32), options=replace(lone, **bad))
        assert err.value.field == "generation"


def test_network_searches_each_shape_once() -> None:
    a = Layer("a", LayerKind.CONV, M=4, C=4, P=4)
    net = Network("n", (a, Layer("b", LayerKind.CONV, M=4, C=4, P=4), Layer("c", LayerKind.CONV, M=2, C=4, P=4)))
    plans = map_network(net, tiny_arch(rf_words=16), options=SearchOptions(budget=3000), jobs=1)
    assert [p.cached for p in plans] == [False, True, False]
    assert plans[0].found is plans[1].found


@pytest.mark.parametrize("arch_name", ["eyeriss", "survey256"])
def test_unconstrained_search_is_never_worse_than_a_dataflow(arch_name: str) -> None:
    """The free search, seeded from every built-in dataflow at the full budget (seed_share=1), is at most each
    dataflow's best at that budget. (By default each seeding search gets a quarter of the budget, for speed.)"""
    from stationary.arch.load import load_arch
    from stationary.mapping.dataflows import DATAFLOWS

    arch = load_arch(arch_name)
    nest = Layer("small", LayerKind.CONV, N=2, M=16, C=12, P=6, Q=6).loop_nest()
    opts = SearchOptions(budget=2048, batch=256)
    free = search(nest, arch, [], replace(opts, seed_share=1.0))
    assert free.strategy == "heuristic"
    for name in DATAFLOWS:
        if name == "free":
            continue
        constrained = search(nest, arch, dataflow_constraints(name, nest, arch), opts)
        assert free.result.energy_pj <= constrained.result.energy_pj * (1 + 1e-12), name


@pytest.mark.parametrize("seed", range(3))
def test_a_longer_polish_continues_the_same_walk(seed: int) -> None:
    """The polish stops when its count reaches its budget, so a longer one is the same walk continued: its
    best is at most the shorter one's, and the evaluations differ by exactly the extra polish rows."""
    from stationary.arch.load import load_arch

    arch = load_arch("eyeriss")
    nest = Layer("p", LayerKind.CONV, M=32, C=16, P=14, Q=14, R=3, S=3, H=16, W=16).loop_nest()
    opts = SearchOptions(budget=4096, batch=512, seed=seed, descent_share=0.0)  # the descent's count follows the pool
    results = [search(nest, arch, [], replace(opts, polish_share=share)) for share in (0.25, 1.0, 2.0)]
    assert all(r.strategy == "heuristic" for r in results)
    for short, long in zip(results, results[1:]):
        assert long.result.energy_pj <= short.result.energy_pj * (1 + 1e-12)
    assert [r.evaluated - results[0].evaluated for r in results] == [0, 3072, 7168]


def test_free_keeps_search_is_never_worse_than_its_keep_all_seed(tmp_path) -> None:
    """A search with free keeps also searches "keep everything" with a share of the budget (same seed): its
    best is at most that subsearch's. The arch is ZigZag's tpu_like in small: a 1-word output register per PE,
    which random mappings rarely keep validly (on ResNet-18 and the full tpu_like the search without the seed
    bypassed it)."""
    from stationary.arch.load import load_arch
    from stationary.mapper.search import _Pool, _seed_keep_all
    from stationary.mapper.space import MapSpace
    from stationary.model.fast import FastModel

    (tmp_path / "a.yaml").write_text("""
name: tpu_small
word_bits: 8
compute: {name: MAC, mesh_x: 4, mesh_y: 4, energy_pj: 0.04}
levels:
  - {name: DRAM, kind: DRAM, energy: {read_pj: 87.5, write_pj: 93.75, update_pj: 93.75}}
  - {name: SRAM, kind: buffer, size_kb: 64, keep: [Inputs, Outputs], bypass: [Weights],
     energy: {read_pj: 1.6, write_pj: 1.5, update_pj: 1.5}}
  - {name: RF_W, kind: RF, depth: 16, mesh_x: 4, mesh_y: 4, keep: [Weights], bypass: [Inputs, Outputs],
     energy: {read_pj: 0.095, write_pj: 0.095, update_pj: 0.095}}
  - {name: RF_O, kind: RF, depth: 1, word_bits: 16, mesh_x: 4, mesh_y: 4, keep: [Outputs],
     bypass: [Weights, Inputs], energy: {read_pj: 0.021, write_pj: 0.021, update_pj: 0.021}}
""")
    arch = load_arch(tmp_path / "a.yaml")
    nest = Layer("pw", LayerKind.CONV, M=32, C=32, P=8, Q=8).loop_nest()  # 1x1: fast model exact
    opts = SearchOptions(budget=4096, batch=512, seed_dataflows=False)
    found = search(nest, arch, [], opts)
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    assert space.free_keeps and found.strategy == "heuristic"
    keep_budget = max(opts.batch, int(opts.budget * opts.seed_share))
    pool = _Pool("energy", opts.elites, False)
    _seed_keep_all(space, model, pool, replace(opts, budget=keep_budget))
    assert found.result.energy_pj <= pool.best_scores[0] * (1 + 1e-12)


def _sequential_drive(model, searches, rows=None):
    """The reference for `_drive`: each search run to its end alone, one fast-model call per batch, no memory."""
    from stationary.mapper.search import _Scorer

    fast = model.model if isinstance(model, _Scorer) else model
    counts = []
    for steps in searches:
        try:
            batch = next(steps)
            while True:
                batch = steps.send(fast.evaluate(batch))
        except StopIteration as stop:
            counts.append(stop.value)
    return counts


@pytest.mark.parametrize("objective, pareto", [("energy", False), ("edp", True)])
def test_side_by_side_searches_and_the_score_memory_change_no_result(monkeypatch, objective: str,
                                                                    pareto: bool) -> None:
    """Explore, the keep-all seed and the dataflow seeds scored together in shared fast-model calls, with the
    memory of scored rows, give exactly the search that runs them one after another, each batch scored alone."""
    from stationary.arch.load import load_arch
    from stationary.mapper import search as search_mod

    arch = load_arch("eyeriss")
    nest = Layer("s", LayerKind.CONV, M=16, C=8, P=6, Q=6, R=3, S=3, H=8, W=8).loop_nest()
    opts = SearchOptions(objective=objective, budget=2048, batch=256, pareto=pareto, seed=5)
    fast = search(nest, arch, [], opts)
    monkeypatch.setattr(search_mod, "_drive", _sequential_drive)
    slow = search(nest, arch, [], opts)
    assert fast.strategy == slow.strategy == "heuristic"
    assert fast.mapping == slow.mapping and fast.evaluated == slow.evaluated
    assert math.isclose(fast.result.energy_pj, slow.result.energy_pj, rel_tol=1e-9)
    assert fast.result.cycles == slow.result.cycles
    assert [(c, m) for _, c, m in fast.pareto] == [(c, m) for _, c, m in slow.pareto]


class _CountingModel:
    """A FastModel that records how many rows each `evaluate_rows` call scores."""

    def __init__(self, model) -> None:
        self.model, self.rows = model, []

    def evaluate_rows(self, m):
        self.rows.append(m.size)
        return self.model.evaluate_rows(m)

    def may_fit(self, m):
        return self.model.may_fit(m)


def test_the_score_memory_returns_the_fast_models_numbers_and_skips_rows_seen() -> None:
    """`_Scorer` gives each row the fast model's validity and, where valid, its numbers; scores a row seen in an
    earlier batch no more, nor one the cheap check proves invalid; and stops remembering at its limit (rows
    past it are scored again, still correctly)."""
    import numpy as np

    from stationary.arch.load import load_arch
    from stationary.mapper.search import _Scorer
    from stationary.mapper.space import MapSpace
    from stationary.model.fast import FastModel, MappingArrays

    arch = load_arch("eyeriss")
    nest = Layer("m", LayerKind.CONV, M=16, C=8, P=6, Q=6, R=3, S=3, H=8, W=8).loop_nest()
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    rng = np.random.default_rng(1)
    a = space.sample(rng, 200)
    b = space.mutate(rng, a)
    c = MappingArrays.concat([b.take(np.arange(50)), a.take(rng.integers(200, size=100)), space.sample(rng, 30)])
    for limit in (1 << 16, 250):
        counting = _CountingModel(model)
        scorer, scored = _Scorer(counting, limit), counting.rows  # type: ignore[arg-type]
        for batch in (a, b, c, a):
            got, want = scorer.evaluate(batch), model.evaluate(batch)
            assert np.array_equal(got.valid, want.valid) and 0 < want.valid.sum() < batch.size
            ok = want.valid
            np.testing.assert_allclose(got.energy_pj[ok], want.energy_pj[ok], rtol=1e-9)
            assert np.array_equal(got.cycles[ok], want.cycles[ok])
        distinct, seen = [], set()  # per batch: rows not seen before that the cheap check lets through
        for x in (a, b, c):
            fits = model.may_fit(x)
            new = {}
            for r in range(x.size):
                key = tuple(np.concatenate([x.temporal[r].ravel(), x.spatial[r].ravel(), x.spatial_x[r].ravel(),
                                            x.permutation[r].ravel(), x.keep[r].ravel()]))
                if key not in seen:
                    new[key] = bool(fits[r])
            seen |= set(new)
            distinct.append(sum(new.values()))
        if limit > 1000:  # every row remembered: each batch scores its rows not seen before, `a` again none
            assert scored == distinct
        else:  # 250 rows remembered: part of c and the second a scored again
            assert sum(scored) > sum(distinct)


def test_the_pool_keeps_the_first_best_distinct_costs_of_everything_added() -> None:
    """The elites after any sequence of batches are the first `size` distinct (score, energy, cycles) of every
    valid row added, in cost order, the earliest row of equal cost kept (brute force over the whole history);
    a full pool skipping rows above its worst elite changes nothing."""
    import numpy as np

    from stationary.mapper.search import Scored, _Pool
    from stationary.model.fast import MappingArrays

    rng = np.random.default_rng(3)
    for size in (1, 4, 24):
        pool, history, next_id = _Pool("edp", size, False), [], 0
        for n in rng.integers(1, 60, size=30):
            ids = np.arange(next_id, next_id + n)
            next_id += n
            t = np.ones((n, 2, 2), np.int64)
            t[:, 0, 0] = ids
            rows = MappingArrays(t, np.ones_like(t), np.zeros((n, 2, 2), bool), np.zeros_like(t),
                                 np.ones((n, 2, 3), bool))
            costs = Scored(rng.integers(1, 6, n).astype(float), rng.integers(1, 4, n), rng.random(n) < 0.9)
            pool.add(rows, costs)
            history += [(float(e * c), float(e), float(c), int(i)) for e, c, v, i in
                        zip(costs.energy_pj, costs.cycles, costs.valid, ids) if v]
            want, seen = [], set()
            for s, e, c, i in sorted(history):  # ids grow in the order rows were added: the earliest first
                if (s, e, c) not in seen:
                    seen.add((s, e, c))
                    want.append(i)
            assert pool.best_rows is not None
            assert list(pool.best_rows.temporal[:, 0, 0]) == want[:size]


def test_exhaustive_refuses_a_space_no_enumeration_ends() -> None:
    """AlexNet conv2 on eyeriss holds ~7e32 mappings: one clear error naming the strategy, not a run that never ends."""
    from stationary.arch.load import load_arch
    from stationary.workload.load import load_network

    conv2 = next(layer for layer in load_network("alexnet", 1).layers if layer.name == "conv2")
    with pytest.raises(StationaryError, match="exhaustive") as err:
        search(conv2.loop_nest(), load_arch("eyeriss", None), options=SearchOptions(strategy="exhaustive"))
    assert err.value.field == "--strategy"


@pytest.mark.parametrize("arch_name,seed", [("eyeriss", 0), ("simba_like", 1), ("simba_like", 2)])
def test_the_last_descent_ends_where_no_single_move_improves(arch_name: str, seed: int) -> None:
    """The search's last phase descends from every elite through all one-move neighbours: the result is never
    worse than without it (the phases before it take the same walk), and where the descent's budget did not
    run out no neighbour of the returned mapping scores lower."""
    from stationary.arch.load import load_arch
    from stationary.mapper.space import MapSpace
    from stationary.model.fast import FastModel, mapping_arrays

    arch = load_arch(arch_name)
    nest = Layer("d", LayerKind.CONV, M=64, C=32, P=14, Q=14, R=3, S=3, H=16, W=16).loop_nest()
    opts = SearchOptions(budget=4096, batch=512, seed=seed)
    without = search(nest, arch, [], replace(opts, descent_share=0.0))
    found = search(nest, arch, [], replace(opts, descent_share=50.0))  # room for every descent to finish
    assert found.result.energy_pj <= without.result.energy_pj * (1 + 1e-12)
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    row = mapping_arrays([found.mapping], nest, arch)
    near = space.neighbours(row)
    assert near.size > 0
    fr = model.evaluate(near)
    assert not (fr.valid & (fr.energy_pj < found.result.energy_pj * (1 - 1e-9))).any()


def test_neighbours_are_one_move_away_and_within_the_space() -> None:
    """Every neighbour differs from its row by one move: the factors of one dim between two slots (products
    kept), one level's loop order, one mesh axis, or one keep (with that tensor's factors lifted); each obeys the
    map space's rules where it fits (the independent mapping check), and every loop order is distinct in the
    loops that iterate."""
    from stationary.arch.load import load_arch
    from stationary.mapper.search import assert_valid
    from stationary.mapper.space import MapSpace
    from stationary.model.fast import FastModel, row_to_mapping

    arch = load_arch("simba_like")
    nest = Layer("n", LayerKind.CONV, M=32, C=16, P=14, Q=14, R=3, S=3, H=16, W=16).loop_nest()
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    rows = space.sample(np.random.default_rng(3), 400)
    rows = rows.take(np.flatnonzero(model.evaluate(rows).valid)[:12])  # mappings that fit, as the search's are
    assert rows.size == 12
    for b in range(rows.size):
        row = rows.take(np.array([b]))
        near = space.neighbours(row)
        assert near.size > 0
        cells = np.stack([near.temporal != row.temporal, near.spatial != row.spatial], axis=1)  # (n, 2, L, D)
        moved = cells.any(axis=1)
        dims = moved.any(axis=1).sum(axis=1)
        kinds = np.stack([moved.any(axis=(1, 2)), (near.permutation != row.permutation).any(axis=(1, 2)),
                          (near.spatial_x != row.spatial_x).any(axis=(1, 2)), (near.keep != row.keep).any(axis=(1, 2))],
                         axis=1)
        assert (np.prod(near.temporal * near.spatial, axis=1) == np.prod(row.temporal * row.spatial, axis=1)).all()
        factor_only = kinds[:, 0] & ~kinds[:, 3]
        assert (cells[factor_only].sum(axis=(1, 2, 3)) == 2).all() and (dims[factor_only] == 1).all()
        assert (kinds[:, 1:].sum(axis=1) + (kinds[:, 0] & ~kinds[:, 3]) == 1).all()  # one kind of move each
        orders = {tuple(tuple(d for d in near.permutation[r, i] if near.temporal[r, i, d] > 1)
                        for i in range(space.n_levels)) for r in np.flatnonzero(kinds[:, 1])}
        assert len(orders) == int(kinds[:, 1].sum())
        valid = model.evaluate(near).valid  # a move may overflow a level or a fan-out: the model says so
        assert valid.any()
        for r in np.flatnonzero(valid):
            assert_valid(row_to_mapping(near, int(r), nest, arch), nest, arch, space.constraints)


def test_a_lift_empties_the_tile_of_the_tensor_a_keep_turns_on() -> None:
    """A keep turned on with a lift takes every movable temporal factor of the tensor's dims at that level and
    below to the nearest level above: the tensor's temporal tile there is 1, other dims and products unchanged."""
    from stationary.arch.load import load_arch
    from stationary.mapper.space import MapSpace

    arch = load_arch("simba_like")
    nest = Layer("l", LayerKind.CONV, M=32, C=16, P=14, Q=14, R=3, S=3, H=16, W=16).loop_nest()
    space = MapSpace(nest, arch)
    rows = space.sample(np.random.default_rng(5), 64)
    names = [d for d in space.dims]
    for i, t in space.free_keeps:
        lifted = space._lifted(rows.temporal, np.full(rows.size, i), np.full(rows.size, t))
        assert (np.prod(lifted, axis=1) == np.prod(rows.temporal, axis=1)).all()
        changed = (lifted != rows.temporal).any(axis=(1, 2))
        tensor = nest.tensors[t]
        for k, d in enumerate(names):
            if d not in tensor.dims:
                assert (lifted[:, :, k] == rows.temporal[:, :, k]).all()
            elif space._lift_to[i, k] >= 0:
                inner = [lv for lv in range(i, space.n_levels) if space._lift_from[lv, k]]
                assert (lifted[changed][:, inner, k] == 1).all()


@pytest.mark.parametrize("arch_name", ["eyeriss", "simba_like"])
def test_where_a_loop_of_one_iteration_sits_changes_no_count(arch_name: str) -> None:
    """`neighbours` keeps one swap per distinct order of the loops that iterate; that is exact only if a loop
    of one iteration changes nothing wherever it sits. Random fitting mappings with those loops moved to
    random places keep their energy and cycles."""
    from stationary.arch.load import load_arch
    from stationary.mapper.space import MapSpace
    from stationary.model.fast import FastModel, MappingArrays

    arch = load_arch(arch_name)
    nest = Layer("t", LayerKind.CONV, M=32, C=16, P=14, Q=14, R=3, S=3, H=29, W=29, stride=(2, 2)).loop_nest()
    space, model = MapSpace(nest, arch), FastModel(nest, arch)
    rng = np.random.default_rng(7)
    rows = space.sample(rng, 3000)
    rows = rows.take(np.flatnonzero(model.evaluate(rows).valid)[:200])
    assert rows.size >= 50
    perm = rows.permutation.copy()
    for b in range(rows.size):
        for i in range(space.n_levels):
            order = [int(d) for d in perm[b, i] if rows.temporal[b, i, d] > 1]
            for d in rng.permutation([int(d) for d in perm[b, i] if rows.temporal[b, i, d] == 1]):
                order.insert(int(rng.integers(0, len(order) + 1)), int(d))
            perm[b, i] = order
    moved = MappingArrays(rows.temporal, rows.spatial, rows.spatial_x, perm, rows.keep)
    assert (moved.permutation != rows.permutation).any()
    a, b2 = model.evaluate(rows), model.evaluate(moved)
    assert np.allclose(a.energy_pj, b2.energy_pj, rtol=1e-9, atol=0)
    assert (a.cycles == b2.cycles).all()


@pytest.mark.parametrize("bad,field", [({"descent_elites": 0}, "descent_elites"),
                                       ({"descent_share": -0.5}, "descent_share")])
def test_a_descent_without_elites_or_with_a_negative_share_is_refused(bad: dict, field: str) -> None:
    nest = Layer("r", LayerKind.CONV, M=4, C=4, P=4).loop_nest()
    with pytest.raises(StationaryError, match="the last descent") as err:
        search(nest, tiny_arch(rf_words=16), options=SearchOptions(budget=100, **bad))
    assert err.value.field == field
