"""Hypothesis strategies: small random layers, 3-level architectures with a PE mesh, and valid mappings."""

from __future__ import annotations

from hypothesis import strategies as st

from stationary.arch.spec import ActionEnergy, Architecture, ComputeUnit, StorageLevel
from stationary.mapping.mapping import LevelMapping, Mapping
from stationary.workload.layer import conv2d
from stationary.workload.loopnest import LoopNest


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def layers(draw: st.DrawFn) -> LoopNest:
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    hw = draw(st.integers(k, 7))
    layer = conv2d("L", draw(st.integers(1, 6)), draw(st.integers(1, 6)), hw, k, stride=stride,
                   batch=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)))
    return layer.loop_nest()


@st.composite
def architectures(draw: st.DrawFn) -> Architecture:
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
