"""The Architecture noun: a chain of storage levels over an array of MAC units, with per-action energies.

Levels are listed outermost first (DRAM ... register files). Each level has `instances` copies arranged as
`mesh_x` x `mesh_y`; the spatial fan-out between a level and its child is the ratio of their instances.
Energies are per full-width access (one `block_size`-word vector), in pJ, as in Timeloop/Accelergy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from stationary.errors import StationaryError
from stationary.model.sparsity import Sparsity
from stationary.schema import MAX_ENERGY_PJ, MAX_INT, short_repr

#: A spec may not make the tool allocate or loop without bound: these cap what YAML can ask for.
MAX_INSTANCES = 1 << 20
MAX_LEVELS = 16


class StorageKind(StrEnum):
    """What a storage level is built as (a native spec's `kind`): it picks the level's energy and area estimate."""

    DRAM = "DRAM"  # off chip, unbounded
    BUFFER = "buffer"  # an on-chip SRAM
    RF = "RF"  # a register file (flip-flop/latch array)

    @classmethod
    def parse(cls, value: str) -> StorageKind:
        """The kind named `value`, or a StationaryError listing the kinds."""
        try:
            return cls(value)
        except ValueError:
            raise StationaryError(f"unknown storage kind {short_repr(value)} ({', '.join(cls)})",
                                  field="kind") from None


def _finite_in(v: object, lo: float, hi: float, open_low: bool = False) -> bool:
    """A real number (not a bool), finite, in [lo, hi] (or (lo, hi])."""
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        return False
    return (v > lo if open_low else v >= lo) and v <= hi


def check_energy_pj(v: object, field_name: str, owner: str = "") -> None:
    """Refuse an energy that is not a finite number of pJ in 0..MAX_ENERGY_PJ (an inf would make totals NaN)."""
    if not _finite_in(v, 0.0, MAX_ENERGY_PJ):
        raise StationaryError(f"{owner}energy must be a finite number of pJ in 0..{MAX_ENERGY_PJ:g}, got {v!r}",
                              field=field_name)


@dataclass(frozen=True)
class ActionEnergy:
    """Energy per access of one storage level, in pJ; `leak_pj` is per cycle per instance."""

    read_pj: float = 0.0
    write_pj: float = 0.0  # a fill: data arriving from the parent level
    update_pj: float = 0.0  # a write-back of a partial sum (read-modify-write's write)
    leak_pj: float = 0.0

    def __post_init__(self) -> None:
        for name in ("read_pj", "write_pj", "update_pj", "leak_pj"):
            check_energy_pj(getattr(self, name), name)

    def scaled(self, factor: float) -> ActionEnergy:
        return ActionEnergy(self.read_pj * factor, self.write_pj * factor, self.update_pj * factor,
                            self.leak_pj * factor)


@dataclass(frozen=True)
class StorageLevel:
    """One level of the memory hierarchy (all its instances are identical)."""

    name: str
    depth: int | None = None  # rows of `block_size` words; None = unbounded (DRAM)
    block_size: int = 1  # words per access (width / datawidth)
    word_bits: int = 16
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    energy: ActionEnergy = field(default_factory=ActionEnergy)
    read_bandwidth: float | None = None  # words per cycle per instance; None = unlimited
    write_bandwidth: float | None = None
    area_um2: float = 0.0
    cls: str = "SRAM"  # DRAM, SRAM, regfile, ... (informational, used by energy tables)
    keep_only: frozenset[str] | None = None  # tensors this level may hold (None = any); from constraints
    bypass_always: frozenset[str] = frozenset()  # tensors it must bypass (from constraints)
    keep_always: frozenset[str] = frozenset()  # tensors it must keep (e.g. a converter every output crosses)
    multicast: bool = True  # the network below can deliver one read to several children
    virtual: bool = False  # a front-end spatial level (Timeloop's inter_<container>_spatial): holds nothing
    spatial_reduction: bool = True  # ... and add partial sums from several children on the way up
    # (tensor, "X" or "Y"): the network below cannot multicast that tensor along that mesh axis (AccelForge's
    # may_reuse per tensor and axis); `multicast: False` turns it off for every tensor on both axes
    no_multicast: frozenset[tuple[str, str]] = frozenset()
    leak_instances: str = "used"  # leakage on the instances a mapping uses ("used", power-gated) or on "all"

    def __post_init__(self) -> None:
        if not self.name:
            raise StationaryError("a storage level needs a name", field="name")
        for attr in ("block_size", "word_bits", "instances", "mesh_x", "mesh_y"):
            v = getattr(self, attr)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise StationaryError(f"level {self.name}: {attr} must be a positive integer, got {v!r}",
                                      field=attr)
        if self.depth is not None and (not isinstance(self.depth, int) or isinstance(self.depth, bool)
                                       or not 0 <= self.depth <= MAX_INT):
            raise StationaryError(f"level {self.name}: depth must be an integer in 0..{MAX_INT:,}, got "
                                  f"{self.depth!r}", field="depth")
        if self.block_size > MAX_INT or self.word_bits > MAX_INT:
            raise StationaryError(f"level {self.name}: block_size and word_bits must be at most {MAX_INT:,}",
                                  field="block_size")
        if self.instances > MAX_INSTANCES:
            raise StationaryError(f"level {self.name}: {self.instances} instances exceeds the limit "
                                  f"{MAX_INSTANCES}", field="instances")
        if self.mesh_x * self.mesh_y != self.instances:
            raise StationaryError(f"level {self.name}: mesh {self.mesh_x}x{self.mesh_y} does not equal "
                                  f"{self.instances} instances", field="instances")
        for attr in ("read_bandwidth", "write_bandwidth"):
            v = getattr(self, attr)
            if v is not None and not _finite_in(v, 0.0, math.inf, open_low=True):
                raise StationaryError(f"level {self.name}: {attr} must be a finite positive number, got {v!r}",
                                      field=attr)

    @property
    def size_words(self) -> int | None:
        """Capacity of one instance in words (None = unbounded)."""
        return None if self.depth is None else self.depth * self.block_size

    @property
    def size_bytes(self) -> float | None:
        return None if self.size_words is None else self.size_words * self.word_bits / 8


@dataclass(frozen=True)
class ComputeUnit:
    """The MAC array: `instances` units as `mesh_x` x `mesh_y`, each doing one MAC per cycle."""

    name: str = "MAC"
    instances: int = 1
    mesh_x: int = 1
    mesh_y: int = 1
    energy_pj: float = 1.0  # per MAC
    word_bits: int = 16
    area_um2: float = 0.0

    def __post_init__(self) -> None:
        if self.instances < 1 or self.mesh_x * self.mesh_y != self.instances:
            raise StationaryError(f"compute {self.name}: mesh {self.mesh_x}x{self.mesh_y} does not equal "
                                  f"{self.instances} instances", field="instances")
        if self.instances > MAX_INSTANCES:
            raise StationaryError(f"compute {self.name}: too many instances", field="instances")
        check_energy_pj(self.energy_pj, "energy_pj", f"compute {self.name}: ")


@dataclass(frozen=True)
class Architecture:
    """Storage levels outermost first, then the compute units; `clock_mhz` turns cycles into time."""

    name: str
    levels: tuple[StorageLevel, ...]
    compute: ComputeUnit
    clock_mhz: float = 1000.0
    technology: str = ""
    # container names -> index of their virtual spatial level (mapping targets may name either)
    spatial_aliases: tuple[tuple[str, int], ...] = ()
    sparsity: Sparsity | None = None  # densities, formats, zero gating/skipping (model/sparsity.py); None: dense

    def __post_init__(self) -> None:
        if not _finite_in(self.clock_mhz, 0.0, 1e12, open_low=True):
            raise StationaryError(f"architecture {self.name}: clock_mhz must be a finite positive number, got "
                                  f"{self.clock_mhz!r}", field="clock_mhz")
        if not self.levels:
            raise StationaryError(f"architecture {self.name}: needs at least one storage level")
        if len(self.levels) > MAX_LEVELS:
            raise StationaryError(f"architecture {self.name}: more than {MAX_LEVELS} levels")
        names = [lv.name for lv in self.levels]
        if len(set(names)) != len(names):
            raise StationaryError(f"architecture {self.name}: duplicate level names {names}")
        chain: list[StorageLevel | ComputeUnit] = [*self.levels, self.compute]
        for parent, child in zip(chain, chain[1:]):
            if child.instances % parent.instances or child.mesh_x % parent.mesh_x or child.mesh_y % parent.mesh_y:
                raise StationaryError(
                    f"architecture {self.name}: {child.name} ({child.mesh_x}x{child.mesh_y}) is not a whole "
                    f"multiple of its parent {parent.name} ({parent.mesh_x}x{parent.mesh_y})"
                )

    def fanout(self, i: int) -> tuple[int, int]:
        """Spatial fan-out (x, y) from level i to its child (level i+1, or the MACs)."""
        parent = self.levels[i]
        child = self.levels[i + 1] if i + 1 < len(self.levels) else self.compute
        return child.mesh_x // parent.mesh_x, child.mesh_y // parent.mesh_y

    def level_index(self, name: str) -> int:
        for i, lv in enumerate(self.levels):
            if lv.name == name:
                return i
        for alias, i in self.spatial_aliases:
            if alias == name:
                return i
        raise StationaryError(
            f"architecture {self.name} has no level {name!r}; levels: {[lv.name for lv in self.levels]}"
            + (f", spatial containers: {[a for a, _ in self.spatial_aliases]}" if self.spatial_aliases else "")
        )

    def with_level(self, i: int, **changes: Any) -> Architecture:
        levels = list(self.levels)
        levels[i] = replace(levels[i], **changes)
        return replace(self, levels=tuple(levels))

    @property
    def area_um2(self) -> float:
        return (sum(lv.area_um2 * lv.instances for lv in self.levels)
                + self.compute.area_um2 * self.compute.instances)
