"""The zoo reproduces the survey's Table IV (Sze et al. 2017) at its printed precision."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from stationary.workload.stats import network_stats
from stationary.workload.zoo import MODELS, get_model


def printed(value: float, text: str) -> bool:
    """True when `value` rounds to the survey's printed figure, e.g. '2.3M', '666M', '1.43G', '58k'."""
    scale = Decimal({"k": 1000, "M": 10**6, "G": 10**9}[text[-1]])
    digits = Decimal(text[:-1])
    rounded = (Decimal(int(value)) / scale).quantize(digits, rounding=ROUND_HALF_UP)  # as printed: half up
    return rounded == digits


# model: (conv layers, conv weights, conv MACs, fc layers, fc weights, fc MACs, total weights, total MACs)
SURVEY = {
    "alexnet": (5, "2.3M", "666M", 3, "58.6M", "58.6M", "61M", "724M"),
    "overfeat": (5, "16M", "2.67G", 3, "130M", "130M", "146M", "2.8G"),
    "vgg16": (13, "14.7M", "15.3G", 3, "124M", "124M", "138M", "15.5G"),
    "googlenet": (57, "6.0M", "1.43G", 1, "1M", "1M", "7M", "1.43G"),
    "resnet50": (53, "23.5M", "3.86G", 1, "2M", "2M", "25.5M", "3.9G"),
}


@pytest.mark.parametrize("model", sorted(SURVEY))
def test_survey_table(model: str) -> None:
    conv_l, conv_w, conv_m, fc_l, fc_w, fc_m, tot_w, tot_m = SURVEY[model]
    s = network_stats(get_model(model))
    assert s.conv_layers == conv_l and s.fc_layers == fc_l
    assert printed(s.conv_weights, conv_w), s.conv_weights
    assert printed(s.conv_macs, conv_m), s.conv_macs
    assert printed(s.fc_weights, fc_w), s.fc_weights
    assert printed(s.fc_macs, fc_m), s.fc_macs
    assert printed(s.conv_weights + s.fc_weights, tot_w)
    assert printed(s.conv_macs + s.fc_macs, tot_m)


def test_lenet5_documented_difference() -> None:
    """LeNet-5: weights and FC match the survey; CONV MACs are 357.6k, not its 283k (docs/zoo.md says why)."""
    s = network_stats(get_model("lenet5"))
    assert s.conv_layers == 2 and s.fc_layers == 2
    assert printed(s.conv_weights, "2.6k") and printed(s.fc_weights, "58k") and printed(s.fc_macs, "58k")
    assert s.conv_macs == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150


def test_alexnet_per_layer() -> None:
    """Eyeriss/Caffe AlexNet per layer (docs/references.md §1)."""
    layers = {layer.name: layer for layer in get_model("alexnet")}
    assert layers["conv1"].macs == 105_415_200 and (layers["conv1"].P, layers["conv1"].Q) == (55, 55)
    assert printed(layers["conv2"].macs, "224M") and layers["conv2"].G == 2
    assert printed(layers["conv3"].macs, "150M")
    assert printed(layers["conv4"].macs, "112M")
    assert printed(layers["conv5"].macs, "74.8M")
    assert (layers["fc6"].C, layers["fc6"].M) == (9216, 4096)


# torchvision's metadata (docs/references.md §1): its "GFLOPS" are MACs; params include biases and BN.
TORCHVISION = {"resnet18": (1.814, 11_689_512), "resnet50_v15": (4.089, 25_557_032),
               "mobilenet_v2": (0.301, 3_504_872), "vgg16": (15.47, 138_357_544)}


@pytest.mark.parametrize("model", sorted(TORCHVISION))
def test_torchvision_macs(model: str) -> None:
    gmacs, params = TORCHVISION[model]
    s = network_stats(get_model(model))
    assert round(s.macs / 1e9, 3 if gmacs < 10 else 2) == gmacs
    # our parameters exclude batch-norm's scale/shift/statistics, so they are at most torchvision's
    assert s.parameters <= params and s.parameters > 0.98 * params


def test_every_model_builds_and_scales_with_batch() -> None:
    for name in MODELS:
        one, four = network_stats(get_model(name)), network_stats(get_model(name, batch=4))
        assert one.macs > 0 and four.macs == 4 * one.macs
        assert four.weights == one.weights


def test_bert_layer_macs() -> None:
    s, d, f = 128, 768, 3072
    assert network_stats(get_model("bert_base_layer")).macs == 4 * s * d * d + 2 * s * s * d + 2 * s * d * f
