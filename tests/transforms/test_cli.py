"""The CLI contract: JSON fields per layer and method, `bench` as a subcommand, one-line errors, exit 2."""

from __future__ import annotations

import json

import pytest

from tests.clirun import run_cli


def test_model_json_fields() -> None:
    p = run_cli("transforms", "lenet5", "--json", "--layer", "conv2", "--repeats", "1", "--no-roofline", timeout_s=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    (layer,) = out["layers"]
    assert layer["layer"] == "conv2"
    for method in ("direct", "im2col", "strassen", "winograd-2", "winograd-4", "fft"):
        r = layer["methods"][method]
        for key in ("multiplications", "additions", "workspace_bytes", "max_abs_error", "seconds"):
            assert r[key] is not None, (method, key)
        assert r["max_abs_error"] < 1e-3
    assert layer["methods"]["direct"]["multiplications"] == 16 * 6 * 10 * 10 * 25
    assert layer["best_by_total_ops"] in layer["methods"]


def test_winograd_on_strided_layer_is_one_line_exit_2() -> None:
    p = run_cli("transforms", "alexnet", "--method", "winograd-2", "--no-measure", "--no-roofline", timeout_s=120)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "methods that can: direct, im2col, strassen, fft" in lines[0]


def test_unknown_model_exits_2() -> None:
    p = run_cli("transforms", "no-such-net", "--no-measure", timeout_s=120)
    assert p.returncode == 2 and "unknown model" in p.stderr


def test_bench_is_a_subcommand_not_a_model() -> None:
    pytest.importorskip("torch")
    p = run_cli("transforms", "bench", "--method", "direct,winograd-2", "--repeats", "1", "--json", timeout_s=120)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["rows"]
    assert {r["method"] for r in rows} == {"direct", "winograd-2"}
    assert all(r["ratio_vs_torch"] > 0 and r["max_abs_error_vs_torch"] < 1e-3 for r in rows)
