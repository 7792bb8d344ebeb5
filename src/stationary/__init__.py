"""stationary: the cost of running a DNN, its schedule on an accelerator, and what algorithm changes buy.

The five nouns (see docs/concepts.md): Workload, Architecture, Mapping, Model, Mapper.
"""

__version__ = "0.1.0"
