"""Search the map space for the best mapping: exhaustive where the space is small, exact branch and bound
(mapper/exact.py, seeded by the heuristic), or random restarts plus local search (elitist hill climbing on
batches of mutants), all scored by the fast model.
The fast model equals the loop walk on every mapping (tests/model/test_fast.py), so its numbers are reported
as they are; the heuristic's seed searches run side by side with their rows scored together, and each search
remembers the rows it scored (same results, fewer fast-model calls).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Protocol, cast

import numpy as np

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.bounds.layer import LayerBound, layer_bound
from stationary.mapper.exact import BranchAndBound, Budget
from stationary.mapper.space import MapSpace
from stationary.mapping.check import violations
from stationary.mapping.constraints import Constraint
from stationary.mapping.dataflows import DATAFLOWS, dataflow_constraints
from stationary.mapping.mapping import Mapping
from stationary.model.fast import FastModel, MappingArrays, distinct_rows, row_to_mapping
from stationary.model.result import Result
from stationary.pareto import non_dominated
from stationary.workload.loopnest import LoopNest

OBJECTIVES = ("energy", "cycles", "edp")


def check_objective(objective: str) -> str:
    """The objective's canonical name, or a clear error."""
    key = objective.lower()
    if key not in OBJECTIVES:
        raise StationaryError(f"unknown objective {objective!r}; objectives: {', '.join(OBJECTIVES)}",
                              field="--objective")
    return key


def check_budget(budget: object) -> int:
    """The heuristic search's budget (fast-model evaluations): a positive integer, or a clear error."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise StationaryError(f"the budget is a positive number of fast-model evaluations, got {budget!r}",
                              field="--budget")
    return budget


class Costed(Protocol):
    """What the search reads of the fast model's numbers per row (a FastResult, or a `Scored`)."""

    @property
    def energy_pj(self) -> np.ndarray: ...
    @property
    def cycles(self) -> np.ndarray: ...
    @property
    def valid(self) -> np.ndarray: ...


class Scorer(Protocol):
    """Scores a batch of mappings: a FastModel, or a `_Scorer` in front of one."""

    def evaluate(self, m: MappingArrays) -> Costed: ...


#: The largest map space `strategy="exhaustive"` enumerates (about 3 hours at 100k mappings/s): a layer's space
#: easily holds 1e30 mappings (AlexNet conv2 on eyeriss: 7.2e32), which no enumeration ends.
EXHAUSTIVE_MAX = 10**9


@dataclass(frozen=True)
class Scored:
    """The fast model's numbers a search keeps per row: energy (pJ), cycles, and whether the mapping fits."""

    energy_pj: np.ndarray
    cycles: np.ndarray
    valid: np.ndarray


CALL_ROWS = 8192  # rows of side-by-side searches scored in one fast-model call at most (larger: slower per row)
CACHE_ROWS = 1 << 16  # distinct rows one search remembers the scores of (about 400 B each); past it, no more


class _Scorer:
    """The fast model with a memory of the rows this search already scored: a row proposed again in a later
    batch (a mutant equal to its parent, or to an earlier batch's mutant: ~5 % of the distinct rows of
    `evaluate resnet50`) takes its earlier numbers instead of a new fast-model evaluation, and a row the cheap
    fit check proves invalid is never counted. The fast model's numbers for a row depend on that row alone, so
    the search's results do not change, only its time."""

    def __init__(self, model: FastModel, limit: int = CACHE_ROWS) -> None:
        self.model, self.limit = model, limit
        self._slot: dict[bytes, int] = {}  # a row's words, exactly -> its index in the arrays below
        self._energy, self._cycles, self._valid = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool)

    def evaluate(self, m: MappingArrays) -> Scored:
        """Energy, cycles and validity of every row of `m` (remembered rows looked up, the rest scored)."""
        if m.spatial_order is not None:  # the mapper's arrays never carry one: no memory for such rows
            whole = self.model.evaluate(m)
            return Scored(whole.energy_pj, whole.cycles, whole.valid)
        first, inverse = distinct_rows(m)  # the fast model's own exact grouping of repeated rows
        keys = _row_keys(m, first)
        slots = np.array([self._slot.get(k, -1) for k in keys], np.int64)
        new = np.flatnonzero(slots < 0)
        if len(new):
            fr = self._score_new(m.take(first[new]))
            room = max(0, min(len(new), self.limit - len(self._slot)))
            if room:
                base = len(self._energy)
                self._energy = np.concatenate([self._energy, fr.energy_pj[:room]])
                self._cycles = np.concatenate([self._cycles, fr.cycles[:room]])
                self._valid = np.concatenate([self._valid, fr.valid[:room]])
                for n in range(room):
                    self._slot[keys[new[n]]] = base + n
        energy, cycles, valid = np.empty(len(first)), np.empty(len(first), np.int64), np.empty(len(first), bool)
        old = np.flatnonzero(slots >= 0)
        energy[old], cycles[old], valid[old] = (self._energy[slots[old]], self._cycles[slots[old]],
                                                self._valid[slots[old]])
        if len(new):
            energy[new], cycles[new], valid[new] = fr.energy_pj, fr.cycles, fr.valid
        return Scored(energy[inverse], cycles[inverse], valid[inverse])

    def _score_new(self, m: MappingArrays) -> Scored:
        """The fast model's numbers for rows not remembered: rows the cheap check (`FastModel.may_fit`: fan-outs,
        capacities) proves invalid are not counted (35 % of the rows `evaluate resnet50 --arch eyeriss` proposes)
        and take valid False, energy inf, cycles 0; the search reads nothing else of an invalid row."""
        rows = np.flatnonzero(self.model.may_fit(m))
        energy, cycles, valid = np.full(m.size, np.inf), np.zeros(m.size, np.int64), np.zeros(m.size, bool)
        if len(rows):
            fr = self.model.evaluate_rows(m if len(rows) == m.size else m.take(rows))
            energy[rows], cycles[rows], valid[rows] = fr.energy_pj, fr.cycles, fr.valid
        return Scored(energy, cycles, valid)


def _row_keys(m: MappingArrays, rows: np.ndarray) -> list[bytes]:
    """Each chosen row's arrays as one exact byte string (16-bit words where every value fits, else 64-bit;
    whether the row carries remainders is part of it)."""
    cols = [m.temporal, m.spatial, m.spatial_x, m.permutation, m.keep]
    if m.temporal_residual is not None:
        cols.append(m.temporal_residual)
    n = len(rows)
    flat = np.concatenate([c[rows].reshape(n, -1).astype(np.int64) for c in cols]
                          + [np.full((n, 1), m.temporal_residual is not None, np.int64)], axis=1)
    if n and 0 <= flat.min() and flat.max() < 1 << 15:
        flat = flat.astype(np.int16)
    flat = np.ascontiguousarray(flat)
    return cast(list[bytes], flat.view(np.dtype((np.void, flat.shape[1] * flat.itemsize))).reshape(n).tolist())


def score(fr: Costed, objective: str) -> np.ndarray:
    """The objective per mapping (inf where the mapping does not fit)."""
    if objective == "energy":
        value = fr.energy_pj
    elif objective == "cycles":
        value = fr.cycles.astype(float)
    else:  # edp; an invalid row's energy may be inf and its cycles 0 (`_Scorer`): masked, never multiplied
        value = np.where(fr.valid, fr.energy_pj, 0.0) * fr.cycles
    return np.where(fr.valid, value, np.inf)


@dataclass(frozen=True)
class SearchOptions:
    """How hard to search: fast-model evaluations, batch size, elites, when the space is small enough."""

    objective: str = "energy"
    seed: int = 0
    budget: int = 40_000  # fast-model evaluations (heuristic search)
    batch: int = 2048
    elites: int = 24
    exhaustive_limit: int = 100_000  # enumerate every mapping when the space is at most this big
    strategy: str = "auto"  # auto (exhaustive if small, else heuristic) | exhaustive | heuristic | exact
    budget_s: float | None = None  # exact: wall seconds for the branch and bound (None: no limit)
    budget_evals: int | None = 50_000  # exact: fast-model rows for the branch and bound (None: no limit)
    seed_exact: bool = True  # exact: seed the incumbent with the heuristic search (its `budget`)
    pareto: bool = False
    seed_dataflows: bool = True  # a free heuristic search also runs every built-in dataflow's search
    seed_share: float = 0.25  # ... each with this share of the budget (1.0: never worse than any dataflow)
    polish_share: float = 1.0  # extra evaluations of free local search from the merged pool (a longer polish
    # continues the same walk from the same pool: never worse; 0.25 -> 1.0 measured in docs/mapper.md "Polish")
    descent_share: float = 1.0  # a free heuristic search ends with a steepest descent from its best
    # `descent_elites` mappings, together at most this share of the budget (they stop sooner where no neighbour
    # is better; 0: none; docs/mapper.md "Descent")
    descent_elites: int = 24
    seed_keeps: bool = True  # a heuristic search with free keep choices also searches "keep all" (seed_share)
    update_energy: str = "update"  # price read-modify-write updates at the ERT's `update` or `write` energy
    imperfect: bool = False  # also imperfect factorizations (Timeloop 3 remainders D=n,r; mapper/space.py)
    imperfect_share: float = 0.25  # ... searched after the perfect-only search, with this share of the budget
    generation: int = 2048  # heuristic: rows per generation, at most `batch` (512: more generations per
    # budget, lower energy on average but worse on some layers and two validation points: docs/mapper.md "Search")


@dataclass
class SearchResult:
    """The best mapping (scored exactly), how many mappings were scored, and how long it took."""

    mapping: Mapping
    result: Result
    evaluated: int
    seconds: float
    strategy: str
    fast_energy_pj: float
    pareto: list[tuple[float, int, Mapping]] = field(default_factory=list)  # (energy_pj, cycles, mapping)
    complete: bool = False  # exact: every mapping of the space was scored or provably cut
    pruned: int = 0  # exact: nodes cut by capacity, utilization or bound
    objective_bound: float = 0.0  # a proven lower bound on the objective over the map space
    sampled: bool = False  # the space searched was a sample (too many factorizations or orders to list)
    bound: LayerBound | None = None  # the layer's energy lower bound (computed by the exact search)


def search(nest: LoopNest, arch: Architecture, constraints: list[Constraint] | None = None,
           options: SearchOptions | None = None,
           progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """The best mapping of `nest` on `arch` under `constraints` for the objective."""
    opts = options or SearchOptions()
    objective = check_objective(opts.objective)
    check_budget(opts.budget)
    if opts.generation < 1 or opts.batch < 1:
        raise StationaryError(f"the search's batch and generation are positive row counts, got {opts.batch} and "
                              f"{opts.generation}", field="generation")
    if opts.descent_elites < 1 or not opts.descent_share >= 0:
        raise StationaryError(f"the last descent starts from at least one elite with a share of the budget >= 0 "
                              f"(0: no descent), got descent_elites={opts.descent_elites}, descent_share="
                              f"{opts.descent_share}",
                              field="descent_elites" if opts.descent_elites < 1 else "descent_share")
    start = time.perf_counter()
    space = MapSpace(nest, arch, constraints, imperfect=opts.imperfect)
    model = FastModel(nest, arch, update_energy=opts.update_energy)
    size = space.size()
    strategy = opts.strategy
    if strategy == "auto":
        strategy = "exhaustive" if size <= opts.exhaustive_limit else "heuristic"
    if strategy not in ("exhaustive", "heuristic", "exact"):
        raise StationaryError(f"unknown strategy {opts.strategy!r} (auto, exhaustive, heuristic, exact)")
    if strategy == "exhaustive" and size > EXHAUSTIVE_MAX:  # it would not end: say so instead of starting
        raise StationaryError(f"the map space of {nest.name} on {arch.name} holds {size:.3g} mappings; exhaustive "
                              f"enumeration scores every one (at most {EXHAUSTIVE_MAX:.0e}); use --strategy exact "
                              "(the proven optimum, pruned; --budget-s bounds it) or heuristic", field="--strategy")
    if strategy == "exact" and arch.sparsity is not None:  # its cuts and capacity prunes count dense words
        raise StationaryError(f"the exact search bounds dense counts and cannot prune soundly under {arch.name}'s "
                              "sparsity; use --strategy heuristic or exhaustive (their certificates use the "
                              "layer bound, which covers sparsity)", field="--strategy")
    pool = _Pool(objective, opts.elites, opts.pareto)
    scorer = _Scorer(model)
    extra: dict = {"sampled": bool(space.sampled_dims)}
    if strategy == "exact":
        evaluated, extra = _exact(space, scorer, pool, opts, objective, progress)
    elif strategy == "heuristic" and space.imperfect:
        evaluated = _run_imperfect(space, scorer, pool, opts, progress, opts.strategy == "auto")
    else:
        evaluated = _run(space, scorer, pool, opts, strategy, progress)
    if pool.best_rows is None or not np.isfinite(pool.best_scores[0]):
        raise StationaryError(explain_empty(space))
    # the fast model equals the loop walk on every mapping it scores (tests/model/test_fast.py): no re-check
    top = pool.best_rows.take(np.arange(1))
    top_fast = model.evaluate(top)
    mapping, result = row_to_mapping(top, 0, nest, arch), model.result(top_fast, 0)
    fast_energy = float(top_fast.energy_pj[0])
    pareto = []
    if opts.pareto and pool.front is not None:
        front_fast = model.evaluate(pool.front)
        order = np.argsort(front_fast.energy_pj, kind="stable")
        for b2 in order:
            pareto.append((float(front_fast.energy_pj[b2]), int(front_fast.cycles[b2]),
                           row_to_mapping(pool.front, int(b2), nest, arch)))
    for m in [mapping, *(p[2] for p in pareto)]:
        assert_valid(m, nest, arch, space.constraints)
    return SearchResult(mapping, result, evaluated, time.perf_counter() - start, strategy, fast_energy, pareto,
                        **extra)


def _exact(space: MapSpace, model: _Scorer, pool: _Pool, opts: SearchOptions, objective: str,
           progress: Callable[[int, int], None] | None) -> tuple[int, dict]:
    """The heuristic seed (so that cuts bite early), then the branch and bound into `pool`. Returns the
    evaluations and the SearchResult fields that state what was proven."""
    seed = _run_imperfect if space.imperfect else functools.partial(_run, strategy="heuristic")
    evaluated = seed(space, model, pool, opts, progress=progress) if opts.seed_exact else 0
    bound = layer_bound(space.nest, space.arch, imperfect=space.imperfect, update_energy=opts.update_energy)
    bb = BranchAndBound(space, model.model, pool, objective, Budget(opts.budget_s, opts.budget_evals), opts.batch,
                        bound.energy_lower_bound_pj)
    out = bb.run()
    proven = max(out.root_bound, out.open_bound)
    if out.complete and pool.best_rows is not None:
        proven = float(pool.best_scores[0])  # the optimum itself
    return evaluated + out.evaluated, {"complete": out.complete, "pruned": out.pruned,
                                       "objective_bound": float(min(proven, np.inf)),
                                       "sampled": out.sampled or bool(space.sampled_dims), "bound": bound}


def assert_valid(mapping: Mapping, nest: LoopNest, arch: Architecture, constraints: list[Constraint]) -> None:
    """The independent check (mapping/check.py) on a mapping the search returns: a failure is a bug in the map
    space, never the user's input, so it is an AssertionError (raised even under `python -O`)."""
    found = violations(mapping, arch, nest, constraints)
    if found:
        raise AssertionError(f"the map space produced a mapping of {nest.name} on {arch.name} that breaks "
                             f"{len(found)} rule(s): " + "; ".join(found[:5]))


class _Pool:
    """The best few distinct mappings seen so far (and, optionally, the energy-cycles Pareto front)."""

    def __init__(self, objective: str, size: int, pareto: bool) -> None:
        self.objective, self.size, self.pareto = objective, size, pareto
        self.best_rows: MappingArrays | None = None
        self.best_scores = np.zeros(0)
        self.best_energy = np.zeros(0)
        self.best_cycles = np.zeros(0)
        self.front: MappingArrays | None = None
        self.front_ec = np.zeros((0, 2))

    def add(self, batch: MappingArrays, fr: Costed) -> None:
        """Merge the scored `batch` (its fast-model results `fr`) into the elites and the front."""
        s = score(fr, self.objective)
        keep = np.isfinite(s)
        if not keep.any():
            return
        idx = np.nonzero(keep)[0]
        self._merge(batch.take(idx), s[idx], fr.energy_pj[idx], fr.cycles[idx].astype(float))

    def add_pool(self, other: _Pool) -> None:
        """Merge another pool's elites with the scores they were given (the same as re-scoring them with the
        fast model, whose numbers for a row depend on that row alone, without the fast-model call)."""
        if other.best_rows is not None:
            self._merge(other.best_rows, other.best_scores, other.best_energy, other.best_cycles)

    def _merge(self, rows: MappingArrays, scores: np.ndarray, energy: np.ndarray, cycles: np.ndarray) -> None:
        """Keep the best `size` distinct-cost rows of the elites and these valid rows (cycles as floats)."""
        new_rows, new_ec = rows, np.stack([energy, cycles], axis=1)
        if self.best_rows is not None and len(self.best_scores) == self.size:
            # a full pool: a row scoring above its worst elite sorts after all of them and is never chosen
            fit = np.flatnonzero(scores <= self.best_scores[-1])
            if len(fit) < len(scores):
                rows, scores, energy, cycles = rows.take(fit), scores[fit], energy[fit], cycles[fit]
        if self.best_rows is not None:
            rows = MappingArrays.concat([self.best_rows, rows])
            scores = np.concatenate([self.best_scores, scores])
            energy = np.concatenate([self.best_energy, energy])
            cycles = np.concatenate([self.best_cycles, cycles])
        order = np.lexsort((np.arange(len(scores)), cycles, energy, scores))
        chosen, seen = [], set()
        for o in order:  # distinct by cost: equal costs are (nearly always) equivalent mappings
            key = (scores[o], energy[o], cycles[o])
            if key in seen:
                continue
            seen.add(key)
            chosen.append(o)
            if len(chosen) == self.size:
                break
        sel = np.array(chosen)
        self.best_rows = rows.take(sel)
        self.best_scores, self.best_energy, self.best_cycles = scores[sel], energy[sel], cycles[sel]
        if self.pareto:
            self._update_front(new_rows, new_ec)

    def _update_front(self, rows: MappingArrays, ec: np.ndarray) -> None:
        if self.front is not None:
            rows = MappingArrays.concat([self.front, rows])
            ec = np.concatenate([self.front_ec, ec])
        sel = np.array(non_dominated(ec, unique=True))  # by energy, one mapping per (energy, cycles)
        self.front, self.front_ec = rows.take(sel), ec[sel]


def is_free(constraints: list[Constraint]) -> bool:
    """True when no built-in dataflow constrains the search (only the architecture's and the user's rules)."""
    return not any(c.source.startswith("dataflow ") for c in constraints)


Steps = Generator[MappingArrays, Costed, int]  # a search: yields batches, is sent their scores, returns its count
Phase = tuple[list[Steps], list[tuple[_Pool, _Pool]]]  # independent searches, then (into, from) pool merges


def _run(space: MapSpace, model: Scorer, pool: _Pool, opts: SearchOptions, strategy: str,
         progress: Callable[[int, int], None] | None) -> int:
    """The whole search into `pool`: explore, then, for a heuristic search under no dataflow, the keep-all seed
    (out of the budget) and the dataflow seeds with a polish from the merged pool, and the last descent.
    Returns the evaluations. Explore and the seeds do not read each other's pools, so they run side by side
    (`_drive`) and the seeds' elites are merged afterwards in the same order as one after another: the same
    result in fewer fast-model calls."""
    searches, merges = _first_phase(space, pool, opts, strategy, progress)
    evaluated = sum(_drive(model, searches))
    for into, sub_pool in merges:
        into.add_pool(sub_pool)
    free = strategy == "heuristic" and is_free(space.constraints)
    if free and opts.seed_dataflows:
        polish = replace(opts, budget=int(opts.budget * opts.polish_share), seed=opts.seed + 1)
        evaluated += _heuristic(space, model, pool, polish, np.random.default_rng(polish.seed), None)
    if free and opts.descent_share > 0 and not space.imperfect and pool.best_rows is not None:
        evaluated += _descend_elites(space, model, pool, opts)
    return evaluated


def _descend_elites(space: MapSpace, model: Scorer, pool: _Pool, opts: SearchOptions) -> int:
    """The search's last phase: a steepest descent from each of the best `descent_elites` mappings of `pool`,
    side by side (one fast-model call per round for all of them), each with an equal part of descent_share x
    budget rows. Returns the evaluations."""
    elites = pool.best_rows
    assert elites is not None
    elites = elites.take(np.arange(min(elites.size, opts.descent_elites)))
    part = replace(opts, budget=max(1, int(opts.budget * opts.descent_share) // elites.size))
    visited: set[bytes] = set()
    walks = [_descent_steps(space, pool, part, elites.take(np.array([e])), float(pool.best_scores[e]), visited)
             for e in range(elites.size)]
    return sum(_drive(model, walks))


def _first_phase(space: MapSpace, pool: _Pool, opts: SearchOptions, strategy: str,
                 progress: Callable[[int, int], None] | None) -> Phase:
    """`_run`'s searches before the polish (explore, the keep-all seed, the dataflow seeds) and the pool
    merges that follow them, in the order a sequential run makes them."""
    keep_budget = 0
    free = is_free(space.constraints)  # a dataflow's search (and its seeding copy) has no keep-all seed
    if strategy == "heuristic" and opts.seed_keeps and space.free_keeps and free:  # a share, not extra
        keep_budget = min(opts.budget // 2, max(opts.batch, int(opts.budget * opts.seed_share)))
    searches = [_explore(space, pool, replace(opts, budget=opts.budget - keep_budget), strategy, progress)]
    merges: list[tuple[_Pool, _Pool]] = []
    if keep_budget:
        keep = _keep_all_search(space, replace(opts, budget=keep_budget))
        if keep is not None:
            searches.append(keep[0])
            merges.append((pool, keep[1]))
    if strategy == "heuristic" and opts.seed_dataflows and free:
        more, more_merges = _dataflow_searches(space, pool, opts)
        searches += more
        merges += more_merges
    return searches, merges


def _run_imperfect(space: MapSpace, model: Scorer, pool: _Pool, opts: SearchOptions,
                   progress: Callable[[int, int], None] | None, auto: bool = False) -> int:
    """The heuristic search of an imperfect space: first the perfect-only search exactly as without
    `imperfect` (exhaustive when `auto` and the perfect space is small; its best is never lost, so the result is
    never worse), then local search and restarts in the imperfect space from the merged pool with
    `imperfect_share` of the budget. Returns the evaluations."""
    perfect = MapSpace(space.nest, space.arch, space.constraints)
    small = auto and perfect.size() <= opts.exhaustive_limit
    evaluated = _run(perfect, model, pool, opts, "exhaustive" if small else "heuristic", progress)
    more = replace(opts, budget=max(opts.batch, int(opts.budget * opts.imperfect_share)), seed=opts.seed + 2)
    return evaluated + _heuristic(space, model, pool, more, np.random.default_rng(more.seed), None)


def _drive(model: Scorer, searches: list[Steps], rows: int | None = None) -> list[int]:
    """Run independent searches side by side: each round, the next batch of every search still running,
    scored together in fast-model calls of up to `rows` rows (CALL_ROWS; a call costs a fixed overhead on top
    of its rows). Each search has its own generator and pool, and the fast model's numbers for a row depend on
    that row alone, so every search proceeds exactly as alone. Returns each search's evaluations."""
    limit = CALL_ROWS if rows is None else rows
    counts = [0] * len(searches)
    pending: list[tuple[int, MappingArrays]] = []

    def advance(i: int, scored: Costed | None) -> None:
        try:
            pending.append((i, next(searches[i]) if scored is None else searches[i].send(scored)))
        except StopIteration as stop:
            counts[i] = stop.value

    for i in range(len(searches)):
        advance(i, None)
    while pending:
        round_, pending = pending, []
        k = 0
        while k < len(round_):
            group, size = [round_[k]], round_[k][1].size
            while k + len(group) < len(round_) and size + round_[k + len(group)][1].size <= limit:
                size += round_[k + len(group)][1].size
                group.append(round_[k + len(group)])
            k += len(group)
            if len(group) == 1:
                advance(group[0][0], model.evaluate(group[0][1]))
                continue
            fr = model.evaluate(MappingArrays.concat([b for _, b in group]))
            at = 0
            for i, b in group:
                part = slice(at, at + b.size)
                at += b.size
                advance(i, Scored(fr.energy_pj[part], fr.cycles[part], fr.valid[part]))
    return counts


def _explore(space: MapSpace, pool: _Pool, opts: SearchOptions, strategy: str,
             progress: Callable[[int, int], None] | None) -> Steps:
    """Score every mapping of `space` (exhaustive) or run the heuristic on it; returns the evaluations."""
    if strategy != "exhaustive":
        return (yield from _heuristic_steps(space, pool, opts, np.random.default_rng(opts.seed), progress))
    evaluated, size = 0, space.size()
    for batch in space.enumerate(opts.batch):
        pool.add(batch, (yield batch))
        evaluated += batch.size
        if progress:
            progress(evaluated, size)
    return evaluated


def _seed_keep_all(space: MapSpace, model: Scorer, pool: _Pool, opts: SearchOptions) -> int:
    """The keep-all seed search (`_keep_all_search`) with opts.budget, its elites added to `pool`. Returns the
    evaluations spent."""
    keep = _keep_all_search(space, opts)
    if keep is None:
        return 0
    evaluated = _drive(model, [keep[0]])[0]
    pool.add_pool(keep[1])
    return evaluated


def _keep_all_search(space: MapSpace, opts: SearchOptions) -> tuple[Steps, _Pool] | None:
    """The search of the subspace where every free keep is on (each level stores every tensor it may) with
    opts.budget, and the pool it fills (None: no such subspace). Keeping a tensor in a small level shrinks the
    factors that fit below it, so random mappings that keep it are rarely valid and the mixed search drifts to
    bypassing it (ResNet-18 on ZigZag's tpu_like: a 1-word output register bypassed, partial sums spilled to
    the SRAM at 1.7x the energy)."""
    tensors = [t.name for t in space.nest.tensors]
    by_level: dict[int, set[str]] = {}
    for i, t in space.free_keeps:
        by_level.setdefault(i, set()).add(tensors[t])
    keep_all = [Constraint(space.arch.levels[i].name, "dataspace", keep=frozenset(names), source="seed: keep all")
                for i, names in by_level.items()]
    try:
        sub_space = MapSpace(space.nest, space.arch, space.constraints + keep_all, imperfect=space.imperfect)
    except StationaryError:
        return None
    sub = replace(opts, pareto=False)
    sub_pool = _Pool(opts.objective, opts.elites, False)
    return _heuristic_steps(sub_space, sub_pool, sub, np.random.default_rng(opts.seed), None), sub_pool


def _dataflow_searches(space: MapSpace, pool: _Pool, opts: SearchOptions) -> Phase:
    """Each built-in dataflow's subspace searched (under the same user constraints, with the same options and
    seed, so exactly as `search` with that dataflow does), its elite mappings then added to `pool`: the free
    search then polishes from the structured mappings (row stationary and the like) its random restarts rarely
    reach, and its fast-model best is never worse than any dataflow's."""
    sub = replace(opts, seed_dataflows=False, pareto=False, budget=max(opts.batch, int(opts.budget * opts.seed_share)),
                  exhaustive_limit=max(opts.batch, int(opts.exhaustive_limit * opts.seed_share)))
    searches: list[Steps] = []
    merges: list[tuple[_Pool, _Pool]] = []
    for name in (d for d in DATAFLOWS if d != "free"):
        try:
            sub_space = MapSpace(space.nest, space.arch,
                                 dataflow_constraints(name, space.nest, space.arch) + space.constraints,
                                 imperfect=space.imperfect)
        except StationaryError:  # no PE array, or the dataflow contradicts the user's constraints
            continue
        sub_pool = _Pool(opts.objective, opts.elites, False)
        strategy = "exhaustive" if sub_space.size() <= opts.exhaustive_limit else "heuristic"
        # a dataflow's space is not free and `sub` seeds no dataflows: its `_run` has no polish phase
        more, more_merges = _first_phase(sub_space, sub_pool, sub, strategy, None)
        searches += more
        merges += [*more_merges, (pool, sub_pool)]
    return searches, merges


def _heuristic(space: MapSpace, model: Scorer, pool: _Pool, opts: SearchOptions, rng: np.random.Generator,
               progress: Callable[[int, int], None] | None) -> int:
    """Random restarts + elitist local search until the evaluation budget is spent (`_heuristic_steps`)."""
    return _drive(model, [_heuristic_steps(space, pool, opts, rng, progress)])[0]


def _heuristic_steps(space: MapSpace, pool: _Pool, opts: SearchOptions, rng: np.random.Generator,
                     progress: Callable[[int, int], None] | None) -> Steps:
    """Random restarts + elitist local search until the evaluation budget is spent, `generation` rows (at most
    `batch`) at a time, a restart after 4 x `batch` rows without a better best: yields each batch, is sent its
    scores, returns the evaluations. Small generations give more rounds of selection per budget."""
    evaluated = 0
    stale, best = 0, np.inf
    rows = min(opts.generation, opts.batch)
    patience = 4 * max(1, opts.batch // rows)  # generations: a restart after 4 batches' rows without progress
    while evaluated < opts.budget:
        if pool.best_rows is None or stale >= patience:
            batch = space.sample(rng, rows)  # (re)start: fresh random mappings
            stale = 0 if pool.best_rows is None else patience // 2
        else:
            parents = pool.best_rows.take(rng.integers(pool.best_rows.size, size=rows))
            batch = space.mutate(rng, parents)
            for _ in range(int(rng.integers(0, 3))):  # some mutants take several steps
                batch = space.mutate(rng, batch)
        pool.add(batch, (yield batch))
        evaluated += batch.size
        if pool.best_rows is not None and pool.best_scores[0] < best * (1 - 1e-12):
            best, stale = pool.best_scores[0], 0
        else:
            stale += 1
        if progress:
            progress(evaluated, opts.budget)
    return evaluated


def _descent_steps(space: MapSpace, pool: _Pool, opts: SearchOptions, row: MappingArrays, current: float,
                   visited: set[bytes]) -> Steps:
    """Steepest descent from `row` (objective `current`) through every mapping one move away
    (`MapSpace.neighbours`: all primes and whole factors, swaps, flips, keep toggles with their factors lifted)
    until no neighbour is better or opts.budget rows are scored; every row goes into `pool`, so the search's
    result is never worse. The elitist search settles where its random single moves rarely improve, but a
    full neighbourhood often does (ResNet-50 layer3_0_downsample on simba_like: 1.62x its bound -> 1.18x).
    A descent stops at a row another one already left (`visited`, shared): from there it would take the same
    steps."""
    evaluated = 0
    while evaluated < opts.budget:
        key = _row_keys(row, np.zeros(1, np.int64))[0]
        if key in visited:
            break
        visited.add(key)
        batch = space.neighbours(row)
        if not batch.size:
            break
        scored = yield batch
        pool.add(batch, scored)
        evaluated += batch.size
        s = score(scored, opts.objective)
        j = int(np.argmin(s))
        if not s[j] < current * (1 - 1e-12):
            break
        row, current = batch.take(np.array([j])), float(s[j])
    return evaluated


def explain_empty(space: MapSpace) -> str:
    """Which constraint leaves no valid mapping (checked cumulatively on the smallest-tile mapping)."""
    def fits(cs: list[Constraint]) -> bool:
        try:
            sp = MapSpace(space.nest, space.arch, cs)
        except StationaryError:
            return False
        return bool(FastModel(space.nest, space.arch).evaluate(sp.minimal()).valid[0])

    if not fits([]):
        return (f"no valid mapping of {space.nest.name} on {space.arch.name}: even the smallest tiles overflow "
                f"a level (capacities: " + ", ".join(f"{lv.name} {lv.size_words}" for lv in space.arch.levels
                                                     if lv.size_words is not None) + " words)")
    for k in range(1, len(space.constraints) + 1):
        if not fits(space.constraints[:k]):
            return (f"no valid mapping of {space.nest.name} on {space.arch.name}: constraint "
                    f"{space.constraints[k - 1].describe()} empties the map space (tiles overflow or spatial "
                    f"factors exceed the fan-out)")
    return f"no valid mapping of {space.nest.name} on {space.arch.name} was found within the search budget"
