"""Exit status of the CLI as a script sees it: 0 success, 2 bad input, 130 Ctrl-C, 143 SIGTERM (nothing else);
an interrupted run never looks successful (before: Ctrl-C during `evaluate --json` exited 0, empty output)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.cli.procs import ENV, catches, start, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# long enough to be interrupted: a big search budget on VGG-16, one process
LONG = ("evaluate", "vgg16", "--budget", "2000000", "--jobs", "1", "--json")


def _interrupt(signum: int) -> subprocess.CompletedProcess:
    proc = start(*LONG)
    try:
        # the CLI is inside its command once it has installed its SIGTERM handler
        wait_until(lambda: catches(proc.pid, signal.SIGTERM), 120, "the CLI to start", proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_exits_130_without_output() -> None:
    done = _interrupt(signal.SIGINT)
    assert done.returncode == 130, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and "interrupted" in done.stderr


def test_sigterm_exits_143_without_output() -> None:
    done = _interrupt(signal.SIGTERM)
    assert done.returncode == 143, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [
    ("systolic", "--config", "/nonexistent.cfg", "--topology", "/nonexistent.csv"),  # StationaryError
    ("no-such-command",),  # usage error
    ("stats", "lenet5", "--batch", "many"),  # bad option value
])
def test_bad_input_exits_2(args: tuple[str, ...]) -> None:
    done = subprocess.run([sys.executable, "-m", "stationary", *args], capture_output=True, text=True, env=ENV,
                          timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


def test_success_exits_0() -> None:
    done = subprocess.run([sys.executable, "-m", "stationary", "stats", "lenet5", "--json"], capture_output=True,
                          text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{")


def test_closed_stdout_is_not_a_traceback() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "stationary", "stats", "resnet50"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    proc.stdout.close()  # like `| head -0`: the reader is gone before we write
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err


def test_version_is_the_package_version_and_exits_0() -> None:
    from stationary import __version__

    done = subprocess.run([sys.executable, "-m", "stationary", "--version"], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"stationary {__version__}"
