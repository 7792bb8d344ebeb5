"""Timeloop v3.0.3's imperfect-factorization cases (tests/cases/timeloop-imperfect): where Timeloop refuses a
mapping whose factors do not multiply to the dimension, so does the model, naming the dimension and levels."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationary.arch.ert import EnergyTable
from stationary.arch.timeloop import load_timeloop_arch
from stationary.errors import StationaryError
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.model.evaluate import evaluate
from stationary.workload.importers.timeloop import load_problem

CASES = Path(__file__).parents[1] / "cases" / "timeloop-imperfect"


@pytest.mark.parametrize(("case", "message"), [
    ("imp1_P7_noresidual", "factors of P multiply to 8 (GlobalBuffer temporal 4 x RegisterFile temporal 2) but "
                           "the bound is 7"),
    ("imp2_K5_noresidual", "factors of K multiply to 6 (MainMemory temporal 3 x RegisterFile temporal 2) but "
                           "the bound is 5"),
])
def test_factors_not_covering_a_dimension_are_refused(case: str, message: str) -> None:
    d = CASES / case
    nest = load_problem(d / "problem.yaml")
    arch = load_timeloop_arch(d / "arch.yaml", EnergyTable.load(d / "ert.yaml"))
    with pytest.raises(StationaryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(nest, arch, load_timeloop_mapping(d / "mapping.yaml", nest, arch))
