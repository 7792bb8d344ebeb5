"""The optimality certificate on every mapping result: proven optimal, or bounded with a proven gap.

"optimal" is claimed only when the search scored every mapping of the (constrained) map space, with a model
that is exact there, and cut nothing: the search's exhaustive strategy on a space the fast model is exact for.
Otherwise "bounded": the energy found is at most (1 + gap) x the lower bound (bounds/layer.py), a gap proven
by the bound, not estimated. The map space is today's: perfect factorizations, loop orders up to equivalence.
"""

from __future__ import annotations

from dataclasses import dataclass

from stationary.arch.spec import Architecture
from stationary.mapper.bounds.layer import LayerBound, layer_bound
from stationary.mapper.search import SearchResult
from stationary.mapper.space import MapSpace
from stationary.mapping.constraints import Constraint
from stationary.model.fast import FastModel
from stationary.workload.loopnest import LoopNest

STATUSES = ("optimal", "bounded")


@dataclass(frozen=True)
class Optimality:
    """What is proven about one result: status, the energy lower bound, the gap to it, the search's effort."""

    status: str  # optimal | bounded
    lower_bound_pj: float
    gap: float  # found energy / lower bound - 1
    mappings_evaluated: int
    pruned: int  # mappings left out without scoring by a rule that keeps the optimum (none today)

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "lower_bound_pj": self.lower_bound_pj, "gap": self.gap,
                "mappings_evaluated": self.mappings_evaluated, "pruned": self.pruned}

    def label(self) -> str:
        """What a table prints: "optimal", or the proven gap ("≤ +57.3%")."""
        return "optimal" if self.status == "optimal" else f"≤ +{self.gap:.1%}"


def proven_optimal(found: SearchResult, nest: LoopNest, arch: Architecture,
                   constraints: list[Constraint] | None = None) -> bool:
    """True only when `found` is the optimum of its map space: every mapping scored, by an exact model."""
    if found.strategy != "exhaustive" or not FastModel(nest, arch).is_exact_for():
        return False
    return found.evaluated >= MapSpace(nest, arch, constraints).size()


def gap(energy_pj: float, lower_bound_pj: float) -> float:
    """found / bound - 1 (0 when both are 0)."""
    if lower_bound_pj <= 0:
        return 0.0 if energy_pj <= 0 else float("inf")
    return energy_pj / lower_bound_pj - 1


def certify(found: SearchResult, nest: LoopNest, arch: Architecture, constraints: list[Constraint] | None = None,
            bound: LayerBound | None = None) -> Optimality:
    """The certificate of one layer's search result."""
    lb = bound if bound is not None else layer_bound(nest, arch)
    status = "optimal" if proven_optimal(found, nest, arch, constraints) else "bounded"
    return Optimality(status, lb.energy_lower_bound_pj, gap(found.result.energy_pj, lb.energy_lower_bound_pj),
                      found.evaluated, 0)


def combine(parts: list[tuple[Optimality, float, bool]]) -> Optimality:
    """A network's certificate from (layer certificate, layer energy, searched here?) per layer: bounds and
    energies add up; "optimal" only if every layer is; evaluations count each searched shape once."""
    lb = sum(c.lower_bound_pj for c, _, _ in parts)
    energy = sum(e for _, e, _ in parts)
    status = "optimal" if parts and all(c.status == "optimal" for c, _, _ in parts) else "bounded"
    return Optimality(status, lb, gap(energy, lb), sum(c.mappings_evaluated for c, _, s in parts if s),
                      sum(c.pruned for c, _, s in parts if s))
