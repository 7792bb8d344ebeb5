"""The fuzz suite (issue 20 item 5): hostile variants of every spec format's valid files, fed in-process.

Each input must end as a valid object (checked against the model's invariants where the spec is complete)
or as a StationaryError; a traceback, a hang (30 s watchdog) or a broken invariant is a finding, reported
with its root cause and a reproducer. Default run: a few hundred inputs; `-m slow`: over 10,000.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.yamlio import parse_yaml
from tests.fuzz import mutations as mut
from tests.fuzz.targets import (
    SCALESIM_CFG,
    SCALESIM_TOPOLOGY,
    describe,
    run_pipeline,
    scalesim_cfg,
    scalesim_topology,
    vary_items,
    yaml_seeds,
)

DEFAULT_EXAMPLES = 35  # per format: ~350 inputs in all
SLOW_EXAMPLES = 1_100  # per format: ~11,000 inputs in all

YAML_FORMATS = yaml_seeds()


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def fuzz(fmt: str, strategy: st.SearchStrategy, write: Callable[[Any, Path], Callable[[Path], str]],
         examples: int, tmp_path: Path) -> None:
    findings: dict[str, str] = {}
    path = tmp_path / ("spec.cfg" if fmt == "scalesim_cfg" else "spec.csv" if fmt == "scalesim_topology"
                       else "spec.yaml")

    @_settings(examples)
    @given(strategy)
    def one(case: Any) -> None:
        pipeline = write(case, path)
        run_pipeline(fmt, pipeline, path, findings)

    one()
    assert not findings, f"{len(findings)} root causes in {fmt}:\n{describe(findings)}"


def yaml_case(fmt: str) -> tuple[st.SearchStrategy, Callable[[Any, Path], Callable[[Path], str]]]:
    seeds = YAML_FORMATS[fmt]
    docs = [(p.read_text(), parse_yaml(p.read_text(), str(p))) for p, _ in seeds]

    def write(case: tuple[int, str], path: Path) -> Callable[[Path], str]:
        index, text = case
        path.write_text(text, encoding="utf-8")
        return seeds[index][1]
    return mut.hostile_yaml(docs), write


def line_case(fmt: str) -> tuple[st.SearchStrategy, Callable[[Any, Path], Callable[[Path], str]]]:
    if fmt == "vary":
        def write_vary(items: list[str], path: Path) -> Callable[[Path], str]:
            return lambda _: vary_items(items)
        return mut.vary_items, write_vary
    seed, strategy, pipeline = {
        "scalesim_cfg": (SCALESIM_CFG, mut.hostile_cfg, scalesim_cfg),
        "scalesim_topology": (SCALESIM_TOPOLOGY, mut.hostile_csv, scalesim_topology)}[fmt]

    def write(text: str, path: Path) -> Callable[[Path], str]:
        path.write_text(text, encoding="utf-8")
        return pipeline
    return strategy(seed.read_text()), write


FORMATS = [*YAML_FORMATS, "scalesim_cfg", "scalesim_topology", "vary"]


def case_for(fmt: str) -> tuple[st.SearchStrategy, Callable[[Any, Path], Callable[[Path], str]]]:
    return yaml_case(fmt) if fmt in YAML_FORMATS else line_case(fmt)


def params(slow: bool) -> list[Any]:
    marks = [pytest.mark.slow] if slow else []
    return [pytest.param(f, marks=marks, id=f) for f in FORMATS]


@pytest.mark.parametrize("fmt", params(slow=False))
def test_hostile_specs_end_in_a_result_or_a_clear_error(fmt: str, tmp_path: Path) -> None:
    fuzz(fmt, *case_for(fmt), DEFAULT_EXAMPLES, tmp_path)


@pytest.mark.parametrize("fmt", params(slow=True))
def test_hostile_specs_slow(fmt: str, tmp_path: Path) -> None:
    fuzz(fmt, *case_for(fmt), SLOW_EXAMPLES, tmp_path)
