"""The hypothesis strategies now live in tests/model/random_cases.py (the one random-case generator); this name
stays only for test_fast.py, which still imports `strategies` (drop it once that file imports random_cases)."""

from tests.model.random_cases import architectures, layers, mappings

__all__ = ["architectures", "layers", "mappings"]
