"""Systolic-array timing and traffic in closed form (SCALE-Sim's model, without its cycle loop)."""

from stationary.systolic.config import SystolicConfig, read_config
from stationary.systolic.model import LayerResult, simulate_layer, simulate_network
from stationary.systolic.topology import SystolicProblem, problem_from_layer, read_topology

__all__ = [
    "LayerResult", "SystolicConfig", "SystolicProblem", "problem_from_layer", "read_config", "read_topology",
    "simulate_layer", "simulate_network",
]
