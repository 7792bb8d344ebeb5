"""Helpers shared by commands: printing JSON, parsing shapes, loading a network from MODEL."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement

from stationary.api.network import check_input_shape, map_plans
from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.network import LayerPlan
from stationary.mapper.search import SearchOptions
from stationary.workload.network import Network


def print_json(obj: Any) -> None:
    """One strict JSON object on stdout (integers stay integers; a number that is not finite, such as an
    unbounded gap, is null: `Infinity` is not JSON and strict parsers refuse it); indented unless it is large
    (Python's indenting encoder is ~10x slower than the compact one: 100,000 systolic layers took 14 s)."""
    try:
        text = json.dumps(obj, allow_nan=False)
    except ValueError:
        obj = _finite(obj)
        text = json.dumps(obj, allow_nan=False)
    sys.stdout.write((text if len(text) > 1_000_000 else json.dumps(obj, indent=1)) + "\n")


def _finite(obj: Any) -> Any:
    """`obj` with every float that is not finite replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class WideConsole(Console):
    """A console that widens itself to fit each renderable it prints, so a table never cuts a number
    ("56,446,435,8…") however narrow the terminal or when stdout is a pipe (rich's default there: 80 columns)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        need = max((Measurement.get(self, self.options.update_width(10**6), o).maximum for o in objects
                    if not isinstance(o, str) and _is_renderable(o)), default=0)
        if need > self.width:
            self.width = need
        super().print(*objects, **kwargs)


def _is_renderable(obj: object) -> bool:
    return hasattr(obj, "__rich_console__") or hasattr(obj, "__rich_measure__") or hasattr(obj, "__rich__")


def out_console(stderr: bool = False) -> Console:
    """The console every command prints its tables on (stdout; stderr for side notes): see WideConsole."""
    return WideConsole(stderr=stderr, width=None)


def parse_shape(text: str | None, field: str = "--input-shape") -> tuple[int, ...] | None:
    """'1,3,224,224' -> (1, 3, 224, 224), with a clear error for anything else."""
    if text is None:
        return None
    try:  # every item an integer: '1,x' or '1,,2' is a typo, not a shape of one or two sizes
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise StationaryError(f"expected comma-separated integers like 1,3,224,224, got {text!r}",
                              field=field) from None
    return check_input_shape(shape, field)


# Options that several commands share, declared once so their help and defaults cannot drift apart.
ArchOption = Annotated[str, typer.Option(help="preset name or arch YAML")]
DataflowOption = Annotated[str, typer.Option(help="ws, os, os_a, os_b, os_c, is, nlr, rs or free")]
ObjectiveOption = Annotated[str, typer.Option(help="energy, cycles or edp")]
ModelArgument = Annotated[str, typer.Argument(
    help="zoo name (e.g. resnet50), ZOO:LAYER (alexnet:conv2), path to an .onnx file, or path/to/file.py:factory")]
InputShapeOption = Annotated[str | None, typer.Option(help="input shape, e.g. 1,3,224,224 (imported models)")]
BatchOption = Annotated[int, typer.Option(help="batch size")]
SeedOption = Annotated[int, typer.Option(help="random seed")]
BudgetOption = Annotated[int, typer.Option(help="fast-model evaluations per distinct layer shape")]
JobsOption = Annotated[int | None, typer.Option(help="worker processes (default: one per core, at most 8)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON object")]
UpdateEnergyOption = Annotated[str, typer.Option(
    help="price a read-modify-write update at the ERT's `update` energy (the Timeloop of the exercises) or "
         "its `write` energy (Timeloop 3.0.3); the counts are the same")]


def map_with_progress(net: Network, arch: Architecture, dataflow: str, options: SearchOptions,
                      jobs: int | None, quiet: bool) -> list[LayerPlan]:
    """The mapper's best mapping per layer, with a progress bar on stderr unless `quiet` (api's map_plans)."""
    return map_plans(net, arch, dataflow, options, jobs, progress=not quiet)
