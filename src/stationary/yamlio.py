"""Safe YAML reading for user specs: Timeloop's `!Container`-style tags, size limits, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stationary.errors import StationaryError

MAX_SPEC_BYTES = 4 << 20  # a spec larger than 4 MiB is refused rather than parsed


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that turns any `!Tag` mapping into a dict with `_tag: "Tag"` (never constructs objects)."""


def _tagged(loader: _SpecLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        data = loader.construct_mapping(node, deep=True)
        data["_tag"] = suffix
        return data
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_SpecLoader.add_multi_constructor("!", _tagged)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file safely; missing, oversized or malformed files raise StationaryError."""
    p = Path(path)
    if not p.is_file():
        raise StationaryError("file not found", file=str(p))
    if p.stat().st_size > MAX_SPEC_BYTES:
        raise StationaryError(f"spec is larger than {MAX_SPEC_BYTES >> 20} MiB", file=str(p))
    try:
        return yaml.load(p.read_text(), Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StationaryError(f"malformed YAML{where}: {problem}", file=str(p)) from None
    except UnicodeDecodeError:
        raise StationaryError("not a text file", file=str(p)) from None


def require(data: Any, key: str, file: str, kind: type | tuple[type, ...] = object, where: str = "") -> Any:
    """data[key] with a clear error naming the file and field when it is missing or of the wrong type."""
    field = f"{where}.{key}" if where else key
    if not isinstance(data, dict) or key not in data:
        raise StationaryError("missing", file=file, field=field)
    value = data[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise StationaryError(f"expected {names}, got {type(value).__name__}", file=file, field=field)
    return value
