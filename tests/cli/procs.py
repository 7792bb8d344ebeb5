"""Helpers for tests that run the CLI as a real process and signal it (Linux /proc); the process and its
environment are tests/clirun.py's."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def catches(pid: int, signum: int) -> bool:
    """Whether the process has installed a handler for `signum` (SigCgt in /proc/PID/status)."""
    mask = _status(pid).get("SigCgt")
    return mask is not None and bool(int(mask, 16) >> (signum - 1) & 1)


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    state = _status(pid).get("State", "")
    return bool(state) and not state.startswith(("Z", "X"))


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid`."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _status(int(entry.name)).get("PPid", "").strip() == str(pid):
            kids.append(int(entry.name))
    return kids


def wait_until(cond, timeout_s: float, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll `cond()` until true; fail with `what` (and the process's stderr if it ended) after `timeout_s`."""
    end = time.monotonic() + timeout_s
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended ({proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
