"""Read a Timeloop v0.4 problem YAML (`shape` + `instance`) into a LoopNest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError
from stationary.schema import check_keys, nearest, short_repr
from stationary.workload.loopnest import Axis, LoopNest, TensorSpec
from stationary.yamlio import load_yaml, require

MAX_DIMS = 16
MAX_BOUND = 1 << 31
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]{0,63}")


def load_problem(path: str | Path) -> LoopNest:
    """Parse a Timeloop problem file (top-level `problem:` with `shape` and `instance`)."""
    file = str(path)
    data = load_yaml(path)
    return problem_from_dict(data, file)


def problem_from_dict(data: Any, file: str = "<problem>") -> LoopNest:
    """Build the loop nest from the parsed YAML of a Timeloop problem; every key checked, every number an
    integer in range, every projection coefficient positive, each dimension on at most one axis of a tensor."""
    check_keys(data, ("problem",), file, "")
    prob = require(data, "problem", file, dict)
    check_keys(prob, ("version", "shape", "instance"), file, "problem")
    shape = require(prob, "shape", file, dict, "problem")
    instance = require(prob, "instance", file, dict, "problem")
    check_keys(shape, ("name", "dimensions", "coefficients", "data_spaces", "version"), file, "problem.shape")
    raw_dims = require(shape, "dimensions", file, list, "problem.shape")
    if not all(isinstance(d, str) and _NAME.fullmatch(d) for d in raw_dims):
        raise StationaryError(f"dimension names must be identifiers, got {short_repr(raw_dims)}", file=file,
                              field="problem.shape.dimensions")
    dims = list(raw_dims)
    if not dims or len(dims) > MAX_DIMS or len(set(dims)) != len(dims):
        raise StationaryError(f"expected 1 to {MAX_DIMS} distinct dimension names, got {dims}", file=file,
                              field="problem.shape.dimensions")
    coefficients: dict[str, int] = {}
    raw_coefs = shape.get("coefficients") or []
    if not isinstance(raw_coefs, list):
        raise StationaryError("expected a list of {name, default}", file=file, field="problem.shape.coefficients")
    for i, c in enumerate(raw_coefs):
        where = f"problem.shape.coefficients[{i}]"
        check_keys(c, ("name", "default"), file, where)
        name = c.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in dims or name in coefficients:
            raise StationaryError(f"a coefficient needs a new identifier as name, got {short_repr(name)}",
                                  file=file, field=f"{where}.name")
        coefficients[name] = _int(c.get("default", 1), file, f"{where}.default", lo=1)
    bounds: dict[str, int] = {}
    for key, value in instance.items():
        if key in coefficients:
            coefficients[key] = _int(value, file, f"problem.instance.{key}", lo=1)
        elif key in dims:
            bounds[key] = _int(value, file, f"problem.instance.{key}", lo=1)
        elif key == "densities":
            if value not in (None, {}):
                raise StationaryError("densities (sparse tensors) are not modelled; remove them", file=file,
                                      field="problem.instance.densities")
        else:
            raise StationaryError(f"unknown dimension or coefficient {short_repr(key)}"
                                  f"{nearest(str(key), [*dims, *coefficients])}; dimensions: {dims}, "
                                  f"coefficients: {list(coefficients)}", file=file, field=f"problem.instance.{key}")
    bounds = {d: bounds.get(d, 1) for d in dims}
    tensors = []
    data_spaces = require(shape, "data_spaces", file, list, "problem.shape")
    if not data_spaces:  # a nest that touches no data has nothing to count (the model needs a tensor per level)
        raise StationaryError("expected at least one data space", file=file, field="problem.shape.data_spaces")
    for i, ds in enumerate(data_spaces):
        where = f"problem.shape.data_spaces[{i}]"
        check_keys(ds, ("name", "projection", "read_write"), file, where)
        name = str(require(ds, "name", file, str, where))
        axes = tuple(_axis(ax, dims, coefficients, file, f"{where}.projection[{j}]") for j, ax in
                     enumerate(require(ds, "projection", file, list, where)))
        seen: dict[str, int] = {}
        for j, axis in enumerate(axes):
            for _, d in axis:
                if d in seen:
                    raise StationaryError(
                        f"dimension {d} appears {'twice in one axis' if seen[d] == j else 'on two axes'} of "
                        f"{name}; the counts assume each dimension indexes one axis once (not supported)",
                        file=file, field=f"{where}.projection")
                seen[d] = j
        rw = ds.get("read_write", False)
        if not isinstance(rw, bool):
            raise StationaryError(f"read_write must be true or false, got {short_repr(rw)}", file=file,
                                  field=f"{where}.read_write")
        tensors.append(TensorSpec(name, axes, read_write=rw))
    shape_name = shape.get("name", "problem")
    if not isinstance(shape_name, str) or not shape_name or len(shape_name) > 200:
        raise StationaryError(f"name must be a short string, got {short_repr(shape_name)}", file=file,
                              field="problem.shape.name")
    try:
        return LoopNest(shape_name, bounds, tuple(tensors), coefficients)
    except StationaryError as exc:
        raise StationaryError(exc.message, file=file, field=exc.field) from None


def _int(value: Any, file: str, field: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= MAX_BOUND:
        raise StationaryError(f"expected an integer in [{lo}, {MAX_BOUND}], got {short_repr(value)}", file=file,
                              field=field)
    return value


def _axis(axis: Any, dims: list[str], coefficients: dict[str, int], file: str, field: str) -> Axis:
    """One projection axis: a list of terms, each [dim] or [coefficient, dim] (either order); coefficients
    (a name or a literal integer) must be positive: a negative one would give negative counts."""
    if not isinstance(axis, list) or not axis:
        raise StationaryError(f"each axis must be a non-empty list of terms, got {short_repr(axis)}", file=file,
                              field=field)
    terms = []
    for term in axis:
        items = term if isinstance(term, list) else [term]
        if len(items) == 1 and isinstance(items[0], str) and items[0] in dims:
            terms.append((1, items[0]))
            continue
        if len(items) == 2:
            a, b = items
            dim, coef = (a, b) if isinstance(a, str) and a in dims else (b, a)
            if isinstance(dim, str) and dim in dims:
                if isinstance(coef, int) and not isinstance(coef, bool):
                    if not 1 <= coef <= MAX_BOUND:
                        raise StationaryError(f"projection coefficient {coef} must be a positive integer",
                                              file=file, field=field)
                    terms.append((coef, dim))
                    continue
                if isinstance(coef, str) and coef in coefficients:
                    terms.append((coefficients[coef], dim))
                    continue
                raise StationaryError(f"unknown coefficient {short_repr(coef)}"
                                      f"{nearest(str(coef), coefficients)}; coefficients: {list(coefficients)}",
                                      file=file, field=field)
        raise StationaryError(f"term {short_repr(term)} names no known dimension ({dims})", file=file, field=field)
    return tuple(terms)
