"""The Mapping noun: one schedule of one loop nest on one architecture.

Per storage level (outermost first, aligned with `Architecture.levels`): temporal factors and their loop
order, spatial factors spread over the level's children (X or Y of the mesh), and which tensors the level
keeps. Permutations are written innermost loop first, as in Timeloop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from stationary.arch.spec import Architecture
from stationary.errors import StationaryError
from stationary.workload.loopnest import LoopNest


@dataclass(frozen=True)
class LevelMapping:
    """The loops one storage level owns and what it keeps."""

    temporal: dict[str, int] = field(default_factory=dict)
    permutation: tuple[str, ...] = ()  # temporal loop order, innermost first; missing dims go outermost
    spatial: dict[str, int] = field(default_factory=dict)
    spatial_permutation: tuple[str, ...] = ()
    split: int | None = None  # spatial dims at positions < split (innermost first) go on X, others on Y
    keep: frozenset[str] | None = None  # None: keep every tensor (virtual levels: none)
    bypass: frozenset[str] = frozenset()
    # residual trip counts r < factor (Timeloop 3's `D=n,r`); a dim not named here has none (r = n)
    temporal_residual: dict[str, int] = field(default_factory=dict)
    spatial_residual: dict[str, int] = field(default_factory=dict)

    def residual(self, kind: str, dim: str) -> int:
        """Trip count of this level's `kind` ("temporal"/"spatial") loop on `dim` in its last global iteration."""
        factors, residuals = ((self.temporal, self.temporal_residual) if kind == "temporal"
                              else (self.spatial, self.spatial_residual))
        return residuals.get(dim, factors.get(dim, 1))

    def keeps(self, tensor: str, virtual: bool = False) -> bool:
        if tensor in self.bypass:
            return False
        if self.keep is not None and tensor in self.keep:
            return True
        return not virtual  # unspecified: real levels keep, virtual spatial levels hold nothing

    def temporal_order(self, dims: tuple[str, ...]) -> list[str]:
        """Temporal loop order, innermost first, padded with missing dims in problem order (outermost)."""
        return full_order(self.permutation, dims)

    def spatial_order(self, dims: tuple[str, ...]) -> list[str]:
        return full_order(self.spatial_permutation, dims)

    def spatial_axis(self, dims: tuple[str, ...]) -> dict[str, str]:
        """'X' or 'Y' for every dimension: positions < split in the padded spatial order go on X."""
        order = self.spatial_order(dims)
        split = len(order) if self.split is None else self.split
        return {d: ("X" if i < split else "Y") for i, d in enumerate(order)}


@dataclass(frozen=True)
class Mapping:
    """A complete mapping: one LevelMapping per architecture level, outermost first."""

    levels: tuple[LevelMapping, ...]

    def has_residuals(self) -> bool:
        """Whether some factor leaves a remainder (imperfect factorization): counters without residuals refuse."""
        return any(lm.temporal_residual or lm.spatial_residual for lm in self.levels)

    def is_perfect(self) -> bool:
        return not self.has_residuals()

    def dim_loops(self, dim: str) -> list[tuple[int, str, int, int]]:
        """The loops on `dim` outermost first as (level, kind, factor, residual): levels outermost first,
        temporal outside spatial within a level (Timeloop's order); factor-1 loops are no loops."""
        out = []
        for i, lm in enumerate(self.levels):
            for kind, factors in (("temporal", lm.temporal), ("spatial", lm.spatial)):
                f = factors.get(dim, 1)
                if f > 1:
                    out.append((i, kind, f, lm.residual(kind, dim)))
        return out

    def validate(self, nest: LoopNest, arch: Architecture, file: str | None = None) -> None:
        """Factors multiply to the bounds, spatial factors fit each fan-out, names are known."""
        if len(self.levels) != len(arch.levels):
            raise StationaryError(f"mapping has {len(self.levels)} levels, architecture {len(arch.levels)}",
                                  file=file)
        tensors = {t.name for t in nest.tensors}
        product = dict.fromkeys(nest.dims, 1)
        for i, (lm, lv) in enumerate(zip(self.levels, arch.levels)):
            for kind, factors in (("temporal", lm.temporal), ("spatial", lm.spatial)):
                for d, f in factors.items():
                    if d not in product:
                        raise StationaryError(f"unknown dimension {d!r} (dimensions: {list(nest.dims)})",
                                              file=file, field=f"{lv.name}.{kind}.factors")
                    if not isinstance(f, int) or f < 1:
                        raise StationaryError(f"factor {d}={f!r} must be a positive integer", file=file,
                                              field=f"{lv.name}.{kind}.factors")
                    product[d] *= f
            for kind, factors, residuals in (("temporal", lm.temporal, lm.temporal_residual),
                                             ("spatial", lm.spatial, lm.spatial_residual)):
                for d, r in residuals.items():
                    f = factors.get(d, 1)
                    if d not in product or not isinstance(r, int) or isinstance(r, bool) or not 1 <= r < f:
                        raise StationaryError(
                            f"residual {d}={f},{r!r}: a remainder is a positive integer below its factor {f}",
                            file=file, field=f"{lv.name}.{kind}.factors")
            for d in (*lm.permutation, *lm.spatial_permutation):
                if d not in product:
                    raise StationaryError(f"unknown dimension {d!r} in permutation", file=file,
                                          field=f"{lv.name}.permutation")
            for t in (lm.keep or frozenset()) | lm.bypass:
                if t not in tensors:
                    raise StationaryError(f"unknown data space {t!r} (data spaces: {sorted(tensors)})",
                                          file=file, field=f"{lv.name}.keep/bypass")
            fx, fy = arch.fanout(i)
            sx, sy = self.spatial_xy(i, nest.dims)
            if sx > fx or sy > fy:
                raise StationaryError(
                    f"spatial factors need {sx}x{sy} instances but the fan-out below {lv.name} is {fx}x{fy}",
                    file=file, field=f"{lv.name}.spatial.factors")
            if lv.virtual and lm.keep:
                raise StationaryError("a virtual spatial level cannot keep data", file=file, field=f"{lv.name}.keep")
        for d, bound in nest.bounds.items():
            loops = self.dim_loops(d)
            if any(r < f for _, _, f, r in loops):
                self._check_residuals(d, bound, loops, arch, file)
            elif product[d] != bound:
                held = [f"{lv.name} {kind} {f}" for lm, lv in zip(self.levels, arch.levels)
                        for kind, f in (("temporal", lm.temporal.get(d, 1)), ("spatial", lm.spatial.get(d, 1)))
                        if f > 1]
                raise StationaryError(
                    f"factors of {d} multiply to {product[d]} ({' x '.join(held) or 'no factor above 1'}) but the "
                    f"bound is {bound}: every factor must divide the dimension exactly (no remainder)", file=file,
                    field=f"factors.{d}")

    def _check_residuals(self, d: str, bound: int, loops: list[tuple[int, str, int, int]], arch: Architecture,
                         file: str | None) -> None:
        """A dimension with remainders: none on its outermost loop (that loop always runs its residual, so the
        factor would be meaningless), and the loops cover exactly the bound (see `covered`)."""
        lvl, kind, f, r = loops[0]
        if r < f:
            raise StationaryError(
                f"a remainder on the outermost loop of {d} ({arch.levels[lvl].name} {kind} {d}={f},{r}) always "
                f"applies (no enclosing loop of {d} has a last iteration to wait for): write {d}={r}", file=file,
                field=f"{arch.levels[lvl].name}.{kind}.factors")
        got = covered([(f, r) for _, _, f, r in loops])
        if got != bound:
            held = " x ".join(f"{arch.levels[i].name} {k} {f}" + (f",{r}" if r < f else "") for i, k, f, r in loops)
            raise StationaryError(
                f"factors of {d} ({held}) cover {got} iterations but the bound is {bound}: with remainders the "
                f"loops cover 1 + sum of (residual - 1) x (product of the factors inside it)", file=file,
                field=f"factors.{d}")

    def keep_table(self, nest: LoopNest, arch: Architecture, file: str | None = None) -> tuple[tuple[bool, ...], ...]:
        """Which tensors each level keeps (levels outermost first), the architecture's rules applied.

        A tensor the mapping leaves unspecified follows the level's own `keep`/`bypass` lists; a mapping that
        keeps what the architecture bypasses (or bypasses what it must keep) is refused, and so is a tensor not
        kept at the outermost level: its data would come from nowhere.
        """
        table = []
        for lm, lv in zip(self.levels, arch.levels):
            row = []
            for t in nest.tensors:
                forbidden = t.name in lv.bypass_always or (lv.keep_only is not None and t.name not in lv.keep_only)
                if t.name in lm.bypass:
                    if t.name in lv.keep_always:
                        raise StationaryError(f"level {lv.name} must keep {t.name} (architecture) but the mapping "
                                              f"bypasses it", file=file, field=f"{lv.name}.bypass")
                    row.append(False)
                elif lm.keep is not None and t.name in lm.keep:
                    if forbidden:
                        raise StationaryError(f"level {lv.name} bypasses {t.name} (architecture) but the mapping "
                                              f"keeps it", file=file, field=f"{lv.name}.keep")
                    row.append(True)
                else:
                    row.append(not lv.virtual and not forbidden)
            table.append(tuple(row))
        outer = next((i for i, lv in enumerate(arch.levels) if not lv.virtual), 0)
        for k, tensor in enumerate(nest.tensors):
            if not table[outer][k]:
                raise StationaryError(
                    f"{tensor.name} is not kept at the outermost level {arch.levels[outer].name}: its data would "
                    f"come from nowhere (keep every tensor at the outermost level)", file=file,
                    field=f"{arch.levels[outer].name}.keep")
        return tuple(table)

    def spatial_xy(self, i: int, dims: tuple[str, ...]) -> tuple[int, int]:
        """Instances used on X and Y by level i's spatial factors."""
        lm = self.levels[i]
        axis = lm.spatial_axis(dims)
        x = math.prod(f for d, f in lm.spatial.items() if axis[d] == "X")
        y = math.prod(f for d, f in lm.spatial.items() if axis[d] == "Y")
        return x, y


def covered(loops: list[tuple[int, int]]) -> int:
    """Iterations a dimension's loops (factor, residual), outermost first, run: 1 + sum (r_i - 1) x prod_{j>i} f_j.
    The points visited are exactly 0..covered-1 (mixed-radix numbers up to the all-residual point)."""
    total, inner = 1, 1
    for f, r in reversed(loops):
        total += (r - 1) * inner
        inner *= f
    return total


def full_order(permutation: tuple[str, ...], dims: tuple[str, ...]) -> list[str]:
    """A permutation (innermost first) padded with the missing dims in problem order, as Timeloop does."""
    return list(permutation) + [d for d in dims if d not in permutation]
