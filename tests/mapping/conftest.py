"""The `slow` marker for this folder's big hypothesis runs: skipped unless STATIONARY_SLOW=1."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a long run (set STATIONARY_SLOW=1 to run it)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("STATIONARY_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set STATIONARY_SLOW=1")
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(os.path.dirname(__file__)):
            item.add_marker(skip)
