"""Process hygiene of a pooled sweep: workers die with the main process (even `kill -9`), SIGTERM exits 143
and leaves the store consistent and resumable, `--jobs` is capped at the CPU count, and two sweeps on one
store never compute a point twice."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from stationary import parallel
from stationary.sweep.engine import run_sweep
from stationary.sweep.spec import SweepSpec, parse_vary
from stationary.sweep.store import ResultStore
from tests.cli.procs import alive, catches, children, wait_until
from tests.clirun import ROOT, cli_env, run_cli_json, start_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# 8 points of a small layer with a budget that keeps two workers busy for a few seconds each
LONG_SWEEP = ("sweep", "lenet5:conv2", "--vary", "pe_rows=4,12", "--vary", "pe_cols=7,14", "--vary", "bits=8,16",
              "--budget", "20000", "--jobs", "2")


def _workers_of(proc: subprocess.Popen) -> list[int]:
    wait_until(lambda: len(children(proc.pid)) >= 2, 120, "two pool workers", proc)
    return children(proc.pid)


def test_workers_die_when_the_main_process_is_killed(tmp_path: Path) -> None:
    if parallel.cpu_count() < 2:
        pytest.skip("needs 2 CPUs for a pool of 2")
    proc = start_cli(*LONG_SWEEP, "--out", str(tmp_path / "k.sqlite"))
    try:
        workers = _workers_of(proc)
        proc.kill()  # SIGKILL: no handler, no cleanup in the parent
        proc.wait(timeout=30)
        wait_until(lambda: not any(alive(w) for w in workers), 10, f"workers {workers} to exit")
    finally:
        proc.kill()
        for w in children(proc.pid):
            os.kill(w, signal.SIGKILL)


def test_sigterm_stops_workers_and_leaves_a_resumable_store(tmp_path: Path) -> None:
    if parallel.cpu_count() < 2:
        pytest.skip("needs 2 CPUs for a pool of 2")
    db = tmp_path / "t.sqlite"
    proc = start_cli(*LONG_SWEEP, "--out", str(db))
    try:
        workers = _workers_of(proc)
        wait_until(lambda: catches(proc.pid, signal.SIGTERM), 30, "the SIGTERM handler", proc)
        proc.terminate()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert "Traceback" not in err
        wait_until(lambda: not any(alive(w) for w in workers), 10, f"workers {workers} to exit")
    finally:
        proc.kill()
    with sqlite3.connect(db) as con:  # every stored row complete, no claim left behind
        assert con.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)
        rows = con.execute("SELECT key, energy_pj, cycles, error FROM points").fetchall()
    assert all(e is not None and c is not None or err for _, e, c, err in rows)
    stored = len(rows)
    # resume: only the missing points are computed (a smaller budget would change the keys, so same spec)
    run = run_cli_json(*LONG_SWEEP, "--out", str(db), "--json", timeout_s=1200)["run"]
    assert (run["already_stored"], run["computed"], run["total"]) == (stored, 8 - stored, 8)


def test_jobs_capped_at_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)
    with pytest.warns(UserWarning, match="--jobs 24 lowered to 2"):
        assert parallel.capped_jobs(24, 8) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parallel.capped_jobs(None, 8) == 2  # the default is capped silently
        assert parallel.capped_jobs(2, 8) == 2


# 12 points; each evaluation is logged by the process that made it
CLAIM_SPEC = SweepSpec("eyeriss", ("lenet5:conv2",), ("free",),
                       parse_vary(["pe_rows=2,4,6", "pe_cols=2,7", "bits=8,16"]), budget=256)
_COUNTING_SWEEP = """
import sys, time
from stationary.sweep import engine
from stationary.sweep.store import ResultStore
from tests.sweep.test_processes import CLAIM_SPEC

log, db = sys.argv[1], sys.argv[2]
evaluate = engine.evaluate_point

def logged(point):
    with open(log, "a") as f:
        f.write(point.key + "\\n")
    time.sleep(0.2)  # both runs overlap for sure
    return evaluate(point)

engine.evaluate_point = logged
with ResultStore(db) as store:
    run = engine.run_sweep(CLAIM_SPEC, store, "local", jobs=1)
print(run.computed, run.by_other_runs)
"""


def test_two_sweeps_on_one_store_compute_each_point_once(tmp_path: Path) -> None:
    db, logs = tmp_path / "shared.sqlite", [tmp_path / "a.log", tmp_path / "b.log"]
    env = cli_env(pythonpath=[ROOT])  # the script imports tests.sweep
    procs = [subprocess.Popen([sys.executable, "-c", _COUNTING_SWEEP, str(log), str(db)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for log in logs]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    evaluated = [k for log in logs if log.exists() for k in log.read_text().split()]
    keys = [p.key for p in CLAIM_SPEC.points()]
    assert sorted(evaluated) == sorted(keys)  # every point once, none twice
    for out, _ in outs:  # each run accounts for every point: its own, or the other's
        computed, by_others = map(int, out.split())
        assert computed + by_others == len(keys)
    with ResultStore(db) as store:
        assert len(store.records()) == len(keys) and store.claims() == []


def test_claims_of_a_killed_run_are_taken_over(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    with ResultStore(tmp_path / "s.sqlite") as store:
        ghost = store.new_run("local", {})
        keys = [p.key for p in CLAIM_SPEC.points()][:5]
        store.db.executemany("INSERT INTO claims (key, run_id, host, pid, claimed_unix_s) VALUES (?, ?, ?, ?, 0)",
                             [(k, ghost, socket.gethostname(), dead.pid) for k in keys])
        run = run_sweep(CLAIM_SPEC, store, "local", jobs=1)
        assert (run.computed, run.by_other_runs) == (12, 0)
        assert store.claims() == []
