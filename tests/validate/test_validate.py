"""`stationary validate`: every point is computed, and each error stays within the bound docs/validation.md states
(the goal, or for the points listed there as outside it, the documented gap)."""

from __future__ import annotations

import pytest

from stationary.arch.load import load_arch
from stationary.validate import VALIDATE_OPTIONS, group_tasks
from stationary.validate.eyeriss import ARCH, CHIP, TABLE_V, chip_points, eyeriss_points
from stationary.validate.nvdla import PRIMER, nvdla_points, preset
from stationary.validate.points import Point
from tests.clirun import cli_env, run_cli, run_cli_json

CLEAN = cli_env(clean=True)  # no user setting leaks into the processes

# points documented in docs/validation.md as outside their goal: (lowest, highest) relative error allowed
DOCUMENTED_GAPS = {
    "AlexNet CONV, batch 4: chip power": (-0.60, -0.40),
    "AlexNet CONV1, batch 4: power": (-0.65, -0.45),
    "AlexNet CONV1, batch 4: active PEs": (-0.25, -0.16),
    "AlexNet CONV2, batch 4: power": (-0.70, -0.55),
    "AlexNet CONV2, batch 4: processing latency": (0.18, 0.35),
    "AlexNet CONV2, batch 4: active PEs": (-0.40, -0.25),
    "AlexNet CONV3, batch 4: power": (-0.45, -0.25),
    "AlexNet CONV4, batch 4: power": (-0.36, -0.18),
    "AlexNet CONV5, batch 4: power": (-0.32, -0.16),
    "VGG-16 CONV, batch 3: frame rate": (1.00, 2.00),
    "VGG-16 CONV, batch 3: chip power": (-0.45, -0.25),
    "AlexNet CONV1, batch 16: DRAM energy": (-0.30, -0.10),
    "lenet5: CONV MACs": (0.263, 0.264),
    "lenet5: total MACs": (0.219, 0.220),
    # NVDLA at the validation's 2,000-evaluation budget: the search has not converged (docs/validation.md)
    "2048 MACs, 512 KB buffer, 20 GB/s: frame rate (evaluate)": (-0.78, -0.57),
    "1024 MACs, 256 KB buffer, 15 GB/s: frame rate (evaluate)": (-0.79, -0.59),
    "512 MACs, 256 KB buffer, 10 GB/s: frame rate (evaluate)": (-0.79, -0.59),
    "256 MACs, 256 KB buffer, 5 GB/s: frame rate (evaluate)": (-0.69, -0.49),
    "128 MACs, 256 KB buffer, 2 GB/s: frame rate (evaluate)": (-0.76, -0.56),
    "64 MACs, 128 KB buffer, 1 GB/s: frame rate (evaluate)": (-0.65, -0.45),
    "32 MACs, 128 KB buffer, 0.5 GB/s: frame rate (evaluate)": (-0.55, -0.35),
}


def check_bounds(points: list[dict]) -> None:
    """Points inside their goal, except the documented gaps, which stay inside their documented bounds."""
    for p in points:
        if p["name"] in DOCUMENTED_GAPS:
            lo, hi = DOCUMENTED_GAPS[p["name"]]
            assert lo <= p["error_rel"] <= hi, p
            assert not p["within_goal"], f"{p['name']} now meets its goal: update docs/validation.md"
        else:
            assert p["within_goal"], p


def test_point_error() -> None:
    p = Point("g", "n", "u", reference=200.0, model=230.0, goal_rel=0.15, source="s")
    assert p.error_rel == pytest.approx(0.15) and p.within_goal
    q = Point("g", "n", "u", reference=200.0, model=231.0, goal_rel=0.15, source="s")
    assert not q.within_goal and q.to_json()["error_rel"] == pytest.approx(0.155)


def test_cli_survey_isca_parity() -> None:
    """The command itself (the cheap groups): survey table, ISCA'16 study, Timeloop parity."""
    out = run_cli_json("validate", "--only", "survey,isca16,timeloop", "--json", "--jobs", "1", env=CLEAN,
                       timeout_s=300)
    groups = {p["group"] for p in out["points"]}
    assert groups == {"Survey model table", "ISCA'16 RS dataflow study", "Timeloop parity"}
    assert out["total"] == len(out["points"]) == 24 + 24 + 1
    assert all(p["source"] for p in out["points"])
    check_bounds(out["points"])
    timeloop = next(p for p in out["points"] if p["group"] == "Timeloop parity")
    assert timeloop["model"] == timeloop["reference"] > 1000  # every field compared is equal


def test_cli_unknown_group() -> None:
    p = run_cli("validate", "--only", "silicon", env=CLEAN)
    assert p.returncode == 2 and "unknown validation group" in p.stderr


def test_every_group_has_tasks() -> None:
    tasks = group_tasks()
    assert {"eyeriss:alexnet", "eyeriss:vgg16", "isca16", "survey", "timeloop"} <= set(tasks)
    assert sum(t.startswith("scalesim:") for t in tasks) == 3


@pytest.fixture(scope="module")
def eyeriss() -> tuple[list[Point], dict]:
    return eyeriss_points(VALIDATE_OPTIONS)


def test_eyeriss_silicon_points(eyeriss: tuple[list[Point], dict]) -> None:
    points, runs = eyeriss
    assert len(points) == 3 * len(CHIP) + 4 * len(TABLE_V)
    check_bounds([p.to_json() for p in points])
    alex = runs["alexnet"]["total"]
    assert alex["macs"] == 4 * 665_784_864
    # RLC compresses feature maps only: the DRAM traffic is never below every weight read once, uncompressed
    assert alex["dram_bytes"] > 2_332_704 * 2
    assert all(f"--arch {ARCH} " in run["command"] for run in runs.values())


@pytest.mark.parametrize("model", tuple(CHIP))
def test_validate_shows_what_evaluate_gives(eyeriss: tuple[list[Point], dict], model: str) -> None:
    """Every chip point equals the one read from `stationary evaluate --arch eyeriss_chip ... --json`'s output."""
    points, runs = eyeriss
    out = run_cli_json(*runs[model]["command"].split()[1:], env=CLEAN, timeout_s=300)
    assert out["arch"] == ARCH
    mine = [p for p in points if p.name in {q.name for q in chip_points(model, runs[model])}]
    theirs = chip_points(model, out)
    assert [p.name for p in mine] == [p.name for p in theirs] and len(theirs) >= 3
    for p, q in zip(mine, theirs):
        assert p.model == pytest.approx(q.model, rel=1e-9), p.name
    t, ev = out["total"], runs[model]["total"]
    assert t["cycles"] == ev["cycles"] and t["macs"] == ev["macs"]


def test_nvdla_presets_follow_the_primer() -> None:
    """Each preset: atomic-C x atomic-K = the row's MACs, its buffer, int8, DRAM GB/s as words per cycle."""
    for macs, (kb, gbps, _) in PRIMER.items():
        a = load_arch(preset(macs))
        assert a.compute.instances == a.compute.mesh_x * a.compute.mesh_y == macs
        assert a.clock_mhz == 1000 and a.compute.word_bits == 8
        buf = next(lv for lv in a.levels if lv.name == "ConvBuffer")
        assert buf.size_bytes == kb * 1024
        dram = a.levels[0]
        assert dram.read_bandwidth == dram.write_bandwidth == gbps * 1e9 / (a.clock_mhz * 1e6) / (dram.word_bits / 8)


def test_nvdla_point_is_evaluate() -> None:
    """The smallest configuration (cheap): the point is `evaluate --json`'s frame rate, within its bound."""
    points, runs = nvdla_points(VALIDATE_OPTIONS, (32,))
    out = run_cli_json(*runs["nvdla_32"]["command"].split()[1:], env=CLEAN, timeout_s=300)
    assert points[0].model == pytest.approx(out["total"]["fps"], rel=1e-12)
    assert out["total"]["macs"] == 3_857_973_248  # all CONV and FC layers of ResNet-50, batch 1
    check_bounds([p.to_json() for p in points])


def test_evaluate_contract() -> None:
    """`evaluate --json` totals: macs, energy_pj, cycles, dram_bytes, seconds, fps, power_mw at the given clock."""
    out = run_cli_json("evaluate", "alexnet", "--arch", "eyeriss", "--dataflow", "rs", "--batch", "2", "--layers",
                       "conv", "--clock-mhz", "100", "--budget", "2048", "--json", env=CLEAN, timeout_s=300)
    t = out["total"]
    assert len(out["layers"]) == 5 and t["macs"] == 2 * 665_784_864
    assert t["seconds"] == pytest.approx(t["cycles"] / 100e6)
    assert t["fps"] == pytest.approx(2 / t["seconds"])
    assert t["power_mw"] == pytest.approx(t["energy_pj"] * 1e-12 / t["seconds"] * 1e3)
    assert 0 < t["on_chip_power_mw"] < t["power_mw"]
    assert t["dram_bytes"] > 2 * (2_332_704 * 2)  # at least every weight once (16-bit words)
