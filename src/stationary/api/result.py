"""What every API result shares: frozen, JSON- and table-shaped, plottable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError


@dataclass(frozen=True)
class ApiResult:
    """Base of the API's frozen results: subclasses say how they serialize (`to_json`), what their table rows
    are (`rows`: one dict per layer, point or design, flat, with units in the keys) and how they plot."""

    def to_json(self) -> dict[str, Any]:
        """The result as the CLI's `--json` prints it."""
        raise NotImplementedError(f"{type(self).__name__} must define to_json")

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per row of the result's table (the rows of `to_pandas`)."""
        raise NotImplementedError(f"{type(self).__name__} must define rows")

    def to_pandas(self) -> Any:
        """The rows as a `pandas.DataFrame` (pandas is optional: `pip install stationary[pandas]`)."""
        try:
            import pandas as pd
        except ImportError as e:
            raise StationaryError("to_pandas needs pandas: pip install 'stationary[pandas]'") from e
        return pd.DataFrame(self.rows())

    def plot(self, path: str | Path) -> Path:
        """Write the result's figure (PNG) to `path` and return it (matplotlib: the `plot` extra)."""
        raise NotImplementedError(f"{type(self).__name__} has no plot")
