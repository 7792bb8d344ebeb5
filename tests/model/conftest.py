"""Model tests: the `slow` marker holds the big randomized runs (>= 20,000 cases); they run only when asked
for with `-m slow`, so the default run stays short."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long randomized runs of the model tests (run with -m slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow randomized run: select it with -m slow")
    for item in items:
        if "slow" in item.keywords and item.path.is_relative_to(config.rootpath / "tests" / "model"):
            item.add_marker(skip)
