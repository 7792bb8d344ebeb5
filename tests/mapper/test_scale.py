"""Work bounded by what it computes: factorization by primes (cost in divisors, not in the bound), a pre-flight
count that samples a map space too large to list, and huge layers that answer in seconds."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.arch.load import load_arch
from stationary.mapper.space import (
    MAX_OPTIONS,
    MapSpace,
    bounded_factorizations,
    count_bounded,
    count_factorizations,
    divisors,
    ordered_factorizations,
    primes,
)
from stationary.workload.layer import Layer, LayerKind
from tests.clirun import run_cli_json


@given(st.integers(1, 5000))
def test_primes_and_divisors_match_brute_force(n: int) -> None:
    assert math.prod(primes(n)) == n and all(p > 1 and all(p % q for q in range(2, p)) for p in primes(n))
    assert list(divisors(n)) == [d for d in range(1, n + 1) if n % d == 0]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.lists(st.tuples(st.integers(1, 4), st.integers(1, 60)), min_size=1, max_size=4))
def test_bounded_factorizations_match_brute_force(n: int, raw: list[tuple[int, int]]) -> None:
    bounds = [(lo, max(lo, hi)) for lo, hi in raw]
    expect = [c for c in itertools.product(*(range(lo, hi + 1) for lo, hi in bounds)) if math.prod(c) == n]
    assert sorted(bounded_factorizations(n, bounds)) == expect
    assert count_bounded(n, tuple(bounds)) == len(expect)
    assert count_factorizations(n, len(bounds)) == len(ordered_factorizations(n, len(bounds)))


def test_factoring_a_huge_bound_costs_its_divisors_not_its_size() -> None:
    # no timing asserted: the old loop over every integer up to 10^12 never returned, so returning is the test
    assert len(divisors(10**12)) == 169 and primes(2**40 - 87) == [2**40 - 87]  # a prime near 2^40
    assert len(ordered_factorizations(10**12, 3)) == count_factorizations(10**12, 3) == math.comb(14, 2) ** 2


def test_a_map_space_too_large_to_list_is_sampled() -> None:
    nest = Layer("huge", LayerKind.FC, N=10**12, M=64, C=64).loop_nest()
    space = MapSpace(nest, load_arch("eyeriss"))
    k = nest.dims.index("N")
    assert space.sampled_dims == ["N"] and 0 < len(space.options[k]) <= MAX_OPTIONS
    assert (space.options[k].prod(axis=1) == 10**12).all()  # every sampled row is still a perfect factorization


def test_lenet5_at_a_trillion_batch_answers() -> None:
    out = run_cli_json("evaluate", "lenet5", "--batch", "1000000000000", "--budget", "2048", "--json", timeout_s=600)
    assert out["total"]["macs"] == 415_680 * 10**12 and out["total"]["energy_pj"] > 0


def test_a_gemm_with_k_a_billion_answers(tmp_path: Path) -> None:
    problem = tmp_path / "gemm.yaml"
    problem.write_text("""problem:
  shape:
    name: GEMM
    dimensions: [M, N, K]
    data_spaces:
    - {name: Weights, projection: [[[K]], [[N]]]}
    - {name: Inputs, projection: [[[M]], [[K]]]}
    - {name: Outputs, projection: [[[M]], [[N]]], read_write: true}
  instance: {M: 16, N: 16, K: 1000000000}
""")
    out = run_cli_json("map", "--arch", "eyeriss", "--problem", str(problem), "--budget", "2048", "--json",
                       timeout_s=600)
    assert out["macs"] == 16 * 16 * 10**9 and out["energy_pj"] > 0
