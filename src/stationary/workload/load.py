"""Resolve a MODEL argument — zoo name, .onnx file, or `file.py:factory` — to a Network."""

from __future__ import annotations

from pathlib import Path

from stationary.errors import StationaryError
from stationary.workload.network import Network
from stationary.workload.zoo import MODELS, get_model


def load_network(model: str, batch: int | None = None, input_shape: tuple[int, ...] | None = None,
                 allow_skip: bool = False) -> Network:
    """A zoo network, an imported ONNX file, or a PyTorch module from `path/to/file.py:factory`.

    `batch` None means 1 for a zoo network and, for an imported model, the first dim of `input_shape` or of
    the file's input (1 where the file leaves it symbolic); a number overrides it. An imported operator that
    cannot be counted and holds parameters or MACs is an error; `allow_skip` makes it a warning (in the
    network's `warnings`) that states its share.
    """
    if batch is not None and batch < 1:
        raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
    if model.lower() in MODELS:
        return get_model(model, batch=batch or 1)
    if model.endswith(".onnx"):
        from stationary.workload.importers.onnx import import_onnx

        return import_onnx(Path(model), batch=batch, input_shape=input_shape, allow_skip=allow_skip)
    if ".py:" in model:
        from stationary.workload.importers.pytorch import import_factory

        if input_shape is None:
            raise StationaryError("a PyTorch factory needs --input-shape (e.g. 1,3,224,224)",
                                  field="--input-shape")
        return import_factory(model, batch=batch, input_shape=input_shape, allow_skip=allow_skip)
    raise StationaryError(
        f"unknown model {model!r}: give a zoo name ({', '.join(MODELS)}), a path to an .onnx file, "
        "or path/to/file.py:factory"
    )
