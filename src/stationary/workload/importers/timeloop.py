"""Read a Timeloop v0.4 problem YAML (`shape` + `instance`) into a LoopNest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stationary.errors import StationaryError
from stationary.workload.loopnest import Axis, LoopNest, TensorSpec
from stationary.yamlio import load_yaml, require

MAX_DIMS = 16
MAX_BOUND = 1 << 31


def load_problem(path: str | Path) -> LoopNest:
    """Parse a Timeloop problem file (top-level `problem:` with `shape` and `instance`)."""
    file = str(path)
    data = load_yaml(path)
    return problem_from_dict(data, file)


def problem_from_dict(data: Any, file: str = "<problem>") -> LoopNest:
    """Build the loop nest from the parsed YAML of a Timeloop problem."""
    prob = require(data, "problem", file, dict)
    shape = require(prob, "shape", file, dict, "problem")
    instance = require(prob, "instance", file, dict, "problem")
    dims = [str(d) for d in require(shape, "dimensions", file, list, "problem.shape")]
    if not dims or len(dims) > MAX_DIMS or len(set(dims)) != len(dims):
        raise StationaryError(f"expected 1 to {MAX_DIMS} distinct dimension names, got {dims}", file=file,
                              field="problem.shape.dimensions")
    coefficients: dict[str, int] = {}
    for c in shape.get("coefficients") or []:
        if not isinstance(c, dict) or "name" not in c:
            raise StationaryError("each coefficient needs a name", file=file, field="problem.shape.coefficients")
        coefficients[str(c["name"])] = _int(c.get("default", 1), file, f"coefficients.{c['name']}")
    bounds: dict[str, int] = {}
    for key, value in instance.items():
        if key in coefficients:
            coefficients[key] = _int(value, file, f"problem.instance.{key}")
        elif key in dims:
            bounds[key] = _int(value, file, f"problem.instance.{key}", lo=1)
        elif key != "densities":
            raise StationaryError(f"unknown dimension or coefficient {key!r}; dimensions: {dims}", file=file,
                                  field=f"problem.instance.{key}")
    bounds = {d: bounds.get(d, 1) for d in dims}
    tensors = []
    for i, ds in enumerate(require(shape, "data_spaces", file, list, "problem.shape")):
        where = f"problem.shape.data_spaces[{i}]"
        name = str(require(ds, "name", file, str, where))
        axes = tuple(_axis(ax, dims, coefficients, file, f"{where}.projection") for ax in
                     require(ds, "projection", file, list, where))
        tensors.append(TensorSpec(name, axes, read_write=bool(ds.get("read_write", False))))
    try:
        return LoopNest(str(shape.get("name", "problem")), bounds, tuple(tensors), coefficients)
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None


def _int(value: Any, file: str, field: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= MAX_BOUND:
        raise StationaryError(f"expected an integer in [{lo}, {MAX_BOUND}], got {value!r}", file=file, field=field)
    return value


def _axis(axis: Any, dims: list[str], coefficients: dict[str, int], file: str, field: str) -> Axis:
    """One projection axis: a list of terms, each [dim] or [coefficient, dim] (either order)."""
    if not isinstance(axis, list) or not axis:
        raise StationaryError(f"each axis must be a non-empty list of terms, got {axis!r}", file=file, field=field)
    terms = []
    for term in axis:
        items = term if isinstance(term, list) else [term]
        if len(items) == 1 and str(items[0]) in dims:
            terms.append((1, str(items[0])))
            continue
        if len(items) == 2:
            a, b = items
            dim, coef = (str(a), b) if str(a) in dims else (str(b), a)
            if dim in dims:
                if isinstance(coef, int) and not isinstance(coef, bool):
                    terms.append((coef, dim))
                    continue
                if str(coef) in coefficients:
                    terms.append((coefficients[str(coef)], dim))
                    continue
                raise StationaryError(f"unknown coefficient {coef!r}", file=file, field=field)
        raise StationaryError(f"term {term!r} names no known dimension ({dims})", file=file, field=field)
    return tuple(terms)
