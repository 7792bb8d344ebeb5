"""Distinct elements of a projection axis: equal to brute-force enumeration, and cheap for huge bounds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.errors import StationaryError
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.loopnest import MAX_DISTINCT_SPAN, distinct_sums


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9), st.integers(1, 12)), min_size=1, max_size=3))
def test_distinct_sums_equal_brute_force(terms: list[tuple[int, int]]) -> None:
    brute = {sum(c * i for (c, _), i in zip(terms, idx)) for idx in itertools.product(*(range(n) for _, n in terms))}
    assert distinct_sums(terms) == len(brute)


def test_a_trillion_batch_is_counted_without_enumerating_it() -> None:
    layer = Layer("fc", LayerKind.FC, N=10**12, M=120, C=400)
    inputs = next(t for t in layer.loop_nest().tensors if t.name == "Inputs")
    assert inputs.distinct(layer.loop_nest().bounds) == 400 * 10**12


def test_a_huge_gappy_axis_is_refused_not_allocated() -> None:
    with pytest.raises(StationaryError, match="strided axis"):
        distinct_sums([(MAX_DISTINCT_SPAN, 3), (3, 2)])
