"""Lower bounds: never above the brute-force optimum (every mapping of small spaces, scored by the model) on
random layers and architectures; the certificate says "optimal" only when the search proved it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper.bounds import layer_bound
from stationary.mapper.space import MapSpace
from stationary.model.evaluate import evaluate
from stationary.model.fast import FastModel, row_to_mapping
from stationary.workload.layer import Layer, LayerKind

TENSORS = ("Weights", "Inputs", "Outputs")
SPACE_LIMIT = 20_000  # mappings per random case (every one is scored)


def random_case(rng: np.random.Generator) -> tuple[Layer, Architecture]:
    """A small conv/fc layer (strides, halos, batch) and a 2-3 level architecture with random capacities,
    keeps/bypasses, block sizes, fan-outs and energies."""
    kind = LayerKind.CONV if rng.random() < 0.8 else LayerKind.FC

    def dim(*values: int) -> int:
        return int(rng.choice(values))

    conv = kind == LayerKind.CONV
    r, s = (dim(1, 2, 3), dim(1, 1, 2)) if conv else (1, 1)
    st = (dim(1, 1, 2), 1) if conv else (1, 1)
    p, q = (dim(1, 2, 3, 4), dim(1, 1, 2)) if conv else (dim(1, 1, 2), 1)
    layer = Layer("x", kind, N=dim(1, 1, 2), M=dim(1, 2, 3, 4), C=dim(1, 2, 3, 4), P=p, Q=q, R=r, S=s,
                  H=st[0] * (p - 1) + r, W=q + s - 1, stride=st)

    def energy() -> ActionEnergy:
        return ActionEnergy(*(float(rng.integers(1, 40)) for _ in range(3)), leak_pj=float(rng.integers(0, 3)))

    def keep_only() -> frozenset[str] | None:
        return None if rng.random() < 0.5 else frozenset(t for t in TENSORS if rng.random() < 0.7)

    fan = int(rng.choice([1, 1, 2, 4]))
    levels = [StorageLevel("DRAM", block_size=int(rng.integers(1, 3)), energy=energy(), cls="DRAM")]
    if rng.random() < 0.6:
        levels.append(StorageLevel("Buf", depth=int(rng.integers(2, 40)), block_size=int(rng.integers(1, 3)),
                                   energy=energy(), keep_only=keep_only()))
    levels.append(StorageLevel("RF", depth=int(rng.integers(1, 12)), instances=fan, mesh_x=fan, energy=energy(),
                               keep_only=keep_only()))
    macs = fan * int(rng.choice([1, 1, 2]))
    return layer, Architecture("rand", tuple(levels), ComputeUnit("MAC", macs, macs, 1, float(rng.integers(1, 4))))


def optimum(layer: Layer, arch: Architecture, exact_all: int) -> float | None:
    """The model's minimum energy over every mapping of the map space (None when the space is too big here).

    Where the fast model is exact (FastModel.is_exact_for) it scores every mapping; elsewhere the exact model
    re-scores every mapping of spaces up to `exact_all` mappings, else the fast model's 16 best."""
    nest = layer.loop_nest()
    try:
        space = MapSpace(nest, arch)
    except StationaryError:
        return None
    size = space.size()
    if size > SPACE_LIMIT:
        return None
    model = FastModel(nest, arch)
    exact = model.is_exact_for()
    if not exact and size > exact_all:
        pool: list[tuple[float, object]] = []
        for batch in space.enumerate(2048):
            fr = model.evaluate(batch)
            energy = np.where(fr.valid, fr.energy_pj, np.inf)
            for b in np.argsort(energy)[:16]:
                if np.isfinite(energy[b]):
                    pool.append((float(energy[b]), row_to_mapping(batch, int(b), nest, arch)))
        pool.sort(key=lambda x: x[0])
        return min((evaluate(nest, arch, m).energy_pj for _, m in pool[:16]), default=math.inf)
    best = math.inf
    for batch in space.enumerate(2048):
        if exact:
            fr = model.evaluate(batch)
            best = min(best, float(np.where(fr.valid, fr.energy_pj, np.inf).min()))
            continue
        for b in range(batch.size):
            try:
                best = min(best, evaluate(nest, arch, row_to_mapping(batch, b, nest, arch)).energy_pj)
            except StationaryError:  # a tile overflows its level
                continue
    return best


def check(seed: int, exact_all: int = 300) -> float | None:
    """Assert bound <= the model's optimum for one random case; return optimum / bound (None when skipped)."""
    layer, arch = random_case(np.random.default_rng(seed))
    best = optimum(layer, arch, exact_all)
    if best is None or not math.isfinite(best):
        return None
    bound = layer_bound(layer.loop_nest(), arch)
    assert bound.energy_lower_bound_pj <= best * (1 + 1e-9), (seed, bound.energy_lower_bound_pj, best)
    return best / bound.energy_lower_bound_pj


def run(seeds: range) -> list[float]:
    ratios = [check(s) for s in seeds]
    return [r for r in ratios if r is not None]


def test_bound_never_exceeds_the_brute_force_optimum() -> None:
    ratios = run(range(200))
    assert len(ratios) >= 60
    assert min(ratios) >= 1 - 1e-9


@pytest.mark.slow
def test_bound_never_exceeds_the_brute_force_optimum_many() -> None:
    ratios = run(range(1000, 7000))
    assert len(ratios) >= 2000
    print(f"\n{len(ratios)} cases: optimum / bound mean {np.mean(ratios):.3f}, median {np.median(ratios):.3f}, "
          f"max {np.max(ratios):.3f}")
