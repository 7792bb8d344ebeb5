"""A mapping written as nested `for` loops (outermost first), for terminals and reports."""

from __future__ import annotations

from stationary.arch.spec import Architecture
from stationary.mapping.mapping import Mapping
from stationary.workload.loopnest import LoopNest


def _trips(dim: str, factor: int, residual: int | None) -> str:
    """A loop's range; with a remainder (Timeloop 3's `D=n,r`) also the range it runs in its last global pass."""
    if residual is None:
        return f"[0, {factor})"
    return f"[0, {factor}), [0, {residual}) when every outer {dim} loop is at its last iteration"


def loop_nest_text(nest: LoopNest, arch: Architecture, mapping: Mapping) -> str:
    """The mapping as nested `for` loops, outermost first, with the level that owns each loop."""
    lines, depth = [], 0
    table = mapping.keep_table(nest, arch)  # what the model counts: the architecture's keep/bypass lists applied
    for lv, lm, keeps in zip(arch.levels, mapping.levels, table):
        order = [d for d in reversed(lm.temporal_order(nest.dims)) if lm.temporal.get(d, 1) > 1]
        kept = [t.name for t, k in zip(nest.tensors, keeps) if k]
        lines.append("  " * depth + f"[{lv.name}]" + (f" keeps {', '.join(kept)}" if kept else ""))
        for d in order:
            rng = _trips(d.lower(), lm.temporal[d], lm.temporal_residual.get(d))
            lines.append("  " * depth + f"for {d.lower()} in {rng}:")
            depth += 1
        sp = [d for d in reversed(lm.spatial_order(nest.dims)) if lm.spatial.get(d, 1) > 1]
        for d in sp:
            rng = _trips(d.lower(), lm.spatial[d], lm.spatial_residual.get(d))
            lines.append("  " * depth + f"parallel-for {d.lower()} in {rng}:")
            depth += 1
    lines.append("  " * depth + "MAC")
    return "\n".join(lines)
