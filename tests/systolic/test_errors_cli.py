"""Bad input is one clear StationaryError naming file and field; the CLI exits 2 without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stationary.errors import StationaryError
from stationary.systolic import SystolicConfig, SystolicProblem, read_config, read_topology
from tests.clirun import cli_env, run_cli

CASE = Path(__file__).parent.parent / "cases" / "scalesim" / "alexnet_a32_ws_CALC"
CFG = CASE / "a32_ws_CALC.cfg"
CLEAN = cli_env(clean=True)  # no user setting leaks into the process


def test_missing_and_malformed_config_fields(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text(CFG.read_text().replace("ArrayHeight:    32", "ArrayHeight: 3x"))
    with pytest.raises(StationaryError) as e:
        read_config(bad)
    assert e.value.field == "ArrayHeight" and e.value.file == str(bad)
    bad.write_text(CFG.read_text().replace("ArrayWidth:     32", "ArrayWidth: 0"))
    with pytest.raises(StationaryError, match="ArrayWidth"):
        read_config(bad)
    bad.write_text(CFG.read_text().replace("Dataflow : ws", "Dataflow : rs"))
    with pytest.raises(StationaryError) as e:
        read_config(bad)
    assert e.value.field == "Dataflow"
    bad.write_text("[general]\nrun_name = x\n")
    with pytest.raises(StationaryError, match="missing"):
        read_config(bad)


@pytest.mark.parametrize("row, field", [
    ("L, 10, 10, 3, 3, 4, 8, x,", "Strides"),
    ("L, 10, 10, 3,", "Filter Width"),
    ("L, 0, 10, 3, 3, 4, 8, 1,", "IFMAP Height"),
    ("L, 10, 10, 12, 3, 4, 8, 1,", "filter_h"),
    ("L, 10, 2, 3, 3, 4, 8, 1,", "filter_w"),
])
def test_bad_topology_rows(tmp_path, row, field):
    t = tmp_path / "t.csv"
    t.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                 f"Strides,\n{row}\n")
    with pytest.raises(StationaryError) as e:
        read_topology(t)
    assert e.value.field == field and e.value.file == str(t)


def test_zero_sized_array_and_layer():
    with pytest.raises(StationaryError, match="array_rows"):
        SystolicConfig(array_rows=0)
    with pytest.raises(StationaryError, match="num_filters"):
        SystolicProblem("z", 4, 4, 1, 1, 1, 0)


def test_gemm_topology(tmp_path):
    t = tmp_path / "g.csv"
    t.write_text("Layer, M, N, K,\nG0, 64, 32, 100,\n")
    (p,) = read_topology(t)
    assert (p.ofmap_px, p.num_filters, p.window) == (64, 32, 100)


def test_cli_json_contract(tmp_path):
    out = run_cli("systolic", "--config", str(CFG), "--topology", str(CASE / "alexnet.csv"), "--json", "--dram",
                  "estimate", "--outdir", str(tmp_path), env=CLEAN, timeout_s=120)
    assert out.returncode == 0, out.stderr
    layers = json.loads(out.stdout)["layers"]
    assert len(layers) == 5
    for key in ("name", "total_cycles", "stall_cycles", "overall_util_pct", "mapping_efficiency_pct",
                "compute_util_pct", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
                "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "energy_total_pj"):
        assert key in layers[0]
    header = (tmp_path / "COMPUTE_REPORT.csv").read_text().splitlines()[0]
    assert header.startswith("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles")
    assert (tmp_path / "DETAILED_ACCESS_REPORT.csv").exists() and (tmp_path / "BANDWIDTH_REPORT.csv").exists()


def test_cli_model_input():
    out = run_cli("systolic", "--config", str(CFG), "--model", "lenet5", "--json", "--dram", "estimate", env=CLEAN,
                  timeout_s=120)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["layers"]) >= 4


def test_cli_bad_input_exits_2(tmp_path):
    t = tmp_path / "t.csv"
    t.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                 "Strides,\nL, 4, 4, 5, 5, 1, 1, 1,\n")
    out = run_cli("systolic", "--config", str(CFG), "--topology", str(t), env=CLEAN, timeout_s=120)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and str(t) in out.stderr and "filter_h" in out.stderr
