"""Resolve a MODEL argument — zoo name, `ZOO:LAYER`, .onnx file, or `file.py:factory` — to a Network: the one
resolver every command uses."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stationary.errors import StationaryError
from stationary.workload.network import Network
from stationary.workload.zoo import MODELS, get_model


def load_network(model: str, batch: int | None = None, input_shape: tuple[int, ...] | None = None,
                 allow_skip: bool = False, zoo_only: bool = False) -> Network:
    """A zoo network, one zoo layer (`ZOO:LAYER`), an imported ONNX file, or a PyTorch module from
    `path/to/file.py:factory`.

    `batch` None means 1 for a zoo network and, for an imported model, the first dim of `input_shape` or of
    the file's input (1 where the file leaves it symbolic); a number overrides it. An imported operator that
    cannot be counted and holds parameters or MACs is an error; `allow_skip` makes it a warning (in the
    network's `warnings`) that states its share. `zoo_only` (names read from a spec file) refuses files: a
    `file.py:factory` would run code the spec names.
    """
    if batch is not None and batch < 1:
        raise StationaryError(f"batch must be >= 1, got {batch}", field="--batch")
    zoo, sep, layer = model.partition(":")
    if zoo.lower() in MODELS and input_shape is not None:
        raise StationaryError(f"--input-shape is for imported models; the zoo's {zoo} has its own input "
                              "(--batch sets N)", field="--input-shape")
    if model.lower() in MODELS:
        return get_model(model, batch=batch or 1)
    if sep and zoo.lower() in MODELS:
        return zoo_layer(zoo, layer, batch or 1)
    if zoo_only:
        raise StationaryError(f"unknown zoo model {model!r}: a spec names zoo networks ({', '.join(MODELS)}) or "
                              "ZOO:LAYER (e.g. alexnet:conv2)", field="networks")
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
        f"unknown model {model!r}: give a zoo name ({', '.join(MODELS)}), ZOO:LAYER (e.g. alexnet:conv2), a path "
        "to an .onnx file, or path/to/file.py:factory"
    )


def zoo_layer(model: str, layer: str, batch: int = 1) -> Network:
    """One MAC layer of a zoo network alone (`alexnet:conv2`), unwired, as a one-layer Network."""
    net = get_model(model, batch=batch)
    found = [x for x in net.layers if x.name == layer]
    if not found or not found[0].kind.does_macs:
        raise StationaryError(f"{model} has no MAC layer {layer!r}; layers: "
                              f"{', '.join(x.name for x in net.mac_layers())}", field="model")
    return Network(f"{model}:{layer}", (replace(found[0], inputs=()),))
