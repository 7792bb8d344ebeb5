"""Model zoo: layer shapes of well-known networks (no weights), built by code, never downloaded."""

from __future__ import annotations

from collections.abc import Callable

from stationary.errors import StationaryError
from stationary.workload.network import Network
from stationary.workload.zoo.classic import alexnet, lenet5, overfeat, vgg16, vgg19
from stationary.workload.zoo.inception import googlenet, squeezenet
from stationary.workload.zoo.mobilenet import mobilenet_v1, mobilenet_v2
from stationary.workload.zoo.resnet import resnet18, resnet50, resnet50_v15
from stationary.workload.zoo.transformer import bert_base_layer

MODELS: dict[str, Callable[..., Network]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "overfeat": overfeat,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "resnet50": resnet50,
    "resnet50_v15": resnet50_v15,
    "resnet18": resnet18,
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet": squeezenet,
    "bert_base_layer": bert_base_layer,
}


def get_model(name: str, batch: int = 1, **options: int) -> Network:
    """Build a zoo network by name at a batch size (`bert_base_layer` also takes `seq_len`)."""
    try:
        factory = MODELS[name.lower()]
    except KeyError:
        raise StationaryError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None
    if batch < 1:
        raise StationaryError(f"batch must be >= 1, got {batch}", field="batch")
    return factory(batch=batch, **options)
