"""One validation point: a published number, the model's number, their relative error and the goal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Point:
    """A published reference against the model, with where the reference comes from."""

    group: str  # e.g. "Eyeriss chip (JSSC 2017)"
    name: str  # what is compared, e.g. "AlexNet CONV, batch 4: frame rate"
    unit: str
    reference: float
    model: float
    goal_rel: float  # |relative error| allowed (0 = exact)
    source: str
    note: str = ""

    @property
    def error_rel(self) -> float:
        """(model - reference) / reference; 0 when both are 0."""
        if self.reference == 0:
            return 0.0 if self.model == 0 else float("inf")
        return (self.model - self.reference) / self.reference

    @property
    def within_goal(self) -> bool:
        """True when the relative error is within the goal (with a little float slack)."""
        return abs(self.error_rel) <= self.goal_rel + 1e-12

    def to_json(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {"group": self.group, "name": self.name, "unit": self.unit, "reference": self.reference,
                "model": self.model, "error_rel": self.error_rel, "goal_rel": self.goal_rel,
                "within_goal": self.within_goal, "source": self.source, "note": self.note}
