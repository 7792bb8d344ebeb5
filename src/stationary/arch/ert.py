"""Energy-reference tables (Accelergy ERT layout): pJ per action for each component, looked up by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator

from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError
from stationary.schema import MAX_ENERGY_PJ, Name, Spec, parse
from stationary.yamlio import load_yaml

# Timeloop's action names, first match wins (topology.hpp, storageOperationMappings).
READ = ("random_read", "read")
FILL = ("random_fill", "random_write", "fill", "write")
UPDATE = ("random_update", "random_write", "update", "write")
COMPUTE = ("mac_random", "mult_random", "mac", "mult", "compute")


class _ERTAction(Spec):
    name: Name
    energy: Annotated[float, Field(allow_inf_nan=False)]
    arguments: dict[str, Any] | None = None

    @field_validator("energy")
    @classmethod
    def _pj(cls, v: float) -> float:
        if not 0 <= v <= MAX_ENERGY_PJ:
            raise ValueError(f"energy must be non-negative pJ (at most {MAX_ENERGY_PJ:g}), got {v}")
        return v


class _ERTTable(Spec):
    name: Name
    actions: list[_ERTAction]


class _ERTBody(Spec):
    version: str | float | int | None = None
    tables: list[_ERTTable]


class _ERTFile(Spec):
    ERT: _ERTBody


class EnergyTable:
    """Component name -> {action: pJ}. Names are matched on the last dotted part, without `[a..b]`."""

    def __init__(self, tables: dict[str, dict[str, float]], source: str = "") -> None:
        self.tables = tables
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> EnergyTable:
        file = str(path)
        return cls.from_dict(load_yaml(path), file)

    @classmethod
    def from_dict(cls, data: Any, file: str = "<ert>") -> EnergyTable:
        """Validate an Accelergy ERT (`ERT: {version, tables: [{name, actions: [{name, energy, arguments}]}]}`):
        unknown keys, non-numeric or negative or infinite energies are one error naming the field."""
        spec = parse(_ERTFile, data, file)
        tables: dict[str, dict[str, float]] = {}
        for table in spec.ERT.tables:
            actions: dict[str, float] = {}
            for action in table.actions:
                # several argument variants of one action: take the most expensive, as Timeloop does
                actions[action.name] = max(action.energy, actions.get(action.name, 0.0))
            name = component_name(table.name)
            tables[name] = {**tables.get(name, {}), **actions}
        return cls(tables, file)

    def actions(self, component: str) -> dict[str, float] | None:
        return self.tables.get(component)

    def storage(self, component: str) -> ActionEnergy:
        acts = self.tables.get(component)
        if acts is None:
            raise StationaryError(f"no energy table for storage component {component!r}; tables: "
                                  f"{sorted(self.tables)}", file=self.source)
        return ActionEnergy(_first(acts, READ), _first(acts, FILL), _first(acts, UPDATE), acts.get("leak", 0.0))

    def compute(self, component: str) -> float:
        acts = self.tables.get(component)
        if acts is None:
            raise StationaryError(f"no energy table for compute component {component!r}; tables: "
                                  f"{sorted(self.tables)}", file=self.source)
        return _first(acts, COMPUTE)


def component_name(full: str) -> str:
    """'System_top_level.PE[0..15].RegisterFile[1..1]' -> 'RegisterFile'."""
    return re.sub(r"\[[^\]]*\]", "", full).split(".")[-1]


def _first(actions: dict[str, float], names: tuple[str, ...]) -> float:
    for n in names:
        if n in actions:
            return actions[n]
    return 0.0
