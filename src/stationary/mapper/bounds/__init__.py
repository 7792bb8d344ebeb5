"""Lower bounds on data movement and energy (Orojenesis-style single-level tilings), and the optimality
certificate every mapping result carries (docs/bounds.md)."""

from stationary.mapper.bounds.layer import LayerBound, LevelBound, layer_bound

__all__ = ["LayerBound", "LevelBound", "layer_bound"]
