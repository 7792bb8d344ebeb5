"""Resolve a --problem argument: a Timeloop problem YAML, or `MODEL:LAYER` from the zoo (e.g. alexnet:conv2)."""

from __future__ import annotations

from pathlib import Path

from stationary.errors import StationaryError
from stationary.workload.loopnest import LoopNest


def load_loop_nest(spec: str, batch: int = 1) -> LoopNest:
    """A loop nest from a Timeloop problem file or a zoo layer `MODEL:LAYER`."""
    if Path(spec).is_file() or spec.endswith((".yaml", ".yml")):
        from stationary.workload.importers.timeloop import load_problem

        return load_problem(spec)
    if ":" in spec:
        from stationary.workload.load import zoo_layer

        model, layer = spec.split(":", 1)
        return zoo_layer(model, layer, batch).layers[0].loop_nest()
    raise StationaryError(f"--problem must be a Timeloop problem YAML or MODEL:LAYER (e.g. alexnet:conv2), "
                          f"got {spec!r}", field="--problem")
