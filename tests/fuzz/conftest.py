"""Fuzz-suite plumbing: the `slow` marker (the >= 10,000-input run) and a summary of outcomes per format."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.targets import OUTCOMES


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "slow: long runs (the fuzz suite's >= 10,000 inputs); select with -m slow")


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """The slow fuzz run only when asked for (`-m slow`): the default suite stays a few hundred inputs."""
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="the >= 10,000-input fuzz run: select it with -m slow")
    for item in items:
        if "slow" in item.keywords and "tests/fuzz/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz outcomes (inputs per format)")
    for fmt in sorted(OUTCOMES):
        counts = OUTCOMES[fmt]
        total = sum(counts.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        terminalreporter.write_line(f"{fmt:18s} {total:6d}: {parts}")
