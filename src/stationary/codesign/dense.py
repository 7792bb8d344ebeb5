"""The dense per-layer Result the sparse cost scales: one good mapping per layer on the architecture.

Until the project's mapper is available this module finds the mapping itself with a small greedy search
(`greedy_mapping`): spread output channels over the mesh's X and input channels (or groups) over Y, start with
every temporal loop at the outermost level, then move loop factors inward one at a time while the exact model
(stationary.model.evaluate) says energy falls and every tile fits. The cost code does not care where the
mapping came from: it only reads the Result.
"""

from __future__ import annotations

from functools import lru_cache

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.model.evaluate import evaluate
from stationary.model.result import Result
from stationary.workload.layer import Layer
from stationary.workload.loopnest import LoopNest

#: The greedy search stops after this many model evaluations per layer (each is a few ms on small layers).
MAX_EVALUATIONS = 160


def _largest_divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def _primes(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _build(arch: Architecture, temporal: list[dict[str, int]], spatial: list[dict[str, int]],
           x_dims: list[list[str]]) -> Mapping:
    levels = []
    for i, lv in enumerate(arch.levels):
        keep = None if lv.keep_only is None else frozenset(lv.keep_only) - lv.bypass_always
        sp_order = tuple(x_dims[i]) + tuple(d for d in spatial[i] if d not in x_dims[i])
        levels.append(LevelMapping(temporal={d: f for d, f in temporal[i].items() if f > 1},
                                   spatial={d: f for d, f in spatial[i].items() if f > 1},
                                   spatial_permutation=sp_order, split=len(x_dims[i]),
                                   keep=keep, bypass=lv.bypass_always))
    return Mapping(tuple(levels))


def greedy_mapping(nest: LoopNest, arch: Architecture) -> tuple[Mapping, Result]:
    """A valid, locally energy-optimal mapping found by moving loop factors inward (see module docstring)."""
    n = len(arch.levels)
    rest = dict(nest.bounds)
    spatial: list[dict[str, int]] = [{} for _ in range(n)]
    x_dims: list[list[str]] = [[] for _ in range(n)]
    for i in range(n):
        fx, fy = arch.fanout(i)
        if fx * fy == 1:
            continue
        for d, cap, on_x in (("M", fx, True), ("C", fy, False), ("G", fy, False), ("P", fy, False)):
            used = 1
            for e, f in spatial[i].items():
                if (e in x_dims[i]) == on_x:
                    used *= f
            f = _largest_divisor_at_most(rest[d], cap // used)
            if f > 1:
                spatial[i][d] = f
                rest[d] //= f
                if on_x:
                    x_dims[i].append(d)
    temporal: list[dict[str, int]] = [dict(rest)] + [{} for _ in range(n - 1)]
    best_map = _build(arch, temporal, spatial, x_dims)
    best = evaluate(nest, arch, best_map)
    evaluations = 1
    improved = True
    while improved and evaluations < MAX_EVALUATIONS:
        improved = False
        for j in range(n):
            for d, f in list(temporal[j].items()):
                if f == 1:
                    continue
                for k in range(n - 1, j, -1):
                    for step in sorted({f, _primes(f)[0]}, reverse=True):
                        trial = [dict(t) for t in temporal]
                        trial[j][d] = f // step
                        trial[k][d] = trial[k].get(d, 1) * step
                        mapping = _build(arch, trial, spatial, x_dims)
                        evaluations += 1
                        try:
                            r = evaluate(nest, arch, mapping)
                        except StationaryError:
                            continue
                        if r.energy_pj < best.energy_pj:
                            temporal, best, best_map, improved = trial, r, mapping, True
                            break
                    if improved or evaluations >= MAX_EVALUATIONS:
                        break
                if improved or evaluations >= MAX_EVALUATIONS:
                    break
            if improved or evaluations >= MAX_EVALUATIONS:
                break
    return best_map, best


@lru_cache(maxsize=256)
def dense_result(layer: Layer, arch: Architecture) -> Result:
    """The dense cost of one MAC layer on `arch` (cached by layer shape and architecture)."""
    if not layer.kind.does_macs:
        raise StationaryError(f"layer {layer.name} does no MACs; only conv/fc/matmul layers have a dense Result")
    return greedy_mapping(layer.loop_nest(), arch)[1]
