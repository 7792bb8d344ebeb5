"""An independent check of one mapping against the architecture and every constraint directive.

Written from the directives themselves (Timeloop v0.4's meaning of each), not from the map space's merged
rules or arrays, so a bug in the search cannot hide in both. The mapper runs it on every mapping it returns.
"""

from __future__ import annotations

import math

from stationary.arch.spec import Architecture
from stationary.mapping.constraints import Constraint, arch_constraints
from stationary.mapping.mapping import Mapping
from stationary.workload.loopnest import LoopNest


def violations(mapping: Mapping, arch: Architecture, nest: LoopNest,
               constraints: list[Constraint] | tuple[Constraint, ...] = ()) -> list[str]:
    """Every way `mapping` breaks the architecture (factors, fan-outs, keeps) or a constraint; [] when valid.
    The architecture's own constraints (inline in a Timeloop arch, keep/bypass lists) are always included."""
    out: list[str] = []
    dims = nest.dims
    names = [t.name for t in nest.tensors]
    if len(mapping.levels) != len(arch.levels):
        return [f"mapping has {len(mapping.levels)} levels, the architecture {len(arch.levels)}"]
    levels = list(zip(arch.levels, mapping.levels))
    for d in dims:
        out += _coverage(d, nest.bounds[d], levels)
    for i, (lv, lm) in enumerate(levels):
        for kind, factors in (("temporal", lm.temporal), ("spatial", lm.spatial)):
            for d, f in factors.items():
                if d not in nest.bounds or not isinstance(f, int) or f < 1:
                    out.append(f"{lv.name}: bad {kind} factor {d}={f!r}")
        if lv.virtual and any(f > 1 for f in lm.temporal.values()):
            out.append(f"{lv.name}: a spatial container takes no temporal loops, has {lm.temporal}")
        child = arch.levels[i + 1] if i + 1 < len(arch.levels) else arch.compute
        fan_x, fan_y = child.mesh_x // lv.mesh_x, child.mesh_y // lv.mesh_y
        axis = lm.spatial_axis(dims)
        used_x = math.prod(f for d, f in lm.spatial.items() if axis.get(d) == "X")
        used_y = math.prod(f for d, f in lm.spatial.items() if axis.get(d) == "Y")
        if used_x > fan_x or used_y > fan_y:
            out.append(f"{lv.name}: spatial factors use {used_x}x{used_y} of a {fan_x}x{fan_y} fan-out")
        kept = {t for t in names if lm.keeps(t, lv.virtual)}
        if lv.virtual and kept:
            out.append(f"{lv.name}: a spatial container keeps {sorted(kept)}")
        for t in sorted(lv.keep_always & set(names) - kept):
            out.append(f"{lv.name}: the architecture keeps {t} here, the mapping bypasses it")
        for t in sorted(lv.bypass_always & kept):
            out.append(f"{lv.name}: the architecture bypasses {t} here, the mapping keeps it")
        if lv.keep_only is not None:
            for t in sorted(kept - lv.keep_only):
                out.append(f"{lv.name}: the architecture keeps only {sorted(lv.keep_only)}, the mapping keeps {t}")
    top = next((i for i, lv in enumerate(arch.levels) if not lv.virtual), 0)
    for t in names:
        if not mapping.levels[top].keeps(t):
            out.append(f"{arch.levels[top].name} (the outermost level) bypasses {t}: data from nowhere")
    return out + directive_violations(mapping, arch, nest, [*arch_constraints(arch), *constraints])


def _coverage(d: str, bound: int, levels: list) -> list[str]:
    """Whether the loops on `d` visit exactly 0..bound-1. Perfect factors: their product is the bound. With
    Timeloop 3 remainders (factor n, residual r: r iterations when every enclosing loop of `d` is at its final
    iteration), the last point visited is every loop at its final residual iteration, each step worth the
    factors inside it; a remainder on the outermost loop of `d` is refused (it would always apply)."""
    chain = [(lm.temporal.get(d, 1), lm.temporal_residual.get(d)) for _, lm in levels]
    chain = [x for pair in zip(chain, [(lm.spatial.get(d, 1), lm.spatial_residual.get(d)) for _, lm in levels])
             for x in pair if x[0] > 1]  # per level: temporal outside spatial; factor-1 loops are no loops
    if all(r is None for _, r in chain):
        product = math.prod(f for f, _ in chain)
        return [] if product == bound else [f"factors of {d} multiply to {product}, not its bound {bound}"]
    if chain[0][1] is not None:
        return [f"a remainder on the outermost loop of {d} ({chain[0][0]},{chain[0][1]}) always applies"]
    last, step = 0, 1
    for f, r in reversed(chain):
        if r is not None and not 1 <= r < f:
            return [f"remainder {d}={f},{r} is not from 1 to {f - 1}"]
        last += ((f if r is None else r) - 1) * step
        step *= f
    if last + 1 != bound:
        return [f"factors of {d} with their remainders cover {last + 1}, not its bound {bound}"]
    return []


def directive_violations(mapping: Mapping, arch: Architecture, nest: LoopNest,
                         constraints: list[Constraint] | tuple[Constraint, ...]) -> list[str]:
    """How `mapping` breaks these constraint directives (only these: no structural or architecture checks)."""
    return [f"{msg} (constraint: {c.describe()})" for c in constraints for msg in _directive(c, mapping, arch, nest)]


def _directive(c: Constraint, mapping: Mapping, arch: Architecture, nest: LoopNest) -> list[str]:
    """How `mapping` breaks one directive."""
    if c.kind == "utilization":
        used = math.prod(f for lm in mapping.levels for f in lm.spatial.values())
        need = (c.min_utilization or 0.0) * arch.compute.instances
        return [f"{used} of {arch.compute.instances} MACs used, below the minimum"] if used < need - 1e-9 else []
    if c.kind == "max_overbooked_proportion":
        return []
    i = arch.level_index(c.target)
    lv, lm = arch.levels[i], mapping.levels[i]
    names = [t.name for t in nest.tensors]
    if c.kind == "dataspace":
        kept = {t for t in names if lm.keeps(t, lv.virtual)}
        keep = set(c.keep or ())
        if "*" in keep:
            keep = (keep - {"*"}) | (set(names) - c.bypass)
        msgs = [f"{lv.name} bypasses {t}, which it must keep" for t in sorted(keep - kept)]
        msgs += [f"{lv.name} keeps {t}, which it must bypass" for t in sorted(c.bypass & kept)]
        if c.keep_only:
            msgs += [f"{lv.name} keeps {t}, but keeps only {sorted(keep)}" for t in sorted(kept - keep - c.bypass)]
        return msgs
    spatial = c.kind == "spatial"
    factors = lm.spatial if spatial else lm.temporal
    msgs = []
    named = {d for d, _ in c.factors}
    for d in nest.dims:
        f = factors.get(d, 1)
        want = dict(c.factors).get(d, 1 if "*" in named else None)
        if want is not None:
            want = nest.bounds[d] if want == 0 else min(want, nest.bounds[d])
            if f != want:
                msgs.append(f"{lv.name} {c.kind} {d}={f}, must be {want}")
        for e, lim in c.max_factors:
            if e == d and f > lim:
                msgs.append(f"{lv.name} {c.kind} {d}={f}, at most {lim}")
        for e, lim in c.min_factors:
            if e == d and f < lim:
                msgs.append(f"{lv.name} {c.kind} {d}={f}, at least {lim}")
    live = [d for d in nest.dims if factors.get(d, 1) > 1]
    if not spatial:
        order = [d for d in lm.temporal_order(nest.dims) if d in live]
        head = [d for d in c.permutation if d in live]
        tail = [d for d in c.permutation_suffix if d in live]
        if order[:len(head)] != head:
            msgs.append(f"{lv.name} loop order {''.join(order)} (innermost first) does not start with "
                        f"{''.join(head)}")
        if tail and order[len(order) - len(tail):] != tail:
            msgs.append(f"{lv.name} loop order {''.join(order)} does not end with {''.join(tail)}")
        return msgs
    if c.permutation or c.permutation_suffix or c.split is not None:
        axis = lm.spatial_axis(nest.dims)
        if not _spatial_order_possible(c, nest.dims, live, axis):
            msgs.append(f"{lv.name} spatial dims on X {[d for d in live if axis[d] == 'X']} and on Y "
                        f"{[d for d in live if axis[d] == 'Y']} cannot be written with this permutation and split")
    return msgs


def _spatial_order_possible(c: Constraint, dims: tuple[str, ...], live: list[str], axis: dict[str, str]) -> bool:
    """Whether some spatial order `prefix + any order of the rest + suffix`, cut at `split` (or at any point if
    no split is given), puts every spatial dim (factor > 1) on the axis the mapping gives it. Tried by brute
    force over the orders of the live free dims (at most a few of them)."""
    rest = [d for d in dims if d not in c.permutation and d not in c.permutation_suffix]
    live_rest = [d for d in rest if d in live]
    dead_rest = [d for d in rest if d not in live]
    for arrangement in _orders(live_rest):
        for pad in range(len(dead_rest) + 1):  # where the unit-factor dims sit among the free ones
            order = [*c.permutation, *dead_rest[:pad], *arrangement, *dead_rest[pad:], *c.permutation_suffix]
            cuts = [c.split] if c.split is not None else range(len(order) + 1)
            for cut in cuts:
                if all((order.index(d) < cut) == (axis[d] == "X") for d in live):
                    return True
    return False


def _orders(items: list[str]) -> list[list[str]]:
    if len(items) <= 1:
        return [items]
    return [[x, *rest] for i, x in enumerate(items) for rest in _orders(items[:i] + items[i + 1:])]
