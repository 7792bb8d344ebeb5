"""The one process pool every parallel command uses: workers that die with their parent, never more of them
than CPUs, and nothing left running when the parent is interrupted, terminated or killed.

- Each worker asks the kernel for SIGKILL when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`); elsewhere,
  or if that call fails, a watchdog thread in the worker exits once the parent is gone. So `kill -9` of the
  main process leaves no orphans.
- Workers ignore SIGINT: Ctrl-C reaches the whole process group, and only the parent decides what happens
  (it kills the workers, then exits 130); no traceback from every worker.
- When the pool's `with` block ends by an exception (KeyboardInterrupt, SIGTERM, an error), the workers are
  killed at once instead of being waited for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from stationary.errors import StationaryError

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCHDOG_PERIOD_S = 0.5  # how often a worker without PR_SET_PDEATHSIG checks that its parent is alive


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def capped_jobs(jobs: int | None, default: int) -> int:
    """Worker processes to start: `jobs` (or `default` when None), at least 1 and at most the CPU count; an
    explicit request above the CPU count is lowered with a warning (more workers than CPUs only add memory)."""
    cpus = cpu_count()
    if jobs is None:
        return max(1, min(default, cpus))
    if jobs < 1:
        from stationary.errors import StationaryError

        raise StationaryError(f"must be at least 1, got {jobs}", field="--jobs")
    if jobs > cpus:
        warnings.warn(f"--jobs {jobs} lowered to {cpus}, the number of CPUs this process may use",
                      stacklevel=2)
        return cpus
    return jobs


def _die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    return True


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker as soon as the parent is gone (re-parented: getppid changes)."""
    while os.getppid() == parent_pid:
        time.sleep(WATCHDOG_PERIOD_S)
    os._exit(1)


def _worker_init(parent_pid: int) -> None:
    """Runs first in every worker: ignore Ctrl-C, default SIGTERM, die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL every worker of `pool` now and shut it down without waiting for queued work."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.kill()
        except (OSError, ValueError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.join(timeout=5)
        except (OSError, ValueError, AssertionError, AttributeError):
            pass


@contextmanager
def worker_pool(jobs: int) -> Iterator[ProcessPoolExecutor]:
    """A ProcessPoolExecutor of `jobs` workers (callers cap it with `capped_jobs`) whose workers die with this
    process; on an exception leaving the block they are killed instead of awaited."""
    pool = ProcessPoolExecutor(jobs, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        yield pool
    except BrokenProcessPool:
        kill_workers(pool)
        raise StationaryError("a worker process died abruptly (the system killed it, most often for lack of memory); "
                              "run with --jobs 1 to see where") from None
    except BaseException:
        kill_workers(pool)
        raise
    pool.shutdown(wait=True)
