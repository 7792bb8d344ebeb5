"""The one way tests run the command line: `python -m stationary ARGS` as a real process on this checkout's
`src/` (run_cli, run_cli_json, start_cli), or in-process through typer's CliRunner (invoke_cli)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
CLEAN_PATH = "/usr/bin:/bin"
DEFAULT_TIMEOUT_S = 600.0


def cli_env(extra: Mapping[str, str] | None = None, *, clean: bool = False,
            pythonpath: Sequence[str | Path] = ()) -> dict[str, str]:
    """The environment of a CLI process: this checkout's src/ first on PYTHONPATH (so a worktree tests itself,
    not the editable install), then `pythonpath`; `clean` keeps only PATH (no user setting leaks in)."""
    env = {"PATH": CLEAN_PATH} if clean else dict(os.environ)
    paths = [str(SRC), *(str(p) for p in pythonpath)]
    if not clean and os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


ENV = cli_env()


def cli_command(*args: str) -> list[str]:
    """The argv of `python -m stationary ARGS` under the interpreter running the tests."""
    return [sys.executable, "-m", "stationary", *args]


def _address_space_limit(memory_gib: float) -> Callable[[], None]:
    """A preexec_fn capping the child's address space (RLIMIT_AS) at `memory_gib`: a blow-up fails, not swaps."""
    if memory_gib <= 0:
        raise ValueError(f"memory_gib must be positive, got {memory_gib}")
    limit_bytes = int(memory_gib * 2**30)

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


def run_cli(*args: str, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
            timeout_s: float = DEFAULT_TIMEOUT_S, memory_gib: float | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m stationary ARGS` to completion, stdout/stderr captured as text; `env` defaults to ENV
    (see cli_env), `memory_gib` caps the address space (Linux only; ignored elsewhere)."""
    limit = _address_space_limit(memory_gib) if memory_gib is not None and sys.platform.startswith("linux") else None
    return subprocess.run(cli_command(*args), capture_output=True, text=True, check=False, cwd=cwd,
                          env=dict(ENV if env is None else env), timeout=timeout_s, preexec_fn=limit)


def run_cli_json(*args: str, **kwargs: Any) -> Any:
    """run_cli (same keywords) that must exit 0, its stdout parsed as JSON; a failure shows the stderr's tail."""
    p = run_cli(*args, **kwargs)
    assert p.returncode == 0, p.stderr[-4000:]
    return json.loads(p.stdout)


def start_cli(*args: str, env: Mapping[str, str] | None = None, **popen_kwargs: Any) -> subprocess.Popen[str]:
    """`python -m stationary ARGS` in the background, stdout/stderr piped as text (for tests that signal it)."""
    return subprocess.Popen(cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(ENV if env is None else env), **popen_kwargs)


def invoke_cli(*args: str) -> Result:
    """The CLI in-process through typer's CliRunner (no process start; the `stationary` this interpreter
    imports, so run with PYTHONPATH=src as for every in-process test)."""
    from stationary.cli import app

    return CliRunner().invoke(app, list(args))
