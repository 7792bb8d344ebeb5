"""The one Pareto rule against its definition, checked point by point on random sets (ties included)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stationary.pareto import non_dominated

points = st.integers(1, 3).flatmap(lambda k: st.lists(st.lists(st.integers(0, 4), min_size=k, max_size=k),
                                                       max_size=25))


def dominates(a: list[int], b: list[int]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


@given(points)
def test_front_is_exactly_the_undominated_points(pts: list[list[int]]) -> None:
    want = {i for i, p in enumerate(pts) if not any(dominates(q, p) for q in pts)}
    got = non_dominated(pts)
    assert set(got) == want and len(got) == len(want)
    assert [pts[i] for i in got] == sorted(pts[i] for i in got)  # lexicographic order of the objectives


@given(points)
def test_unique_keeps_one_of_equal_points(pts: list[list[int]]) -> None:
    got = non_dominated(pts, unique=True)
    assert {tuple(pts[i]) for i in got} == {tuple(pts[i]) for i in non_dominated(pts)}
    assert len(got) == len({tuple(pts[i]) for i in got})
