"""Sweep results in SQLite (stdlib sqlite3): one row per point key, written as each point completes, so a
sweep that is stopped keeps what it finished and a restart computes only what is missing.

Several sweeps may share one file: a run *claims* the points it will compute (a row in `claims`, taken in a
write transaction, so two runs never claim the same point), and storing a result drops its claim in the same
transaction. A run releases its open claims when it stops; the claims of a process that was killed (same
host, process gone) are stale and taken over by the next run that asks.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_unix_s REAL NOT NULL, scheduler TEXT NOT NULL,
    spec_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY, network TEXT NOT NULL, dataflow TEXT NOT NULL, params_json TEXT NOT NULL,
    energy_pj REAL, cycles INTEGER, area_mm2 REAL, macs INTEGER, utilization REAL, error TEXT,
    run_id INTEGER NOT NULL REFERENCES runs(run_id), search_seconds REAL);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY, run_id INTEGER NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    claimed_unix_s REAL NOT NULL);
"""
COLUMNS = ("key", "network", "dataflow", "params_json", "energy_pj", "cycles", "area_mm2", "macs", "utilization",
           "error", "run_id", "search_seconds")


class ResultStore:
    """A sweep's results table; `path` ':memory:' keeps it in memory (no resume)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            # autocommit: every write below is one explicit transaction (BEGIN IMMEDIATE takes the write lock)
            self.db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StationaryError(f"not a sweep results database ({exc})", file=self.path, field="--out") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, rolled back on any exception (Ctrl-C and SIGTERM included)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def new_run(self, scheduler: str, spec: dict[str, Any]) -> int:
        """Record the start of a (re)run and return its id."""
        with self._transaction():
            cur = self.db.execute("INSERT INTO runs (started_unix_s, scheduler, spec_json) VALUES (?, ?, ?)",
                                  (time.time(), scheduler, json.dumps(spec, sort_keys=True)))
        return int(cur.lastrowid or 0)

    def keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM points")}

    def put(self, record: dict[str, Any], run_id: int) -> bool:
        """Store one point's result; a key already stored is left as it is (False)."""
        p = record["params"]
        with self._transaction():
            self.db.execute("DELETE FROM claims WHERE key = ?", (record["key"],))
            cur = self.db.execute(
                f"INSERT OR IGNORE INTO points ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                (record["key"], p["network"], p["dataflow"], json.dumps(p, sort_keys=True), record.get("energy_pj"),
                 record.get("cycles"), record.get("area_mm2"), record.get("macs"), record.get("utilization"),
                 record.get("error"), run_id, record.get("search_seconds")))
        return cur.rowcount == 1

    def claim(self, keys: Iterable[str], run_id: int, limit: int) -> tuple[list[str], set[str]]:
        """Claim up to `limit` of `keys` that are neither stored nor claimed by a live run, for `run_id`.
        Returns (claimed keys in `keys` order, those of `keys` already stored)."""
        keys = list(keys)
        host, now = socket.gethostname(), time.time()
        with self._transaction():
            self._drop_stale_claims(host)
            stored = {k for (k,) in self.db.execute("SELECT key FROM points")}
            taken = {k for (k,) in self.db.execute("SELECT key FROM claims")}
            claimed: list[str] = []
            for k in keys:
                if len(claimed) >= limit:
                    break
                if k not in stored and k not in taken:
                    claimed.append(k)
                    taken.add(k)
            self.db.executemany("INSERT INTO claims (key, run_id, host, pid, claimed_unix_s) VALUES (?, ?, ?, ?, ?)",
                                [(k, run_id, host, os.getpid(), now) for k in claimed])
        return claimed, stored.intersection(keys)

    def _drop_stale_claims(self, host: str) -> None:
        """Forget claims of processes on this host that no longer run (killed before they could release)."""
        for pid in [pid for (pid,) in self.db.execute("SELECT DISTINCT pid FROM claims WHERE host = ?", (host,))]:
            if pid != os.getpid() and not _alive(pid):
                self.db.execute("DELETE FROM claims WHERE host = ? AND pid = ?", (host, pid))

    def release(self, run_id: int) -> None:
        """Drop the open claims of `run_id` (its points go back to whoever asks next)."""
        with self._transaction():
            self.db.execute("DELETE FROM claims WHERE run_id = ?", (run_id,))

    def claims(self) -> list[tuple[str, int]]:
        """Open claims as (key, run id)."""
        return list(self.db.execute("SELECT key, run_id FROM claims ORDER BY key"))

    def records(self, keys: list[str] | None = None) -> list[dict[str, Any]]:
        """Stored points as dicts (in `keys` order when given, else in insertion order)."""
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM points ORDER BY rowid").fetchall()
        by_key = {}
        for row in rows:
            d = dict(zip(COLUMNS, row))
            d["params"] = json.loads(d.pop("params_json"))
            by_key[d["key"]] = d
        if keys is None:
            return list(by_key.values())
        return [by_key[k] for k in keys if k in by_key]

    def count_by_run(self) -> dict[int, int]:
        """Points stored by each run."""
        return dict(self.db.execute("SELECT run_id, COUNT(*) FROM points GROUP BY run_id ORDER BY run_id"))


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
