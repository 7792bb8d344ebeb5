"""`codesign(...)`: prune and quantize a trainable digits model, measure held-out accuracy, model the energy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from stationary.api.result import ApiResult
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError

if TYPE_CHECKING:  # torch is imported only when a co-design sweep runs
    from stationary.codesign.sweep import Point, Report

T = TypeVar("T", int, float, str)


def parse_list(values: str | Sequence[T], kind: type[T], field: str) -> list[T]:
    """'0,0.5,0.8' (or a list) -> [0.0, 0.5, 0.8], with one clear error for anything else."""
    text = values if isinstance(values, str) else ",".join(str(v) for v in values)
    try:
        out = [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise StationaryError(f"expected comma-separated {kind.__name__}s, got {text!r}", field=field) from None
    if not out:
        raise StationaryError(f"expected at least one value, got {text!r}", field=field)
    return out


def choice(enum: type[Enum], value: str, field: str, names: tuple[str, ...] | None = None) -> Any:
    """The member of `enum` whose value is `value`, or one error listing the valid names."""
    try:
        return enum(value)
    except ValueError:
        valid = names or tuple(e.value for e in enum)
        raise StationaryError(f"unknown value {value!r}; choose one of: {', '.join(valid)}", field=field) from None


@dataclass(frozen=True)
class CodesignResult(ApiResult):
    """A co-design sweep as an API result: its `Report` (every measured point with held-out accuracy, densities,
    weights in bytes, energy in pJ and cycles; the Pareto front of accuracy up and energy down; the baseline)."""

    report: Report

    @property
    def points(self) -> tuple[Point, ...]:
        """Every measured point, in sweep order."""
        return self.report.points

    @property
    def pareto(self) -> tuple[Point, ...]:
        """The points no other point beats on both accuracy (higher) and energy (lower), by energy."""
        return tuple(self.report.points[i] for i in self.report.pareto)

    @property
    def baseline_accuracy(self) -> float:
        """Held-out accuracy of the trained float model."""
        return self.report.baseline_accuracy

    @property
    def dense_energy_pj(self) -> float:
        """Modelled energy of the dense 16-bit model on the architecture."""
        return self.report.dense_energy_pj

    def to_json(self, detail: bool = False) -> dict[str, Any]:
        """What `stationary codesign --json` prints (`detail`: with `--detail`, per-layer numbers too)."""
        return self.report.to_json(detail)

    def rows(self) -> list[dict[str, Any]]:
        """One row per measured point: its `--json` keys and whether it is on the Pareto front."""
        front = set(self.report.pareto)
        return [{**p.to_json(), "on_pareto_front": i in front} for i, p in enumerate(self.report.points)]

    def plot(self, path: str | Path) -> Path:
        """A PNG of accuracy against modelled energy, every point labelled, the Pareto front as a line."""
        from stationary.codesign.plot import plot_front

        plot_front(self.report, str(path))
        return Path(path)


def codesign(model: str, *, dataset: str = "digits", arch: str | Architecture = "eyeriss",
             prune: str | Sequence[float] = (0.0, 0.5, 0.8), bits: str | Sequence[int] = (16, 8, 4),
             method: str = "magnitude", quant: str | Sequence[str] = ("uniform",), huffman: bool = False,
             log_activations: bool = False, decompose: str | None = None, rank: int | None = None,
             distill_from: str | None = None, zero: str = "gating", seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> CodesignResult:
    """Train `model` (a trainable digits model), then for every (prune ratio, quantizer, bit width) prune,
    quantize and measure it; `decompose`+`rank` also sweeps a low-rank copy, `distill_from` trains the model as a
    student of that teacher. Lists may be given as sequences or comma-separated text (the CLI's spelling).
    Everything is checked before any training; `progress(done, total)` after each point."""
    from stationary.codesign.cost import ZeroMode
    from stationary.codesign.prune import METHODS, Method
    from stationary.codesign.sweep import Settings, check_request, parse_quant, run_codesign

    prunes = parse_list(prune, float, "--prune")
    widths = parse_list(bits, int, "--bits")
    quants = tuple(parse_quant(q) for q in parse_list(quant, str, "--quant"))
    if (decompose is None) != (rank is None):
        raise StationaryError("--decompose and --rank go together", field="--rank")
    decomposition = (decompose, rank) if decompose is not None and rank is not None else None
    settings = Settings(method=choice(Method, method, "--method", METHODS), quants=quants,
                        zero_mode=choice(ZeroMode, zero, "--zero"), seed=seed, huffman=huffman,
                        act_log=log_activations)
    architecture = check_request(model, dataset, arch, prunes, widths, settings, decomposition, distill_from)
    total = len(prunes) * len(widths) * len(quants) * (2 if decomposition else 1)
    done = 0
    if progress:
        progress(0, total)

    def on_point(_: object) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    report = run_codesign(model, dataset, architecture, prunes, widths, settings, on_point=on_point,
                          decomposition=decomposition, distill_from=distill_from)
    return CodesignResult(report)
