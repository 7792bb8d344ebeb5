"""The typed Python API a notebook user calls: one function per job, each returning a frozen result.

The CLI is a thin layer over exactly these functions (docs/api.md). Results share `ApiResult`: `.to_json()` (what
`--json` prints), `.to_pandas()` (one row per layer or point; needs the `pandas` extra) and `.plot(path)`.
"""

import importlib
import sys
import types
from typing import Any

# network jobs (api/network.py): stats, evaluate, map_layer
from stationary.api.network import (
    LayerEvaluation,
    LayerMapping,
    NetworkEvaluation,
    NetworkStats,
    NetworkTotals,
    ParetoPoint,
    evaluate,
    map_layer,
    stats,
)
from stationary.api.result import ApiResult

# studies (api/systolic.py, api/codesign.py, api/sweep.py): the systolic model, the co-design and design sweeps,
# imported on first use (`from stationary.api import sweep` works as before) so that `stationary evaluate` and
# `import stationary.api.network` do not load SQLite, the systolic model and the co-design for nothing
_STUDIES = {"CodesignResult": "codesign", "codesign": "codesign", "SweepDesign": "sweep", "SweepResult": "sweep",
            "sweep": "sweep", "sweep_spec": "sweep", "SystolicResult": "systolic", "systolic": "systolic"}


def __getattr__(name: str) -> Any:
    """A study's function or result type, its module imported the first time one is asked for."""
    if name in _STUDIES:
        value = getattr(importlib.import_module(f"stationary.api.{_STUDIES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """This package, where `stationary.api.sweep` (and .systolic, .codesign) stays the function of that name
    when its submodule is imported (which would bind the submodule there): the submodule is in sys.modules."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _STUDIES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = ["ApiResult"]
__all__ += ["stats", "evaluate", "map_layer", "NetworkStats", "NetworkEvaluation", "NetworkTotals",
            "LayerEvaluation", "LayerMapping", "ParetoPoint"]
__all__ += ["CodesignResult", "SweepDesign", "SweepResult", "SystolicResult", "codesign", "sweep", "sweep_spec",
            "systolic"]
