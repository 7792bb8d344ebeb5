"""Fuzz-suite plumbing: a summary of outcomes per format (the `slow` marker is pyproject.toml's: `-m slow`)."""

from __future__ import annotations

from typing import Any

from tests.fuzz.targets import OUTCOMES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz outcomes (inputs per format)")
    for fmt in sorted(OUTCOMES):
        counts = OUTCOMES[fmt]
        total = sum(counts.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"{fmt:18s} {total:6d}: {parts}")
