"""What the fuzz suite feeds: per spec format, a valid seed and the pipeline that reads it (and, where the
spec is complete, models a small layer with it and checks the model's invariants).

Every pipeline returns the outcome's name; an input may end only as a loaded object (then checked) or as
the project's own StationaryError. Anything else is a finding: the harness records it with its root cause.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stationary.arch.ert import EnergyTable
from stationary.arch.load import PRESET_DIR, load_arch, preset_names
from stationary.arch.spec import Architecture
from stationary.arch.timeloop import load_timeloop_arch
from stationary.errors import StationaryError
from stationary.mapping.constraints import load_constraints
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.model.evaluate import evaluate
from stationary.model.result import Result
from stationary.neardata.heuristic import candidates
from stationary.sweep.params import varied_arch
from stationary.sweep.spec import SweepSpec, load_sweep_spec, parse_vary
from stationary.systolic import read_config, read_topology
from stationary.systolic.config import SystolicConfig
from stationary.systolic.model import simulate_layer
from stationary.systolic.topology import SystolicProblem
from stationary.workload.importers.timeloop import load_problem
from stationary.workload.layer import conv2d
from stationary.workload.loopnest import LoopNest, TensorSpec

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases"
TIMELOOP = CASES / "timeloop"
TIMELOOP_CASES = ("1", "3b", "4b_bypass", "5a", "7_eyeriss")
SCALESIM_CFG = CASES / "scalesim" / "alexnet_a32_ws_CALC" / "a32_ws_CALC.cfg"
SCALESIM_TOPOLOGY = CASES / "scalesim" / "alexnet_a32_ws_CALC" / "alexnet.csv"
SEEDS = Path(__file__).with_name("seeds")

OUTCOMES: dict[str, Counter] = defaultdict(Counter)  # format -> outcome -> count (printed by conftest)
WATCHDOG_SECONDS = 30  # an input not answered in this long is a hang (real ones answer in well under 1 s)
MAX_MODEL_INSTANCES = 4096  # the model runs on loaded specs up to this many MACs / levels' instances
TINY = conv2d("tiny", 2, 4, 6, 3).loop_nest()  # 1,152 MACs: every preset maps it in milliseconds


class Finding(Exception):
    """An outcome that is neither a valid result nor a StationaryError (an invariant broken)."""


def check_result(res: Result, nest: LoopNest, what: str, arch: Architecture | None = None) -> None:
    """The model's invariants on one result; a break is a Finding naming it. Compulsory traffic is checked for
    tensors the outermost level stores uncompressed (a compressed format moves fewer words by design)."""
    macs = math.prod(nest.bounds.values())
    problems = []
    if res.macs != macs:
        problems.append(f"macs {res.macs} != product of bounds {macs}")
    energies = [res.energy_pj, res.compute_energy_pj] + [e for lv in res.levels
                                                         for e in (lv.dynamic_energy_pj, lv.leak_energy_pj)]
    if not all(isinstance(e, float | int) and math.isfinite(e) and e >= 0 for e in energies):
        problems.append(f"an energy is not finite and >= 0: {energies}")
    if not 0 < res.utilization <= 1:
        problems.append(f"utilization {res.utilization} not in (0, 1]")
    if res.cycles * res.mac_instances < res.macs:
        problems.append(f"cycles {res.cycles} x {res.mac_instances} MACs < {res.macs} MACs")
    top = res.levels[0]
    for t in nest.tensors:  # every distinct word comes from the outermost level at least once
        counts = top.tensors.get(t.name)
        need = distinct_words(t, nest.bounds)
        if counts is None or not counts.kept:
            problems.append(f"{t.name} not kept at the outermost level {top.name}")
        elif compressed(arch, top.name, t.name):
            continue
        elif need is not None and (counts.updates if t.read_write else counts.reads) < need:
            problems.append(f"{top.name} delivers fewer {t.name} words than the {need} distinct ones")
    if problems:
        raise Finding(f"{what}: " + "; ".join(problems))


def compressed(arch: Architecture | None, level: str, tensor: str) -> bool:
    """True when the architecture stores `tensor` at `level` in a compressed format (model/sparsity.py)."""
    return bool(arch and arch.sparsity and arch.sparsity.format_at(level, tensor).format != "uncompressed")


def distinct_words(t: TensorSpec, bounds: dict[str, int], limit: int = 200_000) -> int | None:
    """Brute force: the distinct index tuples `t` touches over the loop box (None when the box is too big)."""
    dims = sorted(t.dims)
    if math.prod(bounds.get(d, 1) for d in dims) > limit:
        return None
    seen = set()
    for point in itertools.product(*(range(bounds.get(d, 1)) for d in dims)):
        at = dict(zip(dims, point))
        seen.add(tuple(sum(c * at[d] for c, d in axis) for axis in t.axes))
    return len(seen)


def small(arch: Architecture) -> bool:
    return max([arch.compute.instances, *(lv.instances for lv in arch.levels)]) <= MAX_MODEL_INSTANCES


def model_native(arch: Architecture, what: str) -> str:
    """The first heuristic mapping of the tiny layer, evaluated exactly and checked (when the arch is small)."""
    if not small(arch):
        return "loaded"
    mapping = candidates(TINY, arch)[0]
    check_result(evaluate(TINY, arch, mapping), TINY, what, arch)
    return "modelled"


# ----- pipelines: (directory with the mutated file written in) -> outcome -------------------------------

def native_arch(path: Path) -> str:
    return model_native(load_arch(path), "native arch")


def timeloop_pipeline(case: str, replaced: str) -> Callable[[Path], str]:
    """Problem, ERT, arch, mapping of a Timeloop case, one of them replaced by the mutated file."""
    def run(path: Path) -> str:
        files = {name: TIMELOOP / case / f"{name}.yaml" for name in ("problem", "ert", "arch", "mapping")}
        files[replaced] = path
        nest = load_problem(files["problem"])
        ert = EnergyTable.load(files["ert"])
        arch = load_timeloop_arch(files["arch"], ert)
        mapping = load_timeloop_mapping(files["mapping"], nest, arch)
        if not small(arch) or math.prod(nest.bounds.values()) > 10**7:
            return "loaded"
        check_result(evaluate(nest, arch, mapping), nest, f"timeloop {case}")
        return "modelled"
    return run


def constraints(path: Path) -> str:
    load_constraints(path)
    return "loaded"


def scalesim_cfg(path: Path) -> str:
    cfg = read_config(path)
    if cfg.array_rows * cfg.array_cols > MAX_MODEL_INSTANCES:
        return "loaded"
    check_systolic(SystolicProblem("tiny", 8, 8, 3, 3, 4, 6), cfg)
    return "modelled"


def scalesim_topology(path: Path) -> str:
    problems = read_topology(path)
    cfg = SystolicConfig(array_rows=8, array_cols=8, ifmap_sram_kb=8, filter_sram_kb=8, ofmap_sram_kb=8)
    runnable = [p for p in problems if p.macs <= 2_000_000 and p.ofmap_px * p.window <= 2_000_000]
    for p in runnable[:2]:
        check_systolic(p, cfg)
    return "modelled" if runnable else "loaded"


def check_systolic(p: SystolicProblem, cfg: SystolicConfig) -> None:
    r = simulate_layer(p, cfg, dram="estimate")
    pes = cfg.array_rows * cfg.array_cols
    problems = []
    if r.macs != p.macs:
        problems.append(f"macs {r.macs} != {p.macs}")
    if r.total_cycles * pes < r.macs:
        problems.append(f"cycles {r.total_cycles} x {pes} PEs < {r.macs} MACs")
    if not 0 < r.overall_util_pct <= 100 or not 0 < r.compute_util_pct <= 100:
        problems.append(f"utilization {r.overall_util_pct}% / {r.compute_util_pct}% not in (0, 100]")
    if not all(math.isfinite(e) and e >= 0 for e in (r.energy_total_pj, r.energy_mac_pj)):
        problems.append("energy not finite and >= 0")
    if problems:
        raise Finding(f"systolic {cfg.array_rows}x{cfg.array_cols} {cfg.dataflow} on {p}: " + "; ".join(problems))


def sweep_spec(path: Path) -> str:
    spec = load_sweep_spec(path)
    return sweep_points(spec)


def sweep_points(spec: SweepSpec) -> str:
    points = spec.points()
    first = points[0]
    varied = {k: v for k, v in first.params.items() if k not in ("network", "dataflow")}
    return model_native(varied_arch(first.arch_data, varied, first.arch_file), "varied arch")


def vary_items(items: list[str]) -> str:
    return sweep_points(SweepSpec("eyeriss", ("lenet5",), ("rs",), parse_vary(items)))


# ----- seeds ------------------------------------------------------------------------------------------

def yaml_seeds() -> dict[str, list[tuple[Path, Callable[[Path], str]]]]:
    """Per YAML format: the valid files its mutations start from, each with the pipeline that reads it."""
    out: dict[str, list[tuple[Path, Callable[[Path], str]]]] = {
        "native_arch": [(PRESET_DIR / f"{n}.yaml", native_arch) for n in preset_names()],
        "sweep_spec": [(SEEDS / "sweep.yaml", sweep_spec)],
        "constraints": [(SEEDS / "constraints.yaml", constraints)],
    }
    for kind in ("arch", "problem", "mapping", "ert"):
        out[f"timeloop_{kind}"] = [(TIMELOOP / c / f"{kind}.yaml", timeloop_pipeline(c, kind)) for c in TIMELOOP_CASES]
    return out


def run_pipeline(fmt: str, pipeline: Callable[[Path], str], path: Path, findings: dict[str, str]) -> None:
    """Run one input; record its outcome, and a finding (root cause -> a short reproducer) when it is neither
    a valid result nor a StationaryError."""
    try:
        with watchdog(WATCHDOG_SECONDS):
            outcome = pipeline(path)
    except Hang:
        outcome = "hang"
        findings.setdefault(f"no answer within {WATCHDOG_SECONDS} s", _sample(path))
    except StationaryError as exc:
        outcome = "StationaryError"
        if not str(exc).strip():
            findings.setdefault("StationaryError with an empty message", path.read_text()[:300])
    except Finding as exc:
        outcome = "invariant broken"
        findings.setdefault(f"invariant: {str(exc)[:160]}", _sample(path))
    except Exception as exc:  # noqa: BLE001 - the point of a fuzz harness: anything else is a finding
        outcome = f"traceback {type(exc).__name__}"
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{'/'.join(Path(frame.filename).parts[-3:])}:{frame.lineno}"
        findings.setdefault(f"{type(exc).__name__} at {where}: {str(exc)[:100]}", _sample(path))
    OUTCOMES[fmt][outcome] += 1


class Hang(BaseException):
    """Raised by the watchdog into a pipeline that has not answered in time (not an Exception: nothing in
    the code under test may swallow it)."""


@contextlib.contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """Interrupt the body after `seconds` (SIGALRM; main thread on POSIX, else no watchdog)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _sample(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[:400]
    except OSError:
        return "<unreadable>"


def describe(findings: dict[str, str]) -> str:
    return "\n".join(f"- {cause}\n    input: {sample!r}" for cause, sample in findings.items())


