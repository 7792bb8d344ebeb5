"""One schema layer for every spec: unknown keys refused (with the nearest known key), types strict, ranges bounded.

Every reader of user input (native and Timeloop architectures, problems, mappings, constraints, ERTs, SCALE-Sim
files, sweep specs) validates through `parse` (pydantic models derived from `Spec`) or, where a format's keys
are open-ended by design, `check_keys`. Either way a bad value becomes one `StationaryError` that names the
file, the field and what would be valid — never a silent default, a truncation or a traceback.
"""

from __future__ import annotations

import difflib
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


def _field_path(where: str, loc: tuple[Any, ...]) -> str:
    path = where
    for part in loc:
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
    if "input" in err and err["type"] not in ("missing",):
        message += f", got {short_repr(err['input'])}"
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
