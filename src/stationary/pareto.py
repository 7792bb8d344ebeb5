"""The one Pareto-front rule: which points no other point beats in every objective (all minimized)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def non_dominated(costs: Sequence[Sequence[float]] | np.ndarray, unique: bool = False) -> list[int]:
    """Indices of the points no other point dominates (<= in every objective, < in one), in lexicographic order
    of their objectives (first objective first). Equal points do not dominate each other; `unique` keeps only
    the first of them (the mapper's front holds one mapping per (energy, cycles))."""
    c = np.asarray(costs, dtype=float)
    if c.size == 0:
        return []
    if c.ndim != 2:
        raise ValueError(f"costs must be points x objectives, got shape {c.shape}")
    order = np.lexsort(c.T[::-1])  # by the first objective, ties by the next, ...; stable
    keep: list[int] = []
    if c.shape[1] == 2:  # sorted by the first: a point survives when its second beats every earlier survivor's
        best, last = np.inf, None
        for i in order:
            point = (c[i, 0], c[i, 1])
            if c[i, 1] < best or (not unique and point == last):
                keep.append(int(i))
                best, last = min(best, c[i, 1]), point
        return keep
    for i in order:
        le = (c <= c[i]).all(axis=1)
        lt = (c < c[i]).any(axis=1)
        if (le & lt).any():
            continue
        if unique and any((c[j] == c[i]).all() for j in keep):
            continue
        keep.append(int(i))
    return keep
