"""stationary: the cost of running a DNN, its schedule on an accelerator, and what algorithm changes buy.

The five nouns (see docs/concepts.md): Workload, Architecture, Mapping, Model, Mapper. From Python, start with
`stationary.api` (docs/api.md): `stats`, `evaluate`, `map_layer`, ... each returning a frozen, typed result
(`.to_json()`, `.to_pandas()`, `.plot(path)`); the CLI is a thin layer over it. Import it explicitly (it is not
imported with the package, so `import stationary` stays light).
"""

__version__ = "0.1.0"
