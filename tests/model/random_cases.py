"""The one generator of random model cases (layer, architecture, valid mapping) for every test: from one seed
(random_case, wide_case) or as hypothesis strategies (layers, architectures, mappings, cases), plus the
field-by-field comparison of two costed results. Import it as `tests.model.random_cases`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.mapper.space import divisors, primes
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.workload.layer import Layer, LayerKind, conv2d
from stationary.workload.loopnest import LoopNest


def random_case(seed: int, windows: bool, mapping_seed: int | None = None, n_levels: tuple[int, ...] = (2, 3, 4),
                strided: bool = False, mac_fanout: bool = False, dilated: bool = False,
                transposed: bool = False, no_multicast: bool = False,
                shuffle_spatial: bool = False, wide_mesh: bool = False) -> tuple[LoopNest, Architecture, Mapping]:
    """A layer (R=S=1 unless `windows`), a 2-4 level architecture with fan-outs, and a valid mapping
    (drawn from `mapping_seed` when given, so one layer and architecture can get many mappings).
    `strided`: strides of 1-2 without windows too; `mac_fanout`: several MACs under an innermost instance;
    `dilated`: dilations of 1-2; `transposed`: a transposed convolution (the window indexes the output);
    `no_multicast`: some levels cannot multicast (some tensors along some mesh axes, or at all);
    `shuffle_spatial`: the spatial loops of each mesh axis in a random order (it decides who neighbours whom);
    `wide_mesh`: fan-outs of up to 6 x 4 per level, so several spatial loops share a mesh axis."""
    rng = np.random.default_rng(seed)

    def pick(xs: list[int]) -> int:
        return int(rng.choice(xs))

    r, s = (pick([1, 2, 3]), pick([1, 2, 3])) if windows else (1, 1)
    st = (pick([1, 2]), pick([1, 2])) if windows or strided else (1, 1)
    dims = {"N": pick([1, 2]), "G": 1, "M": pick([1, 2, 3, 4]), "C": pick([1, 2, 4, 6]), "P": pick([1, 2, 3, 4, 6]),
                "Q": pick([1, 2, 4]), "R": r, "S": s}
    dl = (pick([1, 2]), pick([1, 2])) if dilated else (1, 1)
    layer = Layer("rand", LayerKind.CONV, **dims, H=1, W=1, stride=st, dilation=dl, transposed=transposed)
    nest = layer.loop_nest()
    n_levels = pick(list(n_levels))
    levels, mx, my = [], 1, 1
    for i in range(n_levels):
        if i > 0:
            mx *= pick([1, 2, 4, 6] if wide_mesh else [1, 1, 2, 3])
            my *= pick([1, 2, 4] if wide_mesh else [1, 1, 2])
        virtual = i > 0 and i < n_levels - 1 and rng.random() < 0.15
        e = ActionEnergy(*(float(x) for x in rng.uniform(0.1, 10, 3)), leak_pj=float(rng.choice([0, 0.01])))
        levels.append(StorageLevel(f"L{i}", depth=None, block_size=1 if virtual else pick([1, 1, 2, 4]),
                                   instances=mx * my, mesh_x=mx, mesh_y=my,
                                   energy=ActionEnergy() if virtual else e, virtual=virtual))
    if no_multicast:  # drawn from its own stream, so the layer and mapping of a seed stay the same
        mrng = np.random.default_rng([seed, 7])
        names = [t.name for t in nest.tensors]
        for i, lv in enumerate(levels):
            if mrng.random() < 0.2:
                levels[i] = replace(lv, multicast=False)
            elif mrng.random() < 0.5:
                off = frozenset((n, ax) for n in names for ax in "XY" if mrng.random() < 0.3)
                levels[i] = replace(lv, no_multicast=off)
    cx, cy = mx, my  # one MAC per innermost instance (see docs/mapper.md: link transfers to MACs)
    if mac_fanout:
        cx, cy = mx * pick([1, 2, 3]), my * pick([1, 2])
    arch = Architecture("rand", tuple(levels), ComputeUnit("MAC", cx * cy, cx, cy, energy_pj=0.5))
    if mapping_seed is not None:
        rng = np.random.default_rng([seed, mapping_seed])
    temporal = [{} for _ in range(n_levels)]
    spatial = [{} for _ in range(n_levels)]
    room = [list(arch.fanout(i)) for i in range(n_levels)]
    axis = [{} for _ in range(n_levels)]
    for d, bound in nest.bounds.items():
        for p in primes(bound):
            i = int(rng.integers(n_levels))
            fx, fy = room[i]
            ax = axis[i].get(d) or ("X" if rng.random() < 0.5 else "Y")
            free = fx if ax == "X" else fy
            if rng.random() < 0.5 and free % p == 0 and free >= p:
                spatial[i][d] = spatial[i].get(d, 1) * p
                axis[i][d] = ax
                room[i][0 if ax == "X" else 1] //= p
            elif levels[i].virtual:
                temporal[0][d] = temporal[0].get(d, 1) * p
            else:
                temporal[i][d] = temporal[i].get(d, 1) * p
    mls = []
    names = [t.name for t in nest.tensors]
    for i, lv in enumerate(levels):
        perm = tuple(rng.permutation(list(nest.dims)))
        xs = [d for d in spatial[i] if axis[i][d] == "X"]
        ys = [d for d in spatial[i] if axis[i][d] == "Y"]
        if shuffle_spatial:
            srng = np.random.default_rng([seed, 11, i])
            xs, ys = [str(d) for d in srng.permutation(xs)], [str(d) for d in srng.permutation(ys)]
        rest = [d for d in nest.dims if d not in xs + ys]
        if lv.virtual:
            keep, bypass = frozenset(), frozenset(names)
        elif i == 0:
            keep, bypass = frozenset(names), frozenset()
        else:
            kept = {n for n in names if rng.random() < 0.7}
            keep, bypass = frozenset(kept), frozenset(names) - kept
        mls.append(LevelMapping(temporal=temporal[i], permutation=perm, spatial=spatial[i],
                                spatial_permutation=tuple(xs + ys + rest), split=len(xs), keep=keep, bypass=bypass))
    mapping = Mapping(tuple(mls))
    mapping.validate(nest, arch)
    return nest, arch, mapping


COUNT_FIELDS = ("reads", "fills", "updates", "tile_words", "partition_words", "kept", "utilized_instances",
                "active_instances", "macs", "compute_cycles", "utilized_macs", "cycles", "level_cycles")
ENERGY_FIELDS = ("energy_pj", "tensor_energy_pj", "leak_energy_pj", "compute_energy_pj")


def wide_case(seed: int) -> tuple[LoopNest, Architecture, Mapping]:
    """One random case of the widest kind the fast model must be exact on: sliding windows (or not), strides,
    dilations, transposed convolutions, 3-5 levels with meshes, bypass, several MACs under one buffer, networks
    that cannot multicast."""
    rng = np.random.default_rng([seed, 99])
    return random_case(seed, windows=bool(rng.random() < 0.8), n_levels=(3, 4, 5), strided=bool(rng.random() < 0.5),
                       mac_fanout=bool(rng.random() < 0.4), dilated=bool(rng.random() < 0.3),
                       transposed=bool(rng.random() < 0.15), no_multicast=bool(rng.random() < 0.3),
                       shuffle_spatial=bool(rng.random() < 0.5), wide_mesh=bool(rng.random() < 0.5))


def walk_mismatches(nest: LoopNest, arch: Architecture, mapping: Mapping) -> list[str]:
    """Every count field (and energy to 1e-9 relative) where the fast model differs from the loop walk."""
    from stationary.model.costing import Costing
    from stationary.model.evaluate import exact_counts
    from stationary.model.fast import FastModel, mapping_arrays

    want = Costing(arch).cost(exact_counts(nest, arch, mapping))
    got = FastModel(nest, arch).evaluate(mapping_arrays([mapping], nest, arch))
    return differences(want, got, ("walk", "fast"))


def differences(want: object, got: object, names: tuple[str, str],
                counts: tuple[str, ...] = COUNT_FIELDS) -> list[str]:
    """Every count field where two costed results differ (exactly) and every energy off by more than 1e-9
    relative, named `names` (reference first) in the messages."""
    bad = []
    for f in counts:
        a, b = np.asarray(getattr(want, f)), np.asarray(getattr(got, f))
        if a.shape != b.shape or not (a.astype(object) == b.astype(object)).all():
            bad.append(f"{f}: {names[0]} {a.tolist()} {names[1]} {b.tolist()}")
    for f in ENERGY_FIELDS:
        a, b = np.asarray(getattr(want, f), float).ravel(), np.asarray(getattr(got, f), float).ravel()
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-9):
            bad.append(f"{f}: {names[0]} {a.tolist()} {names[1]} {b.tolist()}")
    return bad


# Hypothesis strategies: small conv layers, 3-level architectures with a PE mesh, and valid mappings of them.

@st.composite
def layers(draw: st.DrawFn) -> LoopNest:
    """A small conv layer's loop nest: kernel 1-3, stride 1-2, padding 0-1, batch 1-2."""
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    hw = draw(st.integers(k, 7))
    layer = conv2d("L", draw(st.integers(1, 6)), draw(st.integers(1, 6)), hw, k, stride=stride,
                   batch=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)))
    return layer.loop_nest()


@st.composite
def architectures(draw: st.DrawFn) -> Architecture:
    """DRAM, a global buffer and a mesh of up to 4 x 3 register files, with random energies."""
    mx, my = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    e = st.floats(0.0, 50.0, allow_nan=False)
    levels = (
        StorageLevel("DRAM", None, block_size=draw(st.sampled_from([1, 4])),
                     energy=ActionEnergy(draw(e), draw(e), draw(e))),
        StorageLevel("GLB", 1 << 20, block_size=draw(st.sampled_from([1, 2, 4])),
                     energy=ActionEnergy(draw(e), draw(e), draw(e), draw(st.floats(0, 0.1)))),
        StorageLevel("RF", 1 << 12, instances=mx * my, mesh_x=mx, mesh_y=my,
                     energy=ActionEnergy(draw(e), draw(e), draw(e))),
    )
    return Architecture("random", levels, ComputeUnit("MAC", mx * my, mx, my, energy_pj=draw(e)))


@st.composite
def mappings(draw: st.DrawFn, nest: LoopNest, arch: Architecture) -> Mapping:
    """Every dim's bound split over DRAM / GLB / (spatial under GLB) / RF; random orders and bypasses."""
    dims = list(nest.dims)
    fx, fy = arch.fanout(1)
    temporal: list[dict[str, int]] = [{}, {}, {}]
    spatial: dict[str, int] = {}
    used_x = used_y = 1
    x_dims: list[str] = []
    y_dims: list[str] = []
    for d in dims:
        rest = nest.bounds[d]
        sp = draw(st.sampled_from(divisors(rest)))
        axis = draw(st.sampled_from("XY"))
        cap, used = (fx, used_x) if axis == "X" else (fy, used_y)
        if sp > 1 and used * sp <= cap:
            spatial[d] = sp
            rest //= sp
            if axis == "X":
                used_x *= sp
                x_dims.append(d)
            else:
                used_y *= sp
                y_dims.append(d)
        for lvl in (2, 1):
            f = draw(st.sampled_from(divisors(rest)))
            if f > 1:
                temporal[lvl][d] = f
            rest //= f
        if rest > 1:
            temporal[0][d] = rest
    sp_perm = tuple(x_dims + y_dims + [d for d in dims if d not in spatial])
    tensors = [t.name for t in nest.tensors]
    levels = []
    for i in range(3):
        perm = tuple(draw(st.permutations(dims)))
        bypass = frozenset(t for t in tensors if i == 1 and draw(st.booleans()))
        levels.append(LevelMapping(
            temporal=temporal[i], permutation=perm,
            spatial=spatial if i == 1 else {}, spatial_permutation=sp_perm if i == 1 else (),
            split=len(x_dims) if i == 1 else None, bypass=bypass))
    return Mapping(tuple(levels))


@st.composite
def cases(draw: st.DrawFn) -> tuple[LoopNest, Architecture, Mapping]:
    """A layer, an architecture and a valid mapping of one onto the other (the three strategies above)."""
    nest = draw(layers())
    arch = draw(architectures())
    return nest, arch, draw(mappings(nest, arch))


def main() -> None:
    """`python3 tests/model/random_cases.py [first] [count]`: the mismatch rate of the fast model against the walk."""
    import sys

    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    failed = 0
    for seed in range(first, first + count):
        bad = walk_mismatches(*wide_case(seed))
        if bad:
            failed += 1
            print(seed, bad[0][:300], flush=True)
    print(f"{failed} of {count} cases differ ({100 * failed / count:.2f}%)")


if __name__ == "__main__":
    main()
