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
            if product[d] != bound:
                held = [f"{lv.name} {kind} {f}" for lm, lv in zip(self.levels, arch.levels)
                        for kind, f in (("temporal", lm.temporal.get(d, 1)), ("spatial", lm.spatial.get(d, 1)))
                        if f > 1]
                raise StationaryError(
                    f"factors of {d} multiply to {product[d]} ({' x '.join(held) or 'no factor above 1'}) but the "
                    f"bound is {bound}: every factor must divide the dimension exactly (no remainder)", file=file,
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


def full_order(permutation: tuple[str, ...], dims: tuple[str, ...]) -> list[str]:
    """A permutation (innermost first) padded with the missing dims in problem order, as Timeloop does."""
    return list(permutation) + [d for d in dims if d not in permutation]
