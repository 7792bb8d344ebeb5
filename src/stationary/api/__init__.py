"""The typed Python API a notebook user calls: one function per job, each returning a frozen result.

The CLI is a thin layer over exactly these functions (docs/api.md). Results share `ApiResult`: `.to_json()` (what
`--json` prints), `.to_pandas()` (one row per layer or point; needs the `pandas` extra) and `.plot(path)`.
"""

from stationary.api.result import ApiResult

# isort: split
# studies (apistudies): the systolic model, the co-design sweep and the design-space sweep
from stationary.api.codesign import CodesignResult, codesign
from stationary.api.sweep import SweepDesign, SweepResult, sweep, sweep_spec
from stationary.api.systolic import SystolicResult, systolic

__all__ = ["ApiResult"]
__all__ += ["CodesignResult", "SweepDesign", "SweepResult", "SystolicResult", "codesign", "sweep", "sweep_spec",
            "systolic"]
