"""The dense per-layer mapping the sparse cost re-costs: the project's mapper picks the best mapping of each
layer on the architecture (no dataflow constraint, minimum energy, default search effort, seeded). The cost
code does not care where the mapping came from: it re-costs that mapping through the Model."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.search import SearchOptions, SearchResult, search
from stationary.mapping.dataflows import dataflow_constraints
from stationary.model.result import Result
from stationary.workload.layer import Layer


@lru_cache(maxsize=256)
def _dense(shape: Layer, arch: Architecture, dataflow: str) -> SearchResult:
    nest = replace(shape.loop_nest(), name="this layer")  # a shape has no name; dense_search says which layer
    return search(nest, arch, dataflow_constraints(dataflow, nest, arch), SearchOptions(objective="energy"))


def dense_search(layer: Layer, arch: Architecture, dataflow: str = "free") -> SearchResult:
    """The best dense mapping of one MAC layer on `arch` and its Result (searched once per distinct shape)."""
    if not layer.kind.does_macs:
        raise StationaryError(f"layer {layer.name} does no MACs; only conv/fc/matmul layers have a dense Result")
    try:
        return _dense(layer.shape, arch, dataflow)
    except StationaryError as exc:
        raise StationaryError(f"layer {layer.name}: {exc.message}", file=exc.file, field=exc.field) from exc


def dense_result(layer: Layer, arch: Architecture, dataflow: str = "free") -> Result:
    """The dense cost of one MAC layer on `arch` under its best mapping (searched once per distinct shape)."""
    return dense_search(layer, arch, dataflow).result
