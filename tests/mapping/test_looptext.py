"""The printed loop nest shows a remainder (imperfect factor) where the mapping has one."""

from __future__ import annotations

from pathlib import Path

from stationary.arch.ert import EnergyTable
from stationary.arch.timeloop import load_timeloop_arch
from stationary.mapping.looptext import loop_nest_text
from stationary.mapping.timeloop import load_timeloop_mapping
from stationary.workload.importers.timeloop import load_problem

CASES = Path(__file__).parents[1] / "cases" / "timeloop-imperfect"


def test_a_residual_is_printed_with_its_last_pass_range() -> None:
    d = CASES / "imp1_P7"
    nest = load_problem(d / "problem.yaml")
    arch = load_timeloop_arch(d / "arch.yaml", EnergyTable.load(d / "ert.yaml"))
    text = loop_nest_text(nest, arch, load_timeloop_mapping(d / "mapping.yaml", nest, arch))
    assert "for p in [0, 2), [0, 1) when every outer p loop is at its last iteration:" in text
    assert "for p in [0, 4):" in text  # the GlobalBuffer loop has no remainder
