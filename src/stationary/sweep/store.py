"""Sweep results in SQLite (stdlib sqlite3): one row per point key, written as each point completes, so a
sweep that is stopped keeps what it finished and a restart computes only what is missing."""

from __future__ import annotations

import json
import sqlite3
import time
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
"""
COLUMNS = ("key", "network", "dataflow", "params_json", "energy_pj", "cycles", "area_mm2", "macs", "utilization",
           "error", "run_id", "search_seconds")


class ResultStore:
    """A sweep's results table; `path` ':memory:' keeps it in memory (no resume)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0)
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StationaryError(f"not a sweep results database ({exc})", file=self.path, field="--out") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_run(self, scheduler: str, spec: dict[str, Any]) -> int:
        """Record the start of a (re)run and return its id."""
        with self.db:
            cur = self.db.execute("INSERT INTO runs (started_unix_s, scheduler, spec_json) VALUES (?, ?, ?)",
                                  (time.time(), scheduler, json.dumps(spec, sort_keys=True)))
        return int(cur.lastrowid or 0)

    def keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM points")}

    def put(self, record: dict[str, Any], run_id: int) -> bool:
        """Store one point's result; a key already stored is left as it is (False)."""
        p = record["params"]
        with self.db:
            cur = self.db.execute(
                f"INSERT OR IGNORE INTO points ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                (record["key"], p["network"], p["dataflow"], json.dumps(p, sort_keys=True), record.get("energy_pj"),
                 record.get("cycles"), record.get("area_mm2"), record.get("macs"), record.get("utilization"),
                 record.get("error"), run_id, record.get("search_seconds")))
        return cur.rowcount == 1

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
