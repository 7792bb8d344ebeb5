"""Lower bounds: never above the brute-force optimum (every mapping of small spaces, scored by the model) on
random layers and architectures; the certificate says "optimal" only when the search proved it."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.errors import StationaryError
from stationary.mapper.bounds import layer_bound
from stationary.mapper.bounds.layer import mesh_fits
from stationary.mapper.bounds.tiles import TileTraffic
from stationary.mapper.search import SearchOptions, search
from stationary.mapper.space import MapSpace, divisors
from stationary.model.fast import FastModel
from stationary.model.sparsity import Sparsity, TensorFormat
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
        read, write, update = (float(rng.integers(1, 40)) for _ in range(3))  # drawn in this order
        return ActionEnergy(read, write, update, leak_pj=float(rng.integers(0, 3)))

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


def enumerable_space(nest, arch: Architecture, limit: int = SPACE_LIMIT) -> MapSpace | None:
    """The map space of a random case, or None when it is empty or holds more than `limit` mappings."""
    try:
        space = MapSpace(nest, arch)
    except StationaryError:
        return None
    return None if space.size() > limit else space


def optimum(layer: Layer, arch: Architecture, limit: int = SPACE_LIMIT, update_energy: str = "update") -> float | None:
    """The model's minimum energy over every mapping of the map space (None when the space is too big here),
    scored by the fast model, which equals the loop walk on every mapping (tests/model/test_fast.py), with
    updates priced at `update_energy`."""
    nest = layer.loop_nest()
    space = enumerable_space(nest, arch, limit)
    if space is None:
        return None
    model = FastModel(nest, arch, update_energy=update_energy)
    best = math.inf
    for batch in space.enumerate(2048):
        fr = model.evaluate(batch)
        best = min(best, float(np.where(fr.valid, fr.energy_pj, np.inf).min()))
    return best


def check(seed: int) -> float | None:
    """Assert bound <= the model's optimum for one random case; return optimum / bound (None when skipped)."""
    layer, arch = random_case(np.random.default_rng(seed))
    best = optimum(layer, arch)
    if best is None or not math.isfinite(best):
        return None
    # the perfect map space's bound (what certifies the mappers' default search), and the bound over imperfect
    # factorizations too, which covers more tilings and so is never above it
    bound = layer_bound(layer.loop_nest(), arch, imperfect=False)
    assert bound.energy_lower_bound_pj <= best * (1 + 1e-9), (seed, bound.energy_lower_bound_pj, best)
    loose = layer_bound(layer.loop_nest(), arch).energy_lower_bound_pj
    assert loose <= bound.energy_lower_bound_pj * (1 + 1e-9), (seed, loose, bound.energy_lower_bound_pj)
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
    ratios = run(range(1000, 7600))
    assert len(ratios) >= 2000
    print(f"\n{len(ratios)} cases: optimum / bound mean {np.mean(ratios):.3f}, median {np.median(ratios):.3f}, "
          f"max {np.max(ratios):.3f}")


def test_words_into_each_level_are_never_above_what_a_mapping_moves() -> None:
    """Per level: the words every mapping brings into the level's subtree (fills at each tensor's outermost
    keeper at or below it) and writes back to the outermost level are at least `min_words_in`."""
    checked = 0
    for seed in range(80):
        layer, arch = random_case(np.random.default_rng(seed))
        nest = layer.loop_nest()
        try:
            space = MapSpace(nest, arch)
        except StationaryError:
            continue
        model = FastModel(nest, arch)
        if space.size() > SPACE_LIMIT:
            continue
        bound = layer_bound(nest, arch, imperfect=False)
        rw = np.array([t.read_write for t in nest.tensors])
        for batch in space.enumerate(4096):
            fr = model.evaluate(batch)
            ok = fr.valid
            if not ok.any():
                continue
            kept, fills = fr.kept[ok], fr.fills[ok] * fr.utilized_instances[ok][:, :, None]
            top_updates = (fr.updates[ok][:, 0] * fr.utilized_instances[ok][:, :1]).sum(axis=1)
            assert (top_updates >= bound.levels[0].min_words_in).all(), seed
            for c in range(1, len(arch.levels)):
                held = kept[:, c:, :]
                first = np.argmax(held, axis=1)  # outermost keeper at or below c, per tensor
                has = held.any(axis=1).all(axis=1)  # mappings where every tensor is held at or below c
                words = np.take_along_axis(fills[:, c:, :], first[:, None, :], axis=1)[:, 0, :]
                if arch.levels[c].instances > 1:
                    words = words * ~rw[None, :]
                total = words.sum(axis=1)
                assert (total[has] >= bound.levels[c].min_words_in).all(), (seed, c)
            checked += int(ok.sum())
    assert checked > 1000


def test_keep_rules_match_the_map_space() -> None:
    """The bound's must/may-keep rule is the map space's (MapSpace.keep_fixed) on every preset."""
    from stationary.arch.load import load_arch, preset_names
    from stationary.mapper.bounds.layer import keep_rules

    nest = Layer("c", LayerKind.CONV, M=4, C=4, P=4, Q=4, R=3, S=3, H=6, W=6).loop_nest()
    for name in preset_names():
        arch = load_arch(name)
        space = MapSpace(nest, arch)
        must, may = keep_rules(nest, arch)
        for i in range(len(arch.levels)):
            for t in range(len(nest.tensors)):
                fixed, value = bool(space.keep_fixed[i, t]), bool(space.keep_value[i, t])
                assert must[i][t] == (fixed and value), (name, i, t)
                assert may[i][t] == (not fixed or value), (name, i, t)


def test_divisors_and_order_prefixes() -> None:
    assert list(divisors(12)) == [1, 2, 3, 4, 6, 12]
    assert list(divisors(1)) == [1]
    nest = Layer("c", LayerKind.CONV, M=2, C=2, P=3, R=2, H=4).loop_nest()
    tt = TileTraffic(nest)
    # every tensor gets a first indexing dim or none, and the dims inside it never index it
    for p in tt.prefixes:
        for t, (r, free) in enumerate(zip(p.first, p.free)):
            assert all(not tt.relevant[t, d] for d in free)
            assert r == -1 or tt.relevant[t, r]


def test_a_searched_mapping_is_never_below_the_ski_slope() -> None:
    """The found mapping's backing-store words at its working set are at least the curve there (§2)."""
    from stationary.arch.load import load_arch
    from stationary.mapper.bounds.plot import mapping_point, ski_slope
    from stationary.mapper.search import SearchOptions, search

    arch = load_arch("eyeriss")
    for layer in (Layer("c", LayerKind.CONV, M=16, C=8, P=14, Q=14, R=3, S=3, H=16, W=16),
                  Layer("s", LayerKind.CONV, M=8, C=8, P=7, Q=7, R=1, S=1, H=13, W=13, stride=(2, 2)),
                  Layer("f", LayerKind.FC, N=4, M=64, C=128)):
        nest = layer.loop_nest()
        found = search(nest, arch, options=SearchOptions(budget=3000))
        working, moved = mapping_point(nest, arch, found.mapping, found.result)
        caps, words = ski_slope(nest)
        at = words[np.searchsorted(caps, working, side="right") - 1]
        assert moved >= at, (layer.name, moved, at)
        whole = sum(t.extent(nest.bounds) for t in nest.tensors)  # one tile holding everything: each box once
        distinct = sum(t.distinct(nest.bounds) for t in nest.tensors)  # each element once, strides' gaps left out
        assert distinct <= words[-1] <= whole


def sparse_case(seed: int) -> tuple[Layer, Architecture]:
    """A random case of `random_case` with random sparsity: densities, formats per (level, tensor), zero gating or
    skipping at levels and at the MACs."""
    rng = np.random.default_rng(seed)
    layer, arch = random_case(rng)
    names = [lv.name for lv in arch.levels]
    densities = tuple((t, float(rng.choice([0.1, 0.3, 0.6, 1.0]))) for t in TENSORS)
    formats = tuple((lv, t, TensorFormat(str(rng.choice(["uncompressed", "bitmask", "rlc", "coo"]))))
                    for lv in names for t in TENSORS if rng.random() < 0.4)
    zero = tuple((lv, t, str(rng.choice(["gate", "skip"]))) for lv in names for t in TENSORS if rng.random() < 0.3)
    sp = Sparsity(densities=densities, formats=formats, level_zero=zero,
                  compute_zero=str(rng.choice(["none", "gate", "skip"])),
                  gated_energy_fraction=float(rng.choice([0.0, 0.1])))
    return layer, replace(arch, sparsity=sp)


def sparse_check(seeds: range) -> int:
    """Assert bound <= the model's optimum on the sparse cases of `seeds`; return how many were enumerable."""
    n = 0
    for seed in seeds:
        layer, arch = sparse_case(seed)
        best = optimum(layer, arch)
        if best is None or not math.isfinite(best):
            continue
        n += 1
        bound = layer_bound(layer.loop_nest(), arch, imperfect=False).energy_lower_bound_pj
        assert bound <= best * (1 + 1e-9), (seed, bound, best)
    return n


def test_bound_never_exceeds_the_brute_force_optimum_under_sparsity() -> None:
    """Compressed words, gated reads and gated or skipped MACs cost less than their dense counts: the bound scales
    by the least factor (a dense bound was above the optimum on 11 of 25 such cases)."""
    assert sparse_check(range(60)) >= 15


@pytest.mark.slow
def test_bound_never_exceeds_the_brute_force_optimum_under_sparsity_many() -> None:
    assert sparse_check(range(1000, 2000)) >= 300


def test_the_exact_search_refuses_a_sparse_architecture() -> None:
    """Its cuts and capacity prunes count dense words, so it would not be sound there: a clear error instead."""
    layer, arch = sparse_case(0)
    with pytest.raises(StationaryError, match="exact search") as err:
        search(layer.loop_nest(), arch, options=SearchOptions(strategy="exact"))
    assert err.value.field == "--strategy"


def write_check(seeds: range) -> int:
    """Assert, with updates priced at the ERT's write energy (Timeloop 3.0.3's convention), that the bound and the
    exact search's optimum agree with brute force on the cases of `seeds`; return how many were enumerable."""
    n = 0
    for seed in seeds:
        layer, arch = random_case(np.random.default_rng(seed))
        best = optimum(layer, arch, update_energy="write")
        if best is None or not math.isfinite(best):
            continue
        n += 1
        nest = layer.loop_nest()
        bound = layer_bound(nest, arch, imperfect=False, update_energy="write").energy_lower_bound_pj
        assert bound <= best * (1 + 1e-9), (seed, bound, best)
        found = search(nest, arch, options=SearchOptions(strategy="exact", update_energy="write"))
        assert found.complete and math.isclose(found.result.energy_pj, best, rel_tol=1e-9), (seed, best)
    return n


def test_bound_and_exact_search_price_updates_as_the_model() -> None:
    """A write cheaper than an update: a bound priced at `update` sat above the optimum on 8 of 30 such cases,
    so a certificate could claim less than zero gap and the exact search could cut the optimum."""
    assert write_check(range(40)) >= 12


def test_cycles_bound_never_exceeds_the_brute_force_least_cycles() -> None:
    """The cycles floor (MACs over the most MACs a mapping can use within each fan-out's mesh, x the skipped
    fraction) that certifies the cycles and EDP objectives is at most the fewest cycles of any valid mapping,
    dense, sparse and on 2-D meshes."""
    from tests.mapper.test_bounds_serving import serving_case  # it imports this module

    n = 0
    for seed in range(60):
        for layer, arch in (random_case(np.random.default_rng(seed)), sparse_case(seed),
                            serving_case(np.random.default_rng(seed))):
            nest = layer.loop_nest()
            space = enumerable_space(nest, arch)
            if space is None:
                continue
            model = FastModel(nest, arch)
            least = min(float(np.where(fr.valid, fr.cycles, np.inf).min())
                        for fr in map(model.evaluate, space.enumerate(2048)))
            if not math.isfinite(least):
                continue
            n += 1
            assert 0 < layer_bound(nest, arch, imperfect=False).cycles_lower_bound <= least, (seed, least)
    assert n >= 45


def test_mesh_fits_equals_every_split_of_the_dims() -> None:
    """A box fits an fx x fy fan-out iff some choice of axis per dim (the model's rule: one axis per dim and
    fan-out) keeps both products within the mesh; Eyeriss's 14 x 12 takes C=8, R=3, S=3 but not C=16."""
    rng = np.random.default_rng(5)
    boxes = rng.choice([1, 1, 2, 3, 4, 6], size=(400, 4))
    for fx, fy in ((14, 12), (4, 4), (8, 1), (3, 5)):
        expected = [any(math.prod(b[k] for k in range(4) if on[k]) <= fx
                        and math.prod(b[k] for k in range(4) if not on[k]) <= fy
                        for on in itertools.product((True, False), repeat=4)) for b in boxes]
        assert mesh_fits(boxes, fx, fy).tolist() == expected
    assert mesh_fits(np.array([[8, 3, 3], [16, 3, 3]]), 14, 12).tolist() == [True, False]
