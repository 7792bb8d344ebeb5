"""The layer bound stays below the brute-force optimum with each architecture feature the model prices switched on:
leakage on every instance, multicast off (per level, or per tensor and mesh axis), no spatial reduction,
bandwidth limits, must-keeps and must-bypasses, updates priced at the write energy. Two features (sparsity and
the write convention) once put the bound above the optimum; this keeps every one of them checked."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.mapper.bounds import layer_bound
from tests.mapper.test_bounds import TENSORS, optimum, random_case
from tests.mapper.test_bounds_serving import serving_case


def featured(arch: Architecture, rng: np.random.Generator, feature: str) -> Architecture:
    """`arch` with `feature` switched on at random levels."""
    levels = list(arch.levels)

    def some(change) -> list:
        return [change(lv) if rng.random() < 0.6 else lv for lv in levels]

    if feature == "leak_all":
        levels = some(lambda lv: replace(lv, leak_instances="all",
                                         energy=replace(lv.energy, leak_pj=float(rng.integers(1, 4)))))
    elif feature == "no_multicast":
        levels = [replace(lv, no_multicast=frozenset((t, a) for t in TENSORS for a in "XY" if rng.random() < 0.4))
                  for lv in levels]
    elif feature == "multicast_off":
        levels = some(lambda lv: replace(lv, multicast=False))
    elif feature == "no_reduction":
        levels = some(lambda lv: replace(lv, spatial_reduction=False))
    elif feature == "bandwidth":
        levels = some(lambda lv: replace(lv, read_bandwidth=float(rng.choice([0.25, 0.5, 1, 2])),
                                         write_bandwidth=float(rng.choice([0.25, 0.5, 1, 2]))))
    elif feature in ("keep_always", "bypass_always"):
        i = int(rng.integers(1, len(levels)))
        lv = levels[i]
        drawn = frozenset(t for t in TENSORS if rng.random() < 0.4)
        levels[i] = (replace(lv, keep_always=drawn & (lv.keep_only or frozenset(TENSORS)))
                     if feature == "keep_always" else replace(lv, bypass_always=drawn - lv.keep_always))
    return replace(arch, levels=tuple(levels))


FEATURES = ("leak_all", "no_multicast", "multicast_off", "no_reduction", "bandwidth", "keep_always",
            "bypass_always", "write_updates")


@pytest.mark.parametrize("feature", FEATURES)
def test_bound_never_exceeds_the_brute_force_optimum_with_the_feature(feature: str) -> None:
    n = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        layer, arch = (serving_case if seed % 2 else random_case)(rng)
        update_energy = "write" if feature == "write_updates" else "update"
        try:
            arch = featured(arch, np.random.default_rng(seed + 7777), feature)
        except StationaryError:  # a drawn must-keep the level cannot keep
            continue
        best = optimum(layer, arch, update_energy=update_energy)
        if best is None or not math.isfinite(best):
            continue
        n += 1
        bound = layer_bound(layer.loop_nest(), arch, imperfect=False, update_energy=update_energy)
        assert bound.energy_lower_bound_pj <= best * (1 + 1e-9), (feature, seed, bound.energy_lower_bound_pj, best)
    assert n >= 50


@pytest.mark.parametrize("feature", FEATURES)
def test_exact_search_equals_brute_force_with_the_feature(feature: str) -> None:
    """The exact search's cuts (capacity, partial bounds, the layer bound) keep the optimum with each feature on:
    unseeded (no heuristic incumbent to hide a wrong cut), it finishes at the brute-force optimum."""
    from stationary.mapper.search import SearchOptions, search

    n = 0
    for seed in range(120):
        layer, arch = (serving_case if seed % 2 else random_case)(np.random.default_rng(seed))
        update_energy = "write" if feature == "write_updates" else "update"
        try:
            arch = featured(arch, np.random.default_rng(seed + 7777), feature)
        except StationaryError:
            continue
        best = optimum(layer, arch, update_energy=update_energy)
        if best is None or not math.isfinite(best):
            continue
        n += 1
        found = search(layer.loop_nest(), arch, options=SearchOptions(strategy="exact", update_energy=update_energy,
                                                                      seed_exact=False))
        assert found.complete and math.isclose(found.result.energy_pj, best, rel_tol=1e-9), (feature, seed, best)
    assert n >= 40
