"""Figures written as PNG files: matplotlib imported only when a plot is asked for, one clear error if not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stationary.errors import StationaryError


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise StationaryError("plots need matplotlib: pip install 'stationary[plot]'", field="--plot") from None
    return plt


def save_png(fig: Any, path: str | Path) -> Path:
    """Write the figure and close it, returning where; an unwritable path is bad input, not a traceback."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise StationaryError(f"cannot write the plot: {exc.strerror}", file=str(path), field="--plot") from None
    finally:
        plt.close(fig)
    return Path(path)
