"""The `stationary stats` contract: JSON fields, the readable table, clear errors with exit status 2."""

from __future__ import annotations

import json

from tests.clirun import run_cli


def test_stats_json_contract() -> None:
    out = run_cli("stats", "alexnet", "--batch", "2", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model"] == "alexnet" and data["batch"] == 2
    layer = data["layers"][0]
    assert {"name", "kind", "macs", "weights", "input_activations", "output_activations", "dims"} <= set(layer)
    total = data["total"]
    assert {"macs", "weights", "activations", "conv_macs", "conv_weights", "fc_macs", "fc_weights",
            "layers"} <= set(total)
    assert total["macs"] == 2 * 724_406_816 and isinstance(total["macs"], int)
    assert total["macs"] == sum(layer["macs"] for layer in data["layers"])


def test_stats_table() -> None:
    out = run_cli("stats", "resnet50")
    assert out.returncode == 0 and "layer1_0_conv1" in out.stdout and "MACs" in out.stdout


def test_unknown_model_lists_known_ones() -> None:
    out = run_cli("stats", "resnet5")
    assert out.returncode == 2
    assert "unknown model" in out.stderr and "resnet50" in out.stderr and "Traceback" not in out.stderr


def test_bad_batch() -> None:
    out = run_cli("stats", "alexnet", "--batch", "0")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_unwritable_output_path_is_one_clear_message(tmp_path) -> None:
    """Any command writing where it cannot (here: a report into a missing folder) exits 2, no traceback."""
    out = run_cli("evaluate", "lenet5", "--arch", "eyeriss", "--budget", "500", "--report",
                  str(tmp_path / "missing" / "r.html"))
    assert out.returncode == 2, out.stderr
    assert "No such file or directory" in out.stderr and "Traceback" not in out.stderr
