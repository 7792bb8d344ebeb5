"""The typed Python API a notebook user calls: one function per job, each returning a frozen result.

The CLI is a thin layer over exactly these functions (docs/api.md). Results share `ApiResult`: `.to_json()` (what
`--json` prints), `.to_pandas()` (one row per layer or point; needs the `pandas` extra) and `.plot(path)`.
"""

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

# isort: split
# studies (api/systolic.py, api/codesign.py, api/sweep.py): the systolic model, the co-design and design sweeps
from stationary.api.codesign import CodesignResult, codesign
from stationary.api.sweep import SweepDesign, SweepResult, sweep, sweep_spec
from stationary.api.systolic import SystolicResult, systolic

__all__ = ["ApiResult"]
__all__ += ["stats", "evaluate", "map_layer", "NetworkStats", "NetworkEvaluation", "NetworkTotals",
            "LayerEvaluation", "LayerMapping", "ParetoPoint"]
__all__ += ["CodesignResult", "SweepDesign", "SweepResult", "SystolicResult", "codesign", "sweep", "sweep_spec",
            "systolic"]
