"""The survey's dataflows (Sze et al. 2017, Sec. V) as mapping constraints, not code.

A dataflow says which tensor stays in the PE's local storage and which dimensions are spread over the PE
array; the mapper then finds the best mapping that obeys it. The PE array is the fan-out of the innermost
level with a spatial fan-out (the "array level"); the levels below it are the PE's local storage.

* ws   weight stationary: PEs keep only Weights; the array spreads weight dims (C, M, R, S).
* os   output stationary: PEs keep only Outputs; the array spreads output dims (N, M, P, Q).
       os_a: output pixels of one channel (P, Q); os_b: pixels on X and channels (M) on Y;
       os_c: output channels only (M).
* is   input stationary: PEs keep only Inputs; the array spreads input dims (N, C, P, Q).
* nlr  no local reuse: PEs keep nothing and loop nothing; the array spreads C and M.
* rs   row stationary (Eyeriss): a PE set of filter rows (all of R, on Y) x output rows (P, on X), folded
       and replicated with C, M on Y and N on X; each PE runs a 1-D row convolution (all of S inside).
* free unconstrained (only the architecture's own keep/bypass rules).
"""

from __future__ import annotations

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.constraints import Constraint
from stationary.workload.loopnest import LoopNest

DATAFLOWS = {
    "ws": "weight stationary", "os": "output stationary", "os_a": "output stationary A (pixels)",
    "os_b": "output stationary B (pixels x channels)", "os_c": "output stationary C (channels)",
    "is": "input stationary", "nlr": "no local reuse", "rs": "row stationary", "free": "unconstrained",
}
ALIASES = {"unconstrained": "free", "none": "free", "weight_stationary": "ws", "output_stationary": "os",
           "input_stationary": "is", "row_stationary": "rs", "no_local_reuse": "nlr"}


def array_level(arch: Architecture) -> int:
    """Index of the innermost level with a spatial fan-out (the level that feeds the PE array)."""
    for i in range(len(arch.levels) - 1, -1, -1):
        fx, fy = arch.fanout(i)
        if fx * fy > 1:
            return i
    raise StationaryError(f"architecture {arch.name} has no spatial fan-out, so it has no PE array for a "
                          f"dataflow; use --dataflow free")


def dataflow_constraints(name: str, nest: LoopNest, arch: Architecture) -> list[Constraint]:
    """The constraints that make `name` a dataflow on this architecture."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in DATAFLOWS:
        raise StationaryError(f"unknown dataflow {name!r}; dataflows: {', '.join(DATAFLOWS)}", field="--dataflow")
    if key == "free":
        return []
    src = f"dataflow {key}"
    a = array_level(arch)
    top = arch.levels[a].name
    pe = [i for i in range(a + 1, len(arch.levels)) if not arch.levels[i].virtual]
    dims = set(nest.dims)
    names = [t.name for t in nest.tensors]

    def only(*ds: str) -> tuple[str, ...]:
        return tuple(d for d in ds if d in dims)

    def spatial(x: tuple[str, ...], y: tuple[str, ...] | None = None, factors: tuple = ()) -> Constraint:
        """Only the dims in x (and y) may be spatial: every other dim's spatial factor is fixed to 1. Without
        y the listed dims may use either mesh axis; with y, x go on X and y on Y (a permutation and split)."""
        listed = set(x) | set(y or ())
        ones = tuple((d, 1) for d in nest.dims if d not in listed)
        if y is None:
            return Constraint(top, "spatial", factors + ones, source=src)
        return Constraint(top, "spatial", factors + ones, only(*x) + only(*y), len(only(*x)), source=src)

    def pe_keep(kept: set[str]) -> list[Constraint]:
        out = []
        for i in pe:
            lv = arch.levels[i]
            allowed = {n for n in names if (lv.keep_only is None or n in lv.keep_only) and n not in lv.bypass_always}
            out.append(Constraint(lv.name, "dataspace", keep=frozenset(kept & allowed),
                                  bypass=frozenset(set(names) - kept), source=src))
        return out

    weights, inputs, outputs = (n for n in ("Weights", "Inputs", "Outputs"))
    if key == "ws":
        return [spatial(("C", "M", "R", "S")), *pe_keep({weights})]
    if key == "os":
        return [spatial(("N", "M", "P", "Q")), *pe_keep({outputs})]
    if key == "os_a":
        return [spatial(("P", "Q")), *pe_keep({outputs})]
    if key == "os_b":
        return [spatial(("P", "Q"), ("M",)), *pe_keep({outputs})]
    if key == "os_c":
        return [spatial(("M",)), *pe_keep({outputs})]
    if key == "is":
        return [spatial(("N", "C", "P", "Q")), *pe_keep({inputs})]
    if key == "nlr":
        ones = tuple((d, 1) for d in nest.dims)
        return [spatial(("C", "M")), *pe_keep(set()),
                *(Constraint(arch.levels[i].name, "temporal", ones, source=src) for i in pe)]
    # rs: filter rows x output rows; S (the row) inside the PE
    out = [spatial(("P", "N"), ("R", "C", "M"), (("R", 0),) if "R" in dims else ()), *pe_keep(set(names))]
    no_rows = tuple((d, 1) for d in ("P", "R") if d in dims)
    for j, i in enumerate(pe):
        factors = no_rows + ((("S", 0),) if j == len(pe) - 1 and "S" in dims else ())
        out.append(Constraint(arch.levels[i].name, "temporal", factors, source=src))
    return out
