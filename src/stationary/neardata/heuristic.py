"""A small deterministic mapping heuristic, so whole networks can be compared before the search mapper lands.

For a few stationarity policies, loop orders and spatial preferences it builds one mapping greedily —
innermost level first, spatial factors first, then the largest temporal factors that keep every bounded
level at and above within capacity — evaluates each with the exact model, and keeps the cheapest. It
honours the architecture's keep_only / bypass_always and fan-outs. It is not an optimiser: the mapper
(`stationary map`) supersedes it.
"""

from __future__ import annotations

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.model.result import Result
from stationary.workload.loopnest import LoopNest

#: temporal loop orders tried, innermost first (output-moving, reduction-innermost, input-reuse, weight-reuse)
ORDERS = (
    ("Q", "P", "N", "S", "R", "C", "M", "G"),
    ("S", "R", "C", "Q", "P", "N", "M", "G"),
    ("M", "Q", "P", "N", "S", "R", "C", "G"),
    ("C", "S", "R", "M", "Q", "P", "N", "G"),
)
#: stationarity policies: below the outermost level, temporal loops only over dims that do not index this
#: tensor, so it stays put while the others stream (None: any dim)
POLICIES = ("Weights", "Outputs", "Inputs", None)
#: spatial preferences (X, Y): output channels across / reduction down, or output pixels across / filter down
SPATIAL = (
    (("M", "Q", "P", "N", "G"), ("C", "R", "S", "P", "Q", "M")),
    (("Q", "P", "M", "N", "G"), ("S", "R", "C", "M", "P")),
)


def kept_tensors(arch: Architecture, nest: LoopNest) -> list[frozenset[str]]:
    """Per level, the tensors it holds under the architecture's constraints (virtual levels hold none)."""
    names = [t.name for t in nest.tensors]
    out = []
    for lv in arch.levels:
        keep = set(names) if lv.keep_only is None else set(lv.keep_only) & set(names)
        out.append(frozenset() if lv.virtual else frozenset(keep - set(lv.bypass_always)))
    return out


def _largest_divisor(n: int, limit: int) -> int:
    return max(f for f in range(1, min(n, limit) + 1) if n % f == 0)


def greedy_mapping(nest: LoopNest, arch: Architecture, order: tuple[str, ...],
                   spatial: tuple[tuple[str, ...], tuple[str, ...]], stationary: str | None = None) -> Mapping:
    """One mapping built greedily for a loop order, spatial preference and stationary tensor (module docstring)."""
    dims = nest.dims
    pinned = nest.tensor(stationary).dims if stationary in {t.name for t in nest.tensors} else frozenset()
    order = tuple(d for d in order if d in dims) + tuple(d for d in dims if d not in order)
    keeps = kept_tensors(arch, nest)
    remaining = dict(nest.bounds)
    cum = dict.fromkeys(dims, 1)

    def fits(level: int) -> bool:
        for j in range(level, -1, -1):
            lv = arch.levels[j]
            if lv.size_words is None or lv.virtual:
                continue
            used = sum(nest.tensor(t).extent(cum) for t in keeps[j])
            if used > lv.size_words:
                return False
        return True

    def grow(level: int, d: str, limit: int) -> int:
        """Largest factor of remaining[d] (at most `limit`) that keeps levels <= `level` within capacity."""
        n = remaining[d]
        for f in sorted((f for f in range(1, min(n, limit) + 1) if n % f == 0), reverse=True):
            cum[d] *= f
            if fits(level):
                remaining[d] //= f
                return f
            cum[d] //= f
        return 1

    levels: list[LevelMapping] = [LevelMapping()] * len(arch.levels)
    for i in range(len(arch.levels) - 1, 0, -1):
        lv = arch.levels[i]
        fx, fy = arch.fanout(i)
        sp: dict[str, int] = {}
        xs: list[str] = []
        ys: list[str] = []
        for fan, prefs, used in ((fx, spatial[0], xs), (fy, spatial[1], ys)):
            left = fan
            for d in prefs:
                if d in dims and d not in sp and left > 1 and remaining[d] > 1:
                    f = grow(i, d, left)
                    if f > 1:
                        sp[d] = f
                        used.append(d)
                        left //= f
        temporal: dict[str, int] = {}
        if not lv.virtual:
            for d in order:
                if remaining[d] > 1 and d not in pinned:
                    f = grow(i, d, remaining[d])
                    if f > 1:
                        temporal[d] = f
        names = frozenset(t.name for t in nest.tensors)
        levels[i] = LevelMapping(temporal=temporal, permutation=order, spatial=sp,
                                 spatial_permutation=tuple(xs + ys), split=len(xs),
                                 keep=keeps[i], bypass=names - keeps[i])
    top = {d: f for d, f in remaining.items() if f > 1}
    names = frozenset(t.name for t in nest.tensors)
    levels[0] = LevelMapping(temporal=top, permutation=order, keep=keeps[0], bypass=names - keeps[0])
    return Mapping(tuple(levels))


def candidates(nest: LoopNest, arch: Architecture) -> list[Mapping]:
    """The heuristic's candidate mappings, distinct, stationary policies first."""
    out: list[Mapping] = []
    for policy in POLICIES:
        for order in (ORDERS[:1] if policy else ORDERS[1:]):
            for spatial in SPATIAL:
                m = greedy_mapping(nest, arch, order, spatial, policy)
                if m not in out:
                    out.append(m)
    return out


def best_mapping(nest: LoopNest, arch: Architecture, max_candidates: int | None = None) -> tuple[Mapping, Result]:
    """The cheapest (energy, then cycles) of the first `max_candidates` candidate mappings, evaluated exactly."""
    best: tuple[float, int, Mapping, Result] | None = None
    last_error: StationaryError | None = None
    for mapping in candidates(nest, arch)[:max_candidates]:
        try:
            result = evaluate(nest, arch, mapping)
        except StationaryError as exc:
            last_error = exc
            continue
        key = (result.energy_pj, result.cycles)
        if best is None or key < best[:2]:
            best = (*key, mapping, result)
    if best is None:
        raise StationaryError(f"no mapping of {nest.name} fits architecture {arch.name}: {last_error}",
                              field=last_error.field if last_error else None)
    return best[2], best[3]
