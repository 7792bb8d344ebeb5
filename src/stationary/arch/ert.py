"""Energy-reference tables (Accelergy ERT layout): pJ per action for each component, looked up by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stationary.arch.spec import ActionEnergy
from stationary.errors import StationaryError
from stationary.yamlio import load_yaml

# Timeloop's action names, first match wins (topology.hpp, storageOperationMappings).
READ = ("random_read", "read")
FILL = ("random_fill", "random_write", "fill", "write")
UPDATE = ("random_update", "random_write", "update", "write")
COMPUTE = ("mac_random", "mult_random", "mac", "mult", "compute")


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
        ert = data.get("ERT") if isinstance(data, dict) else None
        if not isinstance(ert, dict) or not isinstance(ert.get("tables"), list):
            raise StationaryError("expected an Accelergy ERT: `ERT: {tables: [...]}`", file=file, field="ERT.tables")
        tables: dict[str, dict[str, float]] = {}
        for i, table in enumerate(ert["tables"]):
            where = f"ERT.tables[{i}]"
            if not isinstance(table, dict) or "name" not in table:
                raise StationaryError("each table needs a name", file=file, field=where)
            actions: dict[str, float] = {}
            for j, action in enumerate(table.get("actions") or []):
                try:
                    name, energy = str(action["name"]), float(action["energy"])
                except (KeyError, TypeError, ValueError):
                    raise StationaryError("each action needs a name and a numeric energy", file=file,
                                          field=f"{where}.actions[{j}]") from None
                if not energy >= 0:
                    raise StationaryError(f"energy must be non-negative pJ, got {energy}", file=file,
                                          field=f"{where}.actions[{j}].energy")
                # several argument variants of one action: take the most expensive, as Timeloop does
                actions[name] = max(energy, actions.get(name, 0.0))
            tables[component_name(str(table["name"]))] = actions
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
