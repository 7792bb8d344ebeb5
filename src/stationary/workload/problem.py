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
        from stationary.workload.zoo import get_model

        model, layer = spec.split(":", 1)
        net = get_model(model, batch=batch)
        for lay in net.layers:
            if lay.name == layer:
                return lay.loop_nest()
        raise StationaryError(f"{model} has no layer {layer!r}; MAC layers: "
                              f"{', '.join(x.name for x in net.mac_layers())}", field="--problem")
    raise StationaryError(f"--problem must be a Timeloop problem YAML or MODEL:LAYER (e.g. alexnet:conv2), "
                          f"got {spec!r}", field="--problem")
