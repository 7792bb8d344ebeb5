"""A 50-point sweep: identical locally (in-process and process pool) and on a two-worker Dask LocalCluster
that loses a worker midway; every point stored exactly once; an interrupted sweep resumes with only the
missing points; the CLI's JSON and its rerun."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from stationary.sweep.engine import run_sweep, sweep_json
from stationary.sweep.spec import SweepSpec, parse_vary
from stationary.sweep.store import ResultStore
from tests.clirun import run_cli, run_cli_json

# 5 x 5 x 2 = 50 points of one small CONV layer (sliding windows: each point takes ~0.1 s)
SPEC = SweepSpec("eyeriss", ("lenet5:conv2",), ("free",),
                 parse_vary(["pe_rows=2,4,6,8,12", "pe_cols=2,7,14,16,28", "bits=8,16"]), budget=256)
NUMBERS = ("energy_pj", "cycles", "area_mm2", "macs", "utilization", "error")


def numbers(store: ResultStore) -> dict[str, tuple]:
    return {r["key"]: tuple(r[k] for k in NUMBERS) for r in store.records()}


@pytest.fixture(scope="module")
def local_run() -> tuple[dict[str, tuple], dict]:
    with ResultStore() as store:
        run = run_sweep(SPEC, store, "local", jobs=1)
        assert (run.computed, run.already_stored, run.total) == (50, 0, 50)
        return numbers(store), sweep_json(SPEC, store)


@pytest.fixture(scope="module")
def reference(local_run: tuple[dict[str, tuple], dict]) -> dict[str, tuple]:
    return local_run[0]


def test_reference_is_a_real_sweep(local_run: tuple[dict[str, tuple], dict]) -> None:
    reference, result = local_run
    assert len(reference) == 50
    ok = [v for v in reference.values() if v[-1] is None]
    assert len(ok) == 50 and len({v[0] for v in ok}) > 10  # the design space actually varies the cost
    assert [p["key"] for p in result["points"]] == [p.key for p in SPEC.points()]
    assert 1 < len(result["pareto"]) < 50


def test_process_pool_gives_identical_results(reference: dict[str, tuple], tmp_path: Path) -> None:
    with ResultStore(tmp_path / "pool.sqlite") as store:
        run_sweep(SPEC, store, "local", jobs=2)
        assert numbers(store) == reference


def test_interrupted_sweep_resumes_with_only_missing_points(reference: dict[str, tuple], tmp_path: Path) -> None:
    db = tmp_path / "resume.sqlite"

    def interrupt_after_20(done: int, total: int) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with ResultStore(db) as store, pytest.raises(KeyboardInterrupt):
        run_sweep(SPEC, store, "local", jobs=1, progress=interrupt_after_20)
    with ResultStore(db) as store:
        assert store.count_by_run() == {1: 20}
        run = run_sweep(SPEC, store, "local", jobs=1)
        assert (run.computed, run.already_stored) == (30, 20)
        assert store.count_by_run() == {1: 20, 2: 30}
        assert numbers(store) == reference
        again = run_sweep(SPEC, store, "local", jobs=1)
        assert (again.computed, again.already_stored) == (0, 50)


def test_dask_cluster_survives_a_killed_worker(reference: dict[str, tuple], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    killed: list[int] = []
    pids = client.run(os.getpid)  # worker address -> process id

    def kill_one_worker(done: int, total: int) -> None:
        if done >= 10 and not killed:
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        with ResultStore(tmp_path / "dask.sqlite") as store:
            run = run_sweep(SPEC, store, client, progress=kill_one_worker)
            assert killed and run.computed == 50
            rows = store.db.execute("SELECT key, COUNT(*) FROM points GROUP BY key").fetchall()
            assert len(rows) == 50 and all(n == 1 for _, n in rows)
            assert numbers(store) == reference
    finally:
        client.close()
        cluster.close()
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # the worker really died


def test_cli_json_and_rerun(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    args = ["sweep", "lenet5:fc1", "--arch", "eyeriss", "--vary", "pe_rows=4,12", "--vary", "glb_kb=32,108",
            "--dataflow", "ws,os", "--budget", "200", "--out", str(db), "--json"]
    data = run_cli_json(*args, timeout_s=120)
    assert len(data["points"]) == 8 and data["run"]["computed"] == 8
    point = data["points"][0]
    assert set(point) >= {"params", "energy_pj", "cycles", "area_mm2"}
    assert point["params"] == {"network": "lenet5:fc1", "dataflow": "ws", "pe_rows": 4, "glb_kb": 32}
    assert data["pareto"] and all(p in data["points"] for p in data["pareto"])
    again = run_cli_json(*args, timeout_s=120)
    assert again["run"] == {"computed": 0, "already_stored": 8, "by_other_runs": 0, "total": 8}
    assert again["points"] == data["points"]
    bad = run_cli(*args[:1], "lenet5", "--vary", "pe_rows")
    assert bad.returncode == 2 and "expected KEY=V1,V2" in bad.stderr
