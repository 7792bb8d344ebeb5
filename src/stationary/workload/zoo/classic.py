"""The survey's Table IV networks in their original (paper / Caffe) form: LeNet-5, AlexNet, OverFeat, VGG-16."""

from __future__ import annotations

from stationary.workload.network import Network
from stationary.workload.zoo.builder import NetBuilder


def lenet5(batch: int = 1) -> Network:
    """LeNet-5 (LeCun 1998) as the survey counts it: C1, C3 convolutions; C5 and F6 as its 2 FC layers.

    The input is 32x32 (the survey's "28x28" digits padded by 2). C3 is fully connected to S2's six maps
    and the Gaussian-RBF output layer (84x10) is not counted, as in the survey's 2 FC layers / 58k weights.
    """
    b = NetBuilder("lenet5", 1, 32, batch)
    x = b.conv(b.input, "conv1", 6, 5)
    x = b.pool(x, "pool1", 2, op="avg_pool")
    x = b.conv(x, "conv2", 16, 5)
    x = b.pool(x, "pool2", 2, op="avg_pool")
    x = b.fc(x, "fc1", 120)
    b.fc(x, "fc2", 84)
    return b.build()


def alexnet(batch: int = 1) -> Network:
    """AlexNet (Krizhevsky 2012) as in the original Caffe model: 227x227 input, two groups in CONV2/4/5."""
    b = NetBuilder("alexnet", 3, 227, batch)
    x = b.conv(b.input, "conv1", 96, 11, stride=4)
    x = b.pool(x, "pool1", 3, 2)
    x = b.conv(x, "conv2", 256, 5, pad=2, groups=2)
    x = b.pool(x, "pool2", 3, 2)
    x = b.conv(x, "conv3", 384, 3, pad=1)
    x = b.conv(x, "conv4", 384, 3, pad=1, groups=2)
    x = b.conv(x, "conv5", 256, 3, pad=1, groups=2)
    x = b.pool(x, "pool5", 3, 2)
    x = b.fc(x, "fc6", 4096)
    x = b.fc(x, "fc7", 4096)
    b.fc(x, "fc8", 1000)
    return b.build()


def overfeat(batch: int = 1) -> Network:
    """OverFeat "fast" model (Sermanet 2014, Table 1): 231x231 input."""
    b = NetBuilder("overfeat", 3, 231, batch)
    x = b.conv(b.input, "conv1", 96, 11, stride=4)
    x = b.pool(x, "pool1", 2)
    x = b.conv(x, "conv2", 256, 5)
    x = b.pool(x, "pool2", 2)
    x = b.conv(x, "conv3", 512, 3, pad=1)
    x = b.conv(x, "conv4", 1024, 3, pad=1)
    x = b.conv(x, "conv5", 1024, 3, pad=1)
    x = b.pool(x, "pool5", 2)
    x = b.fc(x, "fc6", 3072)
    x = b.fc(x, "fc7", 4096)
    b.fc(x, "fc8", 1000)
    return b.build()


def _vgg(name: str, convs_per_stage: tuple[int, ...], batch: int) -> Network:
    """A VGG (Simonyan 2015): five stages of 3x3 convolutions (64-512 channels) with 2x2 pooling, 3 FC layers."""
    b = NetBuilder(name, 3, 224, batch)
    x = b.input
    for stage, (n, c) in enumerate(zip(convs_per_stage, (64, 128, 256, 512, 512), strict=True), start=1):
        for i in range(1, n + 1):
            x = b.conv(x, f"conv{stage}_{i}", c, 3, pad=1)
        x = b.pool(x, f"pool{stage}", 2)
    x = b.fc(x, "fc6", 4096)
    x = b.fc(x, "fc7", 4096)
    b.fc(x, "fc8", 1000)
    return b.build()


def vgg16(batch: int = 1) -> Network:
    """VGG-16 (configuration D): 13 3x3 convolutions and 3 FC layers."""
    return _vgg("vgg16", (2, 2, 3, 3, 3), batch)


def vgg19(batch: int = 1) -> Network:
    """VGG-19 (configuration E; the fused-layer paper's "VGGNet-E"): 16 3x3 convolutions and 3 FC layers."""
    return _vgg("vgg19", (2, 2, 4, 4, 4), batch)
