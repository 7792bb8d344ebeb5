"""`stationary validate`: every published point the project is checked against, in one table.

Groups: the Eyeriss chip (JSSC 2017, totals and Table V per layer), NVDLA's primer table, the ISCA'16 RS
dataflow study (as nn_dataflow reproduces it), the survey's model table, and parity with Timeloop's and
SCALE-Sim's own outputs. Each group runs as one task (the chips: one per network or configuration); tasks run
in a small process pool. Searches are deterministic (fixed seed and budget) and each distinct layer shape is
searched once per network.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from stationary.errors import StationaryError
from stationary.mapper.search import SearchOptions
from stationary.parallel import capped_jobs, worker_pool
from stationary.validate.points import Point

# Mapper effort for validation: the fast model's numbers (the exact re-check is skipped; docs/mapper.md bounds
# the difference), 40,000 evaluations per distinct layer shape, seed 0.
VALIDATE_OPTIONS = SearchOptions(budget=40_000, seed=0)
GROUPS = ("eyeriss", "nvdla", "isca16", "survey", "timeloop", "scalesim")


def group_tasks(groups: tuple[str, ...] = GROUPS) -> list[str]:
    """Tasks (units of work for the pool) of the chosen groups, longest first."""
    from stationary.validate.eyeriss import CHIP
    from stationary.validate.nvdla import PRIMER
    from stationary.validate.parity import scalesim_cases

    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise StationaryError(f"unknown validation group(s) {', '.join(unknown)}; groups: {', '.join(GROUPS)}",
                              field="--only")
    tasks: list[str] = []
    if "eyeriss" in groups:
        tasks += [f"eyeriss:{m}" for m in reversed(tuple(CHIP))]
    if "nvdla" in groups:
        tasks += [f"nvdla:{m}" for m in PRIMER]
    if "scalesim" in groups:
        tasks += [f"scalesim:{c.name}" for c in scalesim_cases()]
    tasks += [g for g in ("isca16", "timeloop", "survey") if g in groups]
    return tasks


def _run_task(args: tuple[str, SearchOptions]) -> tuple[str, list[Point], Any, float]:
    """Run one task; returns (task, points, detail, wall seconds)."""
    task, options = args
    kind, _, arg = task.partition(":")
    start = time.perf_counter()
    if kind == "eyeriss":
        from stationary.validate.eyeriss import eyeriss_points

        points, detail = eyeriss_points(options, (arg,))
    elif kind == "nvdla":
        from stationary.validate.nvdla import nvdla_points

        points, detail = nvdla_points(options, (int(arg),))
    elif kind == "isca16":
        from stationary.validate.isca16 import isca16_points

        points, detail = isca16_points(options)
    elif kind == "survey":
        from stationary.validate.parity import survey_points

        points, detail = survey_points(), None
    elif kind == "timeloop":
        from stationary.validate.parity import timeloop_points

        points, detail = timeloop_points()
    elif kind == "scalesim":
        from stationary.validate.parity import CASES_DIR, scalesim_points

        points, detail = scalesim_points(CASES_DIR / "scalesim" / arg)
    else:
        raise StationaryError(f"unknown validation task {task!r}")
    return task, points, detail, time.perf_counter() - start


def default_validate_jobs() -> int:
    """Worker processes for validation: two where there are two cores or more."""
    return min(2, os.cpu_count() or 1)


def run_validation(options: SearchOptions = VALIDATE_OPTIONS, jobs: int | None = None,
                   groups: tuple[str, ...] = GROUPS,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every validation point with its error, the runs behind them, and how long each group took."""
    jobs = capped_jobs(jobs, default_validate_jobs())
    tasks = group_tasks(groups)
    work = [(t, options) for t in tasks]
    results: dict[str, tuple[list[Point], Any, float]] = {}
    start = time.perf_counter()
    if jobs > 1 and len(work) > 1:
        with worker_pool(jobs) as pool:
            for name, points, detail, secs in pool.map(_run_task, work):
                results[name] = (points, detail, secs)
                if progress:
                    progress(name)
    else:
        for w in work:
            name, points, detail, secs = _run_task(w)
            results[name] = (points, detail, secs)
            if progress:
                progress(name)
    order = {g: k for k, g in enumerate(GROUPS)}
    shown = sorted(tasks, key=lambda t: (order[t.partition(":")[0]], t.startswith("eyeriss:vgg"),
                                         -int(t.partition(":")[2]) if t.startswith("nvdla:") else 0, t))
    points = [p for t in shown for p in results[t][0]]
    return {"points": points, "details": {t: results[t][1] for t in shown},
            "task_seconds": {t: results[t][2] for t in shown}, "wall_seconds": time.perf_counter() - start,
            "within_goal": sum(p.within_goal for p in points), "total": len(points)}
