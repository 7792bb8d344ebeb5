"""The coupled cut below the outermost level (bounds/layer.py, CutOption): a tensor kept below the resident
level re-crosses what its keeper cannot hold on every trip above it. Never above what any mapping pays at the
outermost level (brute force), never below the one-resident-tensor cut it replaces, and it tightens the
Eyeriss exercise."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper.bounds.layer import LayerTerms, layer_bound
from stationary.mapper.space import MapSpace
from stationary.model.fast import FastModel
from stationary.workload.layer import Layer, LayerKind
from tests.mapper.test_bounds import SPACE_LIMIT, random_case

CASES = "tests/mapping/cases/eyeriss_exercise/"
BYPASS_LIMIT = 150_000  # mappings per bypass case (three levels and a batch: bigger spaces than random_case's)


def one_resident_cut_pj(terms: LayerTerms) -> float:
    """The cut bound before the coupling: the tile constrained by one resident tensor at a time."""
    b = terms.bounder
    return max(b.minimum(terms.w_dram, terms.dram_opts) - terms.first_read_pj, terms.cut_floor_pj)


def outermost_energy(layer: Layer, arch: Architecture,
                     limit: int = SPACE_LIMIT) -> tuple[LayerTerms, np.ndarray] | None:
    """LayerTerms and the outermost level's dynamic energy of every valid mapping (None: space too big)."""
    nest = layer.loop_nest()
    try:
        space = MapSpace(nest, arch)
    except StationaryError:
        return None
    if space.size() > limit:
        return None
    model = FastModel(nest, arch)
    top = [i for i, lv in enumerate(arch.levels) if not lv.virtual][0]
    paid = []
    for batch in space.enumerate(2048):
        fr = model.evaluate(batch)
        paid.append(fr.tensor_energy_pj[fr.valid][:, top, :].sum(axis=1))
    return LayerTerms(nest, arch), np.concatenate(paid)


def check(layer: Layer, arch: Architecture, limit: int = SPACE_LIMIT) -> tuple[float, float] | None:
    """Assert old cut <= new cut <= every mapping's outermost energy; return (old, new) or None if skipped."""
    got = outermost_energy(layer, arch, limit)
    if got is None or not len(got[1]):
        return None
    terms, paid = got
    old, new = one_resident_cut_pj(terms), terms.cut_energy_pj
    assert old <= new * (1 + 1e-9), (old, new)
    assert new <= float(paid.min()) * (1 + 1e-9), (new, float(paid.min()))
    return old, new


def bypass_arch(rng: np.random.Generator) -> Architecture:
    """DRAM, a buffer that must bypass the weights, and PEs whose register files keep only the weights (the
    Eyeriss pattern the coupling is for), with random sizes, fan-out and energies."""
    def energy() -> ActionEnergy:
        read, write, update = (float(rng.integers(1, 40)) for _ in range(3))
        return ActionEnergy(read, write, update, leak_pj=0.0)

    fan = int(rng.choice([1, 2]))
    return Architecture("bypass", (
        StorageLevel("DRAM", energy=ActionEnergy(200.0, 200.0, 200.0), cls="DRAM"),
        StorageLevel("Buf", depth=int(rng.integers(2, 8)), energy=energy(),
                     keep_only=frozenset({"Inputs", "Outputs"})),
        StorageLevel("RF", depth=int(rng.integers(1, 4)), instances=fan, mesh_x=fan, energy=energy(),
                     keep_only=frozenset({"Weights"}))), ComputeUnit("MAC", fan, fan, 1, 1.0))


def small_layer(rng: np.random.Generator) -> Layer:
    """A batched FC layer small enough to enumerate on three levels; the batch reuses every weight."""
    return Layer("x", LayerKind.FC, N=int(rng.choice([2, 3, 4])), M=int(rng.choice([2, 3, 4])),
                 C=int(rng.choice([2, 3, 4])))


def test_coupled_cut_between_the_old_cut_and_every_mapping_on_random_cases() -> None:
    pairs = [x for x in (check(*random_case(np.random.default_rng(seed))) for seed in range(120)) if x]
    assert len(pairs) >= 30


def test_coupled_cut_is_sound_and_tightens_where_the_weights_bypass_the_buffer() -> None:
    pairs = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        got = check(small_layer(rng), bypass_arch(rng), BYPASS_LIMIT)
        if got:
            pairs.append(got)
    assert len(pairs) >= 5
    assert sum(new > old * (1 + 1e-6) for old, new in pairs) >= 2  # the coupling bites on this pattern


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_coupled_cut_is_sound_under_hypothesis(seed: int, bypass: bool) -> None:
    rng = np.random.default_rng(seed)
    check(*((small_layer(rng), bypass_arch(rng)) if bypass else random_case(rng)))


def test_the_eyeriss_exercise_bound_rises_and_stays_below_the_found_mapping() -> None:
    """The exercise's weights bypass the global buffer: the coupled cut raises the layer bound (old and new
    computed here), and the exact search's mapping is still above it, so the gap shrinks."""
    from stationary.arch.load import load_arch
    from stationary.mapper.search import SearchOptions, search
    from stationary.workload.importers.timeloop import load_problem

    arch = load_arch(CASES + "arch.yaml", CASES + "ert.yaml")
    nest = load_problem(CASES + "problem.yaml")
    terms = LayerTerms(nest, arch)
    old_pj = float(terms.energy_pj(np.array(one_resident_cut_pj(terms)), np.array(terms.leak_floor_pj)))
    new_pj = layer_bound(nest, arch).energy_lower_bound_pj
    assert new_pj > old_pj * (1 + 1e-3)
    found = search(nest, arch, options=SearchOptions(budget=2000))
    assert math.isfinite(found.result.energy_pj) and found.result.energy_pj >= new_pj
    assert found.result.energy_pj / new_pj < found.result.energy_pj / old_pj
