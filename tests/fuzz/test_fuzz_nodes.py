"""Exhaustive single-node mutations of the Timeloop-format seeds (slow run): every node of every seed
deleted, or replaced by each of a fixed set of hostile values, must end as a valid result or a StationaryError.

The hypothesis suite samples mutations; this one enumerates the simplest ones, so no single wrong value at any
key of these formats can hide behind the sampler (it found an empty `data_spaces` that loaded and then crashed).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stationary.yamlio import parse_yaml
from tests.fuzz.mutations import _get, _paths
from tests.fuzz.targets import describe, run_pipeline, yaml_seeds

pytestmark = pytest.mark.slow

HOSTILE = [None, "abc", "", "0", -1, 0, 2.5, True, 10**30, 1e308, float("nan"), [], {}, [1], {"k": 1}]
DELETE = object()
FORMATS = ("timeloop_arch", "timeloop_ert", "timeloop_mapping", "timeloop_problem", "constraints")


def single_node_mutants(doc: Any) -> Iterator[Any]:
    """The document with one node deleted or replaced, for every node and every hostile value."""
    for at in _paths(doc)[1:]:
        for value in (DELETE, *HOSTILE):
            out = copy.deepcopy(doc)
            parent = _get(out, at[:-1])
            if value is DELETE:
                del parent[at[-1]]
            else:
                parent[at[-1]] = value
            yield out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_single_node_mutation_ends_in_a_result_or_a_clear_error(fmt: str, tmp_path: Path) -> None:
    findings: dict[str, str] = {}
    path = tmp_path / "spec.yaml"
    for seed, pipeline in yaml_seeds()[fmt]:
        for mutant in single_node_mutants(parse_yaml(seed.read_text(), str(seed))):
            path.write_text(yaml.safe_dump(mutant, sort_keys=False), encoding="utf-8")
            run_pipeline(f"{fmt} (each node)", pipeline, path, findings)
    assert not findings, f"{len(findings)} root causes in {fmt}:\n{describe(findings)}"
