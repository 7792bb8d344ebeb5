"""Run a sweep: evaluate the points not yet stored, locally (in-process or a process pool) or on a Dask
cluster (an embedded LocalCluster or `tcp://HOST:PORT`), storing each result as it arrives; then the Pareto
front of energy, cycles and area.

Every point is a pure function of its parameters (fixed seed), so results do not depend on the executor,
the order of completion, or how many times a point was attempted after a worker died.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any

from stationary.errors import StationaryError
from stationary.mapper.network import default_jobs, map_network
from stationary.mapper.search import SearchOptions
from stationary.parallel import capped_jobs, cpu_count, worker_pool
from stationary.pareto import non_dominated
from stationary.sweep.params import varied_arch
from stationary.sweep.spec import SweepPoint, SweepSpec
from stationary.sweep.store import ResultStore
from stationary.workload.load import load_network

OBJECTIVES = ("energy_pj", "cycles", "area_mm2")


def evaluate_point(point: SweepPoint) -> dict[str, Any]:
    """Map the point's network on its architecture; bad combinations give an `error` instead of numbers."""
    start = time.perf_counter()
    params = point.params
    record: dict[str, Any] = {"key": point.key, "params": params}
    varied = {k: v for k, v in params.items() if k not in ("network", "dataflow")}
    try:
        arch = varied_arch(point.arch_data, varied, point.arch_file)
        net = load_network(params["network"], point.batch, zoo_only=True)
        opts = SearchOptions(objective=point.objective, seed=point.seed, budget=point.budget,
                             exhaustive_limit=point.budget, batch=min(2048, point.budget))
        plans = map_network(net, arch, params["dataflow"], opts, jobs=1)
    except StationaryError as exc:
        record.update(error=str(exc), search_seconds=time.perf_counter() - start)
        return record
    record.update(
        energy_pj=sum(p.found.result.energy_pj for p in plans),
        cycles=sum(p.found.result.cycles for p in plans),
        area_mm2=arch.area_um2 / 1e6,
        macs=sum(p.found.result.macs for p in plans),
        search_seconds=time.perf_counter() - start,
    )
    record["utilization"] = (record["macs"] / (record["cycles"] * arch.compute.instances)
                             if record["cycles"] else 0.0)
    return record


@dataclass(frozen=True)
class SweepRun:
    """What one (re)run did: points computed now, points found already stored, points another run sharing the
    store computed meanwhile, its run id."""

    run_id: int
    computed: int
    already_stored: int
    total: int
    by_other_runs: int = 0


CLAIM_POLL_S = 0.5  # how often a run whose remaining points are all claimed by another run looks again


class _Claimer:
    """The points of one run still to be stored, claimed from the store a few at a time."""

    def __init__(self, points: list[SweepPoint], store: ResultStore, run_id: int) -> None:
        self.by_key = {p.key: p for p in points}
        self.remaining = [p.key for p in points]  # not yet seen stored
        self.store, self.run_id = store, run_id

    def take(self, limit: int) -> list[SweepPoint]:
        """Claim up to `limit` points nobody has stored or claimed; forget the ones found stored."""
        if not self.remaining or limit <= 0:
            return []
        claimed, stored = self.store.claim(self.remaining, self.run_id, limit)
        gone = stored.union(claimed)
        self.remaining = [k for k in self.remaining if k not in gone]
        return [self.by_key[k] for k in claimed]


def _local(claimer: _Claimer, jobs: int) -> Iterator[dict[str, Any]]:
    """Evaluate claimed points in-process (jobs 1) or in a worker pool, claiming more as results arrive."""
    if jobs <= 1:
        while batch := claimer.take(1):
            yield evaluate_point(batch[0])
        return
    with worker_pool(jobs) as pool:
        in_flight = {pool.submit(evaluate_point, p) for p in claimer.take(2 * jobs)}
        while in_flight:
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for f in finished:
                yield f.result()
            in_flight |= {pool.submit(evaluate_point, p) for p in claimer.take(2 * jobs - len(in_flight))}


def _dask(claimer: _Claimer, client: Any) -> Iterator[dict[str, Any]]:
    from distributed import as_completed as dask_completed

    pending = claimer.take(len(claimer.remaining))
    futures = client.map(evaluate_point, pending, key=[f"stationary-sweep-{p.key}" for p in pending], pure=False)
    try:
        for f in dask_completed(futures):
            yield f.result()
    finally:
        client.cancel(futures)


def dask_client(scheduler: str, workers: int) -> tuple[Any, Any]:
    """A client for `tcp://HOST:PORT`, or for a new loopback LocalCluster of `workers` processes ('dask')."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StationaryError("a Dask scheduler needs the dask extra: pip install 'stationary[dask]'",
                              field="--scheduler") from None
    if scheduler == "dask":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=30), None
    except OSError as exc:
        raise StationaryError(f"cannot reach the Dask scheduler {scheduler} ({exc})", field="--scheduler") from None


def run_sweep(spec: SweepSpec, store: ResultStore, scheduler: str | Any = "local", jobs: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> SweepRun:
    """Evaluate every point of `spec` missing from `store`; `scheduler` is 'local', 'dask', 'tcp://...' or a
    distributed.Client. `progress(done, total)` counts stored points, already stored ones included. Points
    another run on the same store has claimed are left to it (and awaited), so none is computed twice."""
    points = spec.points()
    keys = [p.key for p in points]
    stored = store.keys()
    total = len(points)
    already = sum(k in stored for k in keys)
    done = already
    name = scheduler if isinstance(scheduler, str) else f"dask {getattr(scheduler, 'scheduler', '')}"
    run_id = store.new_run(str(name), spec.to_json())
    if progress:
        progress(done, total)
    claimer = _Claimer([p for p in points if p.key not in stored], store, run_id)
    client, cluster = None, None
    if isinstance(scheduler, str):
        if scheduler == "local":
            results = _local(claimer, capped_jobs(jobs, default_jobs()))
        elif scheduler == "dask" or scheduler.startswith("tcp://"):
            client, cluster = dask_client(scheduler, max(1, jobs or cpu_count()))
            results = _dask(claimer, client)
        else:
            raise StationaryError(f"unknown scheduler {scheduler!r}: local, dask or tcp://HOST:PORT",
                                  field="--scheduler")
    else:
        results = _dask(claimer, scheduler)
    computed = 0
    try:
        for record in results:
            computed += store.put(record, run_id)
            done += 1
            if progress:
                progress(done, total)
        while claimer.remaining:  # the rest is claimed by other runs: wait for them (or take over if they die)
            time.sleep(CLAIM_POLL_S)
            for point in claimer.take(1):
                computed += store.put(evaluate_point(point), run_id)
            now = store.keys()
            done = sum(k in now for k in keys)
            if progress:
                progress(done, total)
    finally:
        if hasattr(results, "close"):
            results.close()
        store.release(run_id)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return SweepRun(run_id, computed, already, total, total - already - computed)


def pareto_front(records: list[dict[str, Any]], objectives: tuple[str, ...] = OBJECTIVES) -> list[dict[str, Any]]:
    """Points not dominated in every objective (all minimized), per network; sorted by network then energy."""
    ok = [r for r in records if not r.get("error")]
    front = []
    for net in {r["params"]["network"] for r in ok}:
        group = [r for r in ok if r["params"]["network"] == net]
        front += [group[i] for i in non_dominated([[r[o] for o in objectives] for r in group])]
    return sorted(front, key=lambda r: (r["params"]["network"], *(r[o] for o in objectives), r["key"]))


def sweep_json(spec: SweepSpec, store: ResultStore) -> dict[str, Any]:
    """The stored results of `spec`'s points (in spec order) and their Pareto front, JSON-ready."""
    keys = [p.key for p in spec.points()]
    fields = ("key", "params", "energy_pj", "cycles", "area_mm2", "macs", "utilization", "error")
    points = [{k: r[k] for k in fields} for r in store.records(keys)]
    return {"spec": spec.to_json(), "points": points, "pareto": pareto_front(points)}
