"""ResNets (He 2016): ResNet-18 and ResNet-50 v1 (stride on the first 1x1), and torchvision's v1.5."""

from __future__ import annotations

from stationary.workload.network import Network
from stationary.workload.zoo.builder import FMap, NetBuilder


def _stem(b: NetBuilder) -> FMap:
    x = b.conv(b.input, "conv1", 64, 7, stride=2, pad=3, bias=False)
    return b.pool(x, "pool1", 3, 2, pad=1)


def _bottleneck(b: NetBuilder, x: FMap, name: str, width: int, stride: int, v15: bool) -> FMap:
    out = width * 4
    s1, s3 = (1, stride) if v15 else (stride, 1)
    y = b.conv(x, f"{name}_conv1", width, 1, stride=s1, bias=False)
    y = b.conv(y, f"{name}_conv2", width, 3, stride=s3, pad=1, bias=False)
    y = b.conv(y, f"{name}_conv3", out, 1, bias=False)
    if stride != 1 or x.c != out:
        x = b.conv(x, f"{name}_downsample", out, 1, stride=stride, bias=False)
    return b.add(y, x, f"{name}_add")


def _basic(b: NetBuilder, x: FMap, name: str, width: int, stride: int) -> FMap:
    y = b.conv(x, f"{name}_conv1", width, 3, stride=stride, pad=1, bias=False)
    y = b.conv(y, f"{name}_conv2", width, 3, pad=1, bias=False)
    if stride != 1 or x.c != width:
        x = b.conv(x, f"{name}_downsample", width, 1, stride=stride, bias=False)
    return b.add(y, x, f"{name}_add")


def _resnet50(name: str, batch: int, v15: bool) -> Network:
    b = NetBuilder(name, 3, 224, batch)
    x = _stem(b)
    for stage, (blocks, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)], start=1):
        for i in range(blocks):
            stride = 2 if (i == 0 and stage > 1) else 1
            x = _bottleneck(b, x, f"layer{stage}_{i}", width, stride, v15)
    x = b.global_pool(x, "avgpool")
    b.fc(x, "fc", 1000)
    return b.build()


def resnet50(batch: int = 1) -> Network:
    """ResNet-50 v1 as in the paper and the survey (stride 2 on the first 1x1 of a stage): 53 CONV, 1 FC."""
    return _resnet50("resnet50", batch, v15=False)


def resnet50_v15(batch: int = 1) -> Network:
    """ResNet-50 "v1.5" as torchvision defines it (stride 2 on the 3x3 convolution): 4.09 GMACs."""
    return _resnet50("resnet50_v15", batch, v15=True)


def resnet18(batch: int = 1) -> Network:
    """ResNet-18: basic blocks [2, 2, 2, 2]."""
    b = NetBuilder("resnet18", 3, 224, batch)
    x = _stem(b)
    for stage, width in enumerate([64, 128, 256, 512], start=1):
        for i in range(2):
            x = _basic(b, x, f"layer{stage}_{i}", width, 2 if (i == 0 and stage > 1) else 1)
    x = b.global_pool(x, "avgpool")
    b.fc(x, "fc", 1000)
    return b.build()
