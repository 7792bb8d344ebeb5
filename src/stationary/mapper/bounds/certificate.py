"""The optimality certificate on every mapping result: proven optimal, or bounded with a proven gap.

"optimal" is claimed only when the search scored or provably cut every mapping of the (constrained) map space,
with a model that is exact there: the exhaustive strategy, or an exact branch and bound (mapper/exact.py) that
finished, on a space the fast model is exact for and that was listed, not sampled; or when the objective found
equals a proven lower bound (within SLACK, as the exact search: a layer whose cycles meet the compute bound).
Otherwise "bounded": the
objective found is at most (1 + gap) x a proven lower bound: for energy the larger of the layer bound
(bounds/layer.py) and the least bound of the branch and bound's open nodes; for cycles and EDP the branch and
bound's and the layer bound's (compute cycles at the most MACs any mapping can use, times the energy bound for
EDP), whichever is larger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stationary.arch.spec import Architecture
from stationary.mapper.bounds.layer import LayerBound, layer_bound
from stationary.mapper.exact import SLACK
from stationary.mapper.search import SearchResult
from stationary.mapper.space import MapSpace
from stationary.mapping.constraints import Constraint
from stationary.workload.loopnest import LoopNest

STATUSES = ("optimal", "bounded")


@dataclass(frozen=True)
class Optimality:
    """What is proven about one result: status, the energy lower bound, the gap to it, the search's effort."""

    status: str  # optimal | bounded
    lower_bound_pj: float
    gap: float  # found objective / proven lower bound on it - 1 (0 when optimal)
    mappings_evaluated: int
    pruned: int  # nodes of the branch and bound cut by a rule that keeps the optimum (0 for other strategies)
    objective: str = "energy"  # what `gap` measures: energy, cycles or edp
    cycles_lower_bound: float = 0.0  # the layer's proven cycles floor (networks: the sum); not in the JSON

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "lower_bound_pj": self.lower_bound_pj, "gap": self.gap,
                "mappings_evaluated": self.mappings_evaluated, "pruned": self.pruned, "objective": self.objective}

    def label(self) -> str:
        """What a table prints: "optimal", or the proven gap ("≤ +57.3%")."""
        return "optimal" if self.status == "optimal" else f"≤ +{self.gap:.1%}"


def proven_optimal(found: SearchResult, nest: LoopNest, arch: Architecture,
                   constraints: list[Constraint] | None = None) -> bool:
    """True only when `found` is the optimum of its map space: every mapping scored (the fast model is exact)."""
    if found.sampled:
        return False
    if found.strategy == "exact":
        return found.complete
    if found.strategy != "exhaustive":
        return False
    return found.evaluated >= MapSpace(nest, arch, constraints).size()


def gap(energy_pj: float, lower_bound_pj: float) -> float:
    """found / bound - 1 (0 when both are 0)."""
    if lower_bound_pj <= 0:
        return 0.0 if energy_pj <= 0 else float("inf")
    return energy_pj / lower_bound_pj - 1


def certify(found: SearchResult, nest: LoopNest, arch: Architecture, constraints: list[Constraint] | None = None,
            bound: LayerBound | None = None, objective: str = "energy", imperfect: bool = True,
            update_energy: str = "update") -> Optimality:
    """The certificate of one layer's search result for the objective it was searched for; without a bound
    given or found, the layer bound over the space searched (`imperfect`: remainders included) with updates
    priced as the search's model priced them (`update_energy`)."""
    lb = bound if bound is not None else (found.bound if found.bound is not None
                                          else layer_bound(nest, arch, imperfect=imperfect,
                                                           update_energy=update_energy))
    energy_lb = lb.energy_lower_bound_pj
    if proven_optimal(found, nest, arch, constraints):
        return Optimality("optimal", energy_lb, 0.0, found.evaluated, found.pruned, objective,
                          lb.cycles_lower_bound)
    r = found.result
    value = {"energy": r.energy_pj, "cycles": float(r.cycles), "edp": r.energy_pj * r.cycles}[objective]
    # each mapping's energy and cycles are at least the layer's bounds on them, so its EDP is at least their product
    floor = {"energy": energy_lb, "cycles": lb.cycles_lower_bound, "edp": energy_lb * lb.cycles_lower_bound}
    proven = max(found.objective_bound, floor[objective])
    g = gap(value, proven)
    if g <= SLACK:  # the value found is a proven lower bound (within the exact search's slack): nothing is better
        return Optimality("optimal", energy_lb, 0.0, found.evaluated, found.pruned, objective,
                          lb.cycles_lower_bound)
    return Optimality("bounded", energy_lb, g, found.evaluated, found.pruned, objective, lb.cycles_lower_bound)


def combine(parts: list[tuple[Optimality, float, float, bool]]) -> Optimality:
    """A network's certificate from (layer certificate, layer energy, layer cycles, searched here?) per layer,
    the layers run back to back: energies, cycles and their bounds add up; "optimal" only if every layer is (gap
    0); otherwise the gap of the network's objective (total energy, total cycles, or their product for EDP) to
    its proven bound; evaluations count each searched shape once."""
    lb = sum(c.lower_bound_pj for c, _, _, _ in parts)
    cycles_lb = sum(c.cycles_lower_bound for c, _, _, _ in parts)
    energy, cycles = sum(e for _, e, _, _ in parts), sum(n for _, _, n, _ in parts)
    status = "optimal" if parts and all(c.status == "optimal" for c, _, _, _ in parts) else "bounded"
    objective = parts[0][0].objective if parts and len({c.objective for c, _, _, _ in parts}) == 1 else "energy"

    def proven(kind: str) -> float:
        """Σ of each layer's proven bound on its energy or cycles: a layer certified for that objective is at most
        (1 + gap) x a proven bound, so its value / (1 + gap) is one; any layer is at least its floor."""
        total = 0.0
        for c, e, n, _ in parts:
            floor, got = (c.lower_bound_pj, e) if kind == "energy" else (c.cycles_lower_bound, n)
            total += max(floor, got / (1 + c.gap)) if c.objective == kind and math.isfinite(c.gap) else floor
        return total

    if objective == "edp":  # each layer's energy and cycles are at least their floors
        value, bound = energy * cycles, lb * cycles_lb
    else:
        value, bound = (cycles, proven("cycles")) if objective == "cycles" else (energy, proven("energy"))
    return Optimality(status, lb, 0.0 if status == "optimal" else gap(value, bound),
                      sum(c.mappings_evaluated for c, _, _, s in parts if s),
                      sum(c.pruned for c, _, _, s in parts if s), objective, cycles_lb)
