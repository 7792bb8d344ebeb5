"""A peer's run saved as JSON with when and under what load it was measured, so that stationary can be re-timed
later against the same peer result without re-running the (slow) peer. Used by bench_zigzag.py and
bench_accelforge.py (`--peer-json`, `--peer-dir`).

A record is one JSON object: {"peer": <the peer script's JSON line>, "saved": {"measured_at", "load_start",
"load_end", "command"}}. A file whose last line is the bare peer JSON (the older format) loads too, without
"saved".
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def load_avg() -> str:
    """The 1/5/15-minute load averages as `uptime` prints them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_and_save(cmd: list[str], path: Path | None, timeout_s: float | None = None) -> dict[str, Any]:
    """Run a peer script (its last stdout line is its JSON) and, if path is given, save it as a record there.
    Raises subprocess.TimeoutExpired / CalledProcessError as subprocess.run does."""
    start = load_avg()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout_s).stdout
    peer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if path is not None:
        save(path, peer, cmd, start)
    return peer


def save(path: Path, peer: dict[str, Any], cmd: list[str], load_start: str) -> None:
    """Write a record (the peer's result plus when, under what load and by which command it was measured)."""
    saved = {"measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load_start,
             "load_end": load_avg(), "command": cmd}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"peer": peer, "saved": saved}) + "\n")


def load(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(peer result, its "saved" metadata or None for a bare peer line) from a record file."""
    lines = Path(path).read_text().strip().splitlines()
    if not lines:
        raise SystemExit(f"{path}: empty peer record")
    try:
        obj = json.loads(lines[-1])
    except json.JSONDecodeError as err:
        raise SystemExit(f"{path}: not a peer record (its last line is not JSON: {err})") from None
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: not a peer record (its last line is not a JSON object)")
    if set(obj) == {"peer", "saved"}:
        return obj["peer"], obj["saved"]
    if "peer" in obj or "saved" in obj:
        raise SystemExit(f"{path}: a peer record has exactly the keys 'peer' and 'saved', got {sorted(obj)}")
    return obj, None


def describe(path: Path, saved: dict[str, Any] | None) -> str:
    """One line saying that the peer's numbers are a saved run's, and when/under what load it was measured."""
    if saved is None:
        return f"(reused a saved peer run from {path}; when it was measured is not recorded)"
    return (f"(reused a saved peer run from {path}: measured {saved['measured_at']}, load {saved['load_start']} "
            f"at start, {saved['load_end']} at end; its time is that run's)")
