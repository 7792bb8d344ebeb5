"""VGG-19 (Simonyan 2015, configuration E; the fused-layer paper's "VGGNet-E")."""

from __future__ import annotations

from stationary.workload.network import Network
from stationary.workload.zoo.builder import NetBuilder


def vgg19(batch: int = 1) -> Network:
    """VGG-19: 16 3x3 convolutions in five stages (2, 2, 4, 4, 4) and 3 FC layers."""
    b = NetBuilder("vgg19", 3, 224, batch)
    x = b.input
    for stage, (n, c) in enumerate([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)], start=1):
        for i in range(1, n + 1):
            x = b.conv(x, f"conv{stage}_{i}", c, 3, pad=1)
        x = b.pool(x, f"pool{stage}", 2)
    x = b.fc(x, "fc6", 4096)
    x = b.fc(x, "fc7", 4096)
    b.fc(x, "fc8", 1000)
    return b.build()
