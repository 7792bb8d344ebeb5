"""Design-space sweeps: varied architectures (params.py) × networks × dataflows (spec.py), results in SQLite
(store.py), run locally or on Dask, with the Pareto front of energy, cycles and area (engine.py)."""
