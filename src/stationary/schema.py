"""One schema layer for every spec: unknown keys refused (with the nearest known key), types strict, ranges bounded.

Every reader of user input (native and Timeloop architectures, problems, mappings, constraints, ERTs, SCALE-Sim
files, sweep specs) validates through `parse` (pydantic models derived from `Spec`) or, where a format's keys
are open-ended by design, `check_keys`. Either way a bad value becomes one `StationaryError` that names the
file, the field and what would be valid — never a silent default, a truncation or a traceback.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stationary.errors import StationaryError

MAX_INT = 1 << 40  # the largest size, bound or count a spec may state (a 2^40-word buffer is ~8 TiB)
MAX_ENERGY_PJ = 1e12  # one action costing a joule is a typo, not a design
MAX_NAME = 200  # characters in a name

PosInt = Annotated[int, Field(ge=1, le=MAX_INT)]
"""An integer >= 1 (a size, a bound, a mesh dimension); booleans and 2.5 are refused in strict mode."""
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
"""An integer >= 0."""
EnergyPJ = Annotated[float, Field(ge=0.0, le=MAX_ENERGY_PJ, allow_inf_nan=False)]
"""A finite, non-negative energy in picojoules."""
PosFloat = Annotated[float, Field(gt=0.0, le=1e18, allow_inf_nan=False)]
"""A finite number > 0 (a bandwidth, a clock)."""
NonNegFloat = Annotated[float, Field(ge=0.0, le=1e18, allow_inf_nan=False)]
"""A finite number >= 0."""
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
"""A non-empty name of bounded length."""

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 2
_short.maxlist = _short.maxdict = _short.maxtuple = _short.maxset = 4


def short_repr(value: Any) -> str:
    """A repr bounded in length and depth: safe to put in an error even for a value built by a YAML bomb."""
    return _short.repr(value)


class Spec(BaseModel):
    """Base of every spec model: unknown keys refused, no type coercion (2.5 is no int, `true` no count), frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False,
                              populate_by_name=True, hide_input_in_errors=True)


M = TypeVar("M", bound=BaseModel)


def nearest(name: str, known: Iterable[str]) -> str:
    """' (did you mean `x`?)' for the closest known name, or '' when nothing is close (case-insensitive)."""
    known = list(known)
    folded = {k.lower(): k for k in known}
    hit = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean `{folded[hit[0]]}`?)" if hit else ""


_TYPE_TAG = re.compile(r"(float|int|str|bool|none|bytes|[a-z]+-[a-z-]+(\[.*\])?|(list|dict|tuple|set|union|"
                       r"nullable|is-instance)\[.*\])")


def _field_path(where: str, loc: tuple[Any, ...]) -> str:
    """`where` plus pydantic's location, without the union-member tags pydantic puts in it (`list[...]`, `float`)."""
    path = where
    for part in loc:
        if isinstance(part, str) and (_TYPE_TAG.fullmatch(part) or part == "[key]"):
            continue  # a dict key's own error is located at the key
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names (and aliases) of the model that `loc` (the location of an unknown key) lies in."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _inner_model(info.annotation)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    names = []
    for key, info in current.model_fields.items():
        names.append(info.alias or key)
    return names


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside list[X] / X | None / dict[str, X], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def spec_error(exc: ValidationError, model: type[BaseModel], file: str, where: str = "") -> StationaryError:
    """The first error of a pydantic validation as one StationaryError naming the field and what is valid."""
    errors = exc.errors(include_url=False, include_input=True)
    # a misspelt key also makes its field "missing": name the misspelling (with the nearest key) first
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(err.get("loc", ()))
    field = _field_path(where, loc)
    if err["type"] == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(model, loc)
        listing = f"; known keys: {', '.join(sorted(known))}" if known and len(known) <= 16 else ""
        return StationaryError(f"unknown key `{key}`{nearest(key, known)}{listing}", file=file, field=field)
    message = err.get("msg", "invalid value")
    value = err.get("input")
    if err["type"] in ("model_type", "dict_type", "model_attributes_type"):
        message = "expected a mapping"
    elif err["type"] == "literal_error" and isinstance(value, str):
        options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        message = f"expected one of {', '.join(options)}{nearest(value, options)}" if options else message
    elif err["type"] == "union_tag_invalid":
        options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected_tags", "")))
        tag = str(err.get("ctx", {}).get("tag", ""))
        return StationaryError(f"unknown type {short_repr(tag)}{nearest(tag, options)}; types: "
                               f"{', '.join(options)}", file=file, field=field or None)
    if "input" in err and err["type"] not in ("missing",):
        message += f", got {short_repr(value)}"
    return StationaryError(message, file=file, field=field or None)


def parse(model: type[M], data: Any, file: str, where: str = "") -> M:
    """Validate `data` (already parsed YAML/JSON) against `model`; any problem is one StationaryError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc, model, file, where) from None


def check_keys(data: Any, known: Iterable[str], file: str, where: str, *, kind: str = "mapping") -> dict:
    """`data` as a dict whose keys are all in `known`; else one error naming the first unknown key."""
    if not isinstance(data, dict):
        raise StationaryError(f"expected a {kind}, got {short_repr(data)}", file=file, field=where or None)
    known = list(known)
    for key in data:
        if not isinstance(key, str):
            raise StationaryError(f"keys must be strings, got {short_repr(key)}", file=file, field=where or None)
        if key not in known:
            field = f"{where}.{key}" if where else key
            raise StationaryError(f"unknown key `{key}`{nearest(key, known)}", file=file, field=field)
    return data


_INT_TEXT = re.compile(r"\+?[0-9]{1,30}")  # ASCII digits only: no '1_000', no full-width digits, no '0x10'
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,3})?")


def int_text(text: str, file: str | None, field: str, *, lo: int = 1, hi: int = MAX_INT) -> int:
    """A whole number written as text (a .cfg value, a CSV cell, a command-line value) within [lo, hi]."""
    s = text.strip()
    if not _INT_TEXT.fullmatch(s):
        raise StationaryError(f"expected a whole number, got {short_repr(s)}", file=file, field=field)
    v = int(s)
    if not lo <= v <= hi:
        raise StationaryError(f"must be in {lo:,}..{hi:,}, got {v:,}" if v < 10**30 else
                              f"must be at most {hi:,}", file=file, field=field)
    return v


def number_text(text: str, file: str | None, field: str, *, lo: float = 0.0, hi: float = 1e18,
                open_low: bool = True) -> int | float:
    """A finite decimal number written as text within (lo, hi] (or [lo, hi]); an int when it is whole."""
    s = text.strip()
    if not _NUMBER_TEXT.fullmatch(s):
        raise StationaryError(f"expected a number, got {short_repr(s)}", file=file, field=field)
    v = float(s)
    if not ((v > lo) if open_low else (v >= lo)) or not v <= hi:
        raise StationaryError(f"must be in {'(' if open_low else '['}{lo:g}, {hi:g}], got {s}", file=file,
                              field=field)
    return int(v) if v.is_integer() else v
