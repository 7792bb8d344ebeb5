"""Fused layers (Alwani et al., MICRO 2016): groups of connected layers run tile by tile, intermediates on chip."""
