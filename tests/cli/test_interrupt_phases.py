"""Ctrl-C at each phase of a run exits 130 at once, says 'interrupted', no traceback, nothing on stdout: while the
command modules load, while the command sets up, during the search (one process, a pool, a progress bar) and as
the output starts. The SIGINT is not sent from outside at a guessed delay: the CLI runs under a wrapper that
patches one function of that phase to send SIGINT to its own process, so each test hits its phase every time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stationary import parallel
from tests.cli.procs import alive, wait_until
from tests.cli.test_exit_codes import LONG, sigint_as_in_a_terminal
from tests.clirun import ENV

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# generous for a loaded machine: an interrupted run ends in about a second, the uninterrupted search in minutes
TIMEOUT_S = 120

# argv: PHASE CLI-ARGS...; runs `python -m stationary CLI-ARGS` with SIGINT sent from inside PHASE
WRAPPER = r"""
import os, runpy, signal, sys

phase = sys.argv.pop(1)


def interrupt():
    os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode: inside the patched function


def before(owner, name, *, call=1):
    # the `call`-th call of owner.name sends SIGINT first
    original, calls = getattr(owner, name), [0]

    def patched(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            interrupt()
        return original(*args, **kwargs)
    setattr(owner, name, patched)


if phase == "import":  # while main imports the command modules
    class Hook:
        def find_spec(self, name, path=None, target=None):
            if name == "stationary.cli.mapper":
                interrupt()
            return None
    sys.meta_path.insert(0, Hook())
elif phase == "setup":  # the network is loaded, the architecture not yet
    import stationary.api.network
    before(stationary.api.network, "resolve_arch")
elif phase == "search":  # the third batch of the first layer's search
    import stationary.model.fast
    before(stationary.model.fast.FastModel, "evaluate_rows", call=3)
elif phase == "pool":  # every layer queued on the pool, its workers started
    from concurrent.futures import ProcessPoolExecutor
    original_map = ProcessPoolExecutor.map

    def map_then_interrupt(self, *args, **kwargs):
        results = original_map(self, *args, **kwargs)
        print("workers", *sorted(self._processes), file=sys.stderr, flush=True)
        interrupt()
        return results
    ProcessPoolExecutor.map = map_then_interrupt
elif phase == "output":  # as evaluate's JSON is about to be written
    import stationary.cli.mapper
    before(stationary.cli.mapper, "print_json")
elif phase == "after-output":  # stats' JSON just written (still in stdout's buffer)
    import stationary.cli.stats
    original_print = stationary.cli.stats.print_json

    def print_then_interrupt(obj):
        original_print(obj)
        interrupt()
    stationary.cli.stats.print_json = print_then_interrupt
elif phase == "twice":  # during the search, then again as the CLI starts to report the first one
    import stationary.cli
    import stationary.model.fast
    before(stationary.model.fast.FastModel, "evaluate_rows", call=3)
    before(stationary.cli.err_console, "print")
else:
    raise SystemExit(f"unknown phase {phase}")
runpy.run_module("stationary", run_name="__main__", alter_sys=True)
"""


def _run(phase: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WRAPPER, phase, *args], capture_output=True, text=True,
                          env=dict(ENV), timeout=TIMEOUT_S, preexec_fn=sigint_as_in_a_terminal, check=False)


def _assert_interrupted(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "interrupted" in done.stderr, done.stderr[-3000:]


# a search that reaches its output in seconds (the others are interrupted long before LONG ends)
SHORT = ("evaluate", "lenet5", "--budget", "100", "--jobs", "1", "--json")


@pytest.mark.parametrize(("phase", "args"), [("import", LONG), ("setup", LONG), ("search", LONG), ("output", SHORT)])
def test_ctrl_c_in_each_phase_exits_130_without_output(phase: str, args: tuple[str, ...]) -> None:
    done = _run(phase, *args)
    _assert_interrupted(done)
    assert done.stdout == ""


def test_ctrl_c_during_the_search_with_a_progress_bar() -> None:
    """Without --json the search draws a rich progress bar (a refresh thread) on stderr."""
    done = _run("search", *(a for a in LONG if a != "--json"))
    _assert_interrupted(done)
    assert done.stdout == ""


def test_a_second_ctrl_c_while_the_first_is_reported() -> None:
    done = _run("twice", *LONG)
    _assert_interrupted(done)
    assert done.stdout == ""


def test_ctrl_c_while_a_pool_works_kills_its_workers() -> None:
    if parallel.cpu_count() < 2:
        pytest.skip("needs 2 CPUs for a pool of 2")
    done = _run("pool", "evaluate", "vgg16", "--budget", "2000000", "--jobs", "2", "--json")
    _assert_interrupted(done)
    assert done.stdout == ""
    line = next(x for x in done.stderr.splitlines() if x.startswith("workers "))
    workers = [int(w) for w in line.split()[1:]]
    assert len(workers) == 2
    wait_until(lambda: not any(alive(w) for w in workers), 10, f"workers {workers} to exit")


def test_ctrl_c_after_the_output_leaves_it_whole() -> None:
    """Interrupted once the JSON is written: the status still says interrupted; stdout holds the whole document
    (it was complete before the interrupt), never a part of it."""
    done = _run("after-output", "stats", "lenet5", "--json")
    _assert_interrupted(done)
    assert done.stdout == "" or json.loads(done.stdout)["model"] == "lenet5"
