"""Every command that takes a MODEL resolves it with the one resolver (workload/load.py): a zoo name, ZOO:LAYER,
an .onnx file or file.py:factory; a sweep spec may name zoo networks only (a factory would run its code)."""

from __future__ import annotations

import json

import pytest

from stationary.errors import StationaryError
from stationary.workload.load import load_network
from tests.clirun import run_cli


@pytest.mark.parametrize("command", [
    ("evaluate", "lenet5:conv2", "--budget", "300", "--jobs", "1", "--json"),
    ("bound", "lenet5:conv2", "--json"),
    ("report", "lenet5:conv2", "--budget", "300", "--jobs", "1", "--json"),
])
def test_zoo_layer_is_a_model_everywhere(command: tuple[str, ...]) -> None:
    out = run_cli(*command)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    layers = data["layers"] if "layers" in data else data["model"]["layers"]
    assert (len(layers) if isinstance(layers, list) else layers) == 1


@pytest.mark.parametrize("command", ["evaluate", "bound", "report", "neardata", "stats"])
def test_an_unknown_model_lists_every_source(command: str) -> None:
    out = run_cli(command, "nosuchnet")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "unknown model 'nosuchnet'" in out.stderr and ".onnx" in out.stderr and "ZOO:LAYER" in out.stderr


def test_a_spec_names_zoo_networks_only() -> None:
    assert load_network("lenet5:conv2", 2, zoo_only=True).layers[0].N == 2
    with pytest.raises(StationaryError, match="unknown zoo model"):
        load_network("evil.py:factory", 1, zoo_only=True)
    with pytest.raises(StationaryError, match="no MAC layer 'pool1'"):
        load_network("lenet5:pool1")
    with pytest.raises(StationaryError, match="--input-shape is for imported models"):
        load_network("lenet5", input_shape=(1, 1, 28, 28))  # never silently ignored
