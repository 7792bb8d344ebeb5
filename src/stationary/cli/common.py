"""Helpers shared by commands: printing JSON, parsing shapes, loading a network from MODEL."""

from __future__ import annotations

import json
import sys
from typing import Any

from stationary.errors import StationaryError


def print_json(obj: Any) -> None:
    """One JSON object on stdout (integers stay integers)."""
    sys.stdout.write(json.dumps(obj, indent=1) + "\n")


def parse_shape(text: str | None, field: str = "--input-shape") -> tuple[int, ...] | None:
    """'1,3,224,224' -> (1, 3, 224, 224), with a clear error for anything else."""
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise StationaryError(f"expected comma-separated integers like 1,3,224,224, got {text!r}",
                              field=field) from None
    if not shape or any(v < 1 for v in shape):
        raise StationaryError(f"every size must be a positive integer, got {text!r}", field=field)
    return shape
