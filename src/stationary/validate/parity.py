"""Parity points: the zoo against the survey's model table, the model against Timeloop's outputs and the
systolic model against SCALE-Sim's, each counted as fields that match out of fields compared.

The Timeloop and SCALE-Sim cases live in the repository's `tests/cases/`; an installed package without them
reports no parity points for those suites (and says so).
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from stationary.validate.points import Point
from stationary.workload.stats import network_stats
from stationary.workload.zoo import get_model

CASES_DIR = Path(__file__).resolve().parents[3] / "tests" / "cases"
SURVEY_SOURCE = "Sze et al. 2017, Table IV (docs/references.md §1)"
SURVEY_GROUP = "Survey model table"
# model: (CONV weights, CONV MACs, FC weights, total MACs) as printed
SURVEY = {
    "lenet5": ("2.6k", "283k", "58k", "341k"),
    "alexnet": ("2.3M", "666M", "58.6M", "724M"),
    "overfeat": ("16M", "2.67G", "130M", "2.8G"),
    "vgg16": ("14.7M", "15.3G", "124M", "15.5G"),
    "googlenet": ("6.0M", "1.43G", "1M", "1.43G"),
    "resnet50": ("23.5M", "3.86G", "2M", "3.9G"),
}
SURVEY_NOTES = {("lenet5", "CONV MACs"): "no LeNet-5 variant with 2.6k CONV weights gives 283k (docs/zoo.md)",
                ("lenet5", "total MACs"): "follows from CONV MACs (docs/zoo.md)"}


def printed_value(text: str) -> tuple[float, float]:
    """'2.3M' -> (2.3e6, half a unit of the last printed digit, relative): the value and its precision."""
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}[text[-1]]
    digits = Decimal(text[:-1])
    exponent = digits.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite printed value: {text!r}")
    half_ulp = Decimal(1).scaleb(exponent) / 2
    return float(digits) * scale, float(half_ulp / digits)


def rounds_to(value: float, text: str) -> bool:
    """True when `value` rounds half-up to the printed figure."""
    scale = Decimal({"k": 1000, "M": 10**6, "G": 10**9}[text[-1]])
    digits = Decimal(text[:-1])
    return (Decimal(int(value)) / scale).quantize(digits, rounding=ROUND_HALF_UP) == digits


def survey_points() -> list[Point]:
    """CONV weights, CONV MACs, FC weights and total MACs of each model, at the survey's printed precision."""
    points = []
    for model, figures in SURVEY.items():
        s = network_stats(get_model(model))
        values = (s.conv_weights, s.conv_macs, s.fc_weights, s.conv_macs + s.fc_macs)
        for what, text, got in zip(("CONV weights", "CONV MACs", "FC weights", "total MACs"), figures, values):
            ref, goal = printed_value(text)
            # the goal is the printed precision: within half a unit of the last digit (rounding half up)
            if rounds_to(got, text):
                goal = max(goal, abs(got - ref) / ref)
            points.append(Point(SURVEY_GROUP, f"{model}: {what}", "count", ref, float(got), goal, SURVEY_SOURCE,
                                SURVEY_NOTES.get((model, what), "")))
    return points


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def timeloop_fields(case: Path) -> tuple[int, int]:
    """(fields matched, fields compared) of one Timeloop case: totals, per level, per tensor."""
    from stationary.arch.ert import EnergyTable
    from stationary.arch.timeloop import load_timeloop_arch
    from stationary.mapping.timeloop import load_timeloop_mapping
    from stationary.model.evaluate import evaluate
    from stationary.workload.importers.timeloop import load_problem

    exp = json.loads((case / "expected.json").read_text())
    nest = load_problem(case / "problem.yaml")
    arch = load_timeloop_arch(case / "arch.yaml", EnergyTable.load(case / "ert.yaml"))
    res = evaluate(nest, arch, load_timeloop_mapping(case / "mapping.yaml", nest, arch))
    checks = [res.macs == exp["macs"], res.cycles == exp["cycles"], _close(res.utilization, exp["utilization"]),
              _close(res.energy_pj, exp["energy_pj"]), _close(res.compute_energy_pj, exp["compute"]["energy_pj"]),
              res.utilized_macs == exp["compute"]["utilized_instances"]]
    levels = {lv.name: lv for lv in res.levels}
    for want in exp["levels"]:
        got = levels.get(want["name"])
        if got is None:
            checks += [False] * (5 + 10 * sum(w["kept"] for w in want["data_spaces"].values()))
            continue
        checks += [got.instances == want["instances"], got.block_size == want["block_size"],
                   got.cycles == want["cycles"], _close(got.leak_energy_pj, want["leak_energy_pj"]),
                   _close(got.dynamic_energy_pj, want["dynamic_energy_pj"])]
        for name, w in want["data_spaces"].items():
            if not w["kept"]:
                continue
            g = got.tensors[name]
            pi = w["per_instance"]
            checks += [g.reads == w["reads"], g.fills == w["fills"], g.updates == w["updates"],
                       (g.reads_per_instance, g.fills_per_instance, g.updates_per_instance)
                       == (pi["reads"], pi["fills"], pi["updates"]),
                       _close(g.energy_pj, w["energy_pj"]), _close(g.energy_per_instance_pj, pi["energy_pj"]),
                       g.utilized_instances == w["utilized_instances"], g.partition_size == w["partition_size"],
                       g.utilized_capacity == w["utilized_capacity"],
                       g.temporal_reductions_per_instance == w["temporal_reductions_per_instance"]]
    return sum(checks), len(checks)


SCALESIM_INT = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "sram_ifmap_reads",
                "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_reads", "dram_filter_reads",
                "dram_ofmap_writes")
SCALESIM_PCT = ("overall_util_pct", "mapping_efficiency_pct", "compute_util_pct")
# report columns where SCALE-Sim counts the last cycle's index: LayerResult keeps them as scalesim_*
SCALESIM_OWN = {"total_cycles_incl_prefetch", "total_cycles", "overall_util_pct"}


def scalesim_fields(case: Path) -> tuple[int, int]:
    """(fields matched, fields compared) of one SCALE-Sim case: every report column of every layer."""
    from stationary.systolic import read_config, read_topology, simulate_network

    exp = json.loads((case / "expected.json").read_text())
    results = simulate_network(read_topology(case / exp["topology_file"]), read_config(next(case.glob("*.cfg"))))
    checks = [len(results) == len(exp["layers"])]
    for r, e in zip(results, exp["layers"]):
        own = {f: getattr(r, f"scalesim_{f}" if f in SCALESIM_OWN else f) for f in SCALESIM_INT + SCALESIM_PCT}
        checks += [own[f] == e[f] for f in SCALESIM_INT]
        checks += [math.isclose(own[f], e[f], rel_tol=1e-12) for f in SCALESIM_PCT]
        for key, v in e["access_cycles"].items():
            level, tensor, edge, _ = key.lower().split()
            checks.append(getattr(r, f"{level}_{tensor}_{edge}_cycle") == int(v))
    return sum(checks), len(checks)


def scalesim_cases() -> list[Path]:
    """The SCALE-Sim case folders shipped with the repository (none in an installed package)."""
    ss_dir = CASES_DIR / "scalesim"
    return sorted(p for p in ss_dir.iterdir() if p.is_dir()) if ss_dir.is_dir() else []


def timeloop_points() -> tuple[list[Point], dict[str, Any]]:
    """Timeloop, all cases together: fields matched of fields compared."""
    points: list[Point] = []
    detail: dict[str, Any] = {"cases_dir": str(CASES_DIR)}
    tl_dir = CASES_DIR / "timeloop"
    if tl_dir.is_dir():
        cases = sorted(p for p in tl_dir.iterdir() if p.is_dir())
        per_case = {c.name: timeloop_fields(c) for c in cases}
        detail["timeloop"] = per_case
        matched, total = (sum(v[i] for v in per_case.values()) for i in (0, 1))
        points.append(Point("Timeloop parity", f"{len(cases)} cases: fields equal (counts exact, energy 1e-9)",
                            "fields", total, matched, 0.0, "NVlabs/timeloop v3.0.3 outputs (tests/cases/timeloop)"))
    return points, detail


def scalesim_points(case: Path) -> tuple[list[Point], dict[str, Any]]:
    """One SCALE-Sim case (one dataflow): report fields matched of fields compared."""
    matched, total = scalesim_fields(case)
    point = Point("SCALE-Sim parity", f"{case.name}: report fields equal", "fields", total, matched, 0.0,
                  "SCALE-Sim 3.0.0 outputs (tests/cases/scalesim)")
    return [point], {case.name: (matched, total)}
