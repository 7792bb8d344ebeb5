"""Shared fixtures of the importer tests: ONNX export of a module (legacy TorchScript exporter, offline)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")


def export_onnx(module: torch.nn.Module, shape: tuple[int, ...], path: Path,
                dynamic_batch: bool = False) -> Path:
    """torch.onnx.export with the TorchScript exporter (dynamo=False): fast and needs no network."""
    kwargs = {"dynamic_axes": {"x": {0: "batch"}}} if dynamic_batch else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(shape),), str(path), dynamo=False, input_names=["x"],
                          **kwargs)
    return path


@pytest.fixture
def to_onnx(tmp_path: Path) -> Callable[..., Path]:
    """Export a module to an .onnx file in tmp_path."""
    def run(module: torch.nn.Module, shape: tuple[int, ...], name: str = "model",
            dynamic_batch: bool = False) -> Path:
        return export_onnx(module, shape, tmp_path / f"{name}.onnx", dynamic_batch)
    return run
