"""Root test plumbing: the CLI runner of every test (tests/clirun.py), its in-process variant as a fixture.

A test module imports `run_cli` / `run_cli_json` (a real `python -m stationary` process on this checkout's src/),
`start_cli` (the same in the background, to signal it) or `invoke_cli` (typer's in-process CliRunner) from
`tests.clirun`; `cli_app` is invoke_cli as a fixture. Random model cases come from tests/model/random_cases.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from tests.clirun import ENV, SRC, cli_env, invoke_cli, run_cli, run_cli_json, start_cli

__all__ = ["ENV", "SRC", "cli_env", "invoke_cli", "run_cli", "run_cli_json", "start_cli"]


@pytest.fixture
def cli_app() -> Callable[..., Result]:
    """invoke_cli: the CLI in-process through typer's CliRunner."""
    return invoke_cli
