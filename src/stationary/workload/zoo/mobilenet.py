"""Compact networks of depthwise-separable layers: MobileNet v1 (Howard 2017) and v2 (Sandler 2018)."""

from __future__ import annotations

from stationary.workload.network import Network
from stationary.workload.zoo.builder import NetBuilder


def mobilenet_v1(batch: int = 1) -> Network:
    """MobileNet v1, width 1.0, 224x224 (paper Table 1; the last depthwise layer keeps 7x7, stride 1)."""
    b = NetBuilder("mobilenet_v1", 3, 224, batch)
    x = b.conv(b.input, "conv1", 32, 3, stride=2, pad=1, bias=False)
    plan = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]
    for i, (stride, out) in enumerate(plan, start=1):
        x = b.conv(x, f"dw{i}", x.c, 3, stride=stride, pad=1, groups=x.c, bias=False)
        x = b.conv(x, f"pw{i}", out, 1, bias=False)
    x = b.global_pool(x, "avgpool")
    b.fc(x, "fc", 1000)
    return b.build()


def mobilenet_v2(batch: int = 1) -> Network:
    """MobileNet v2, width 1.0, as torchvision defines it (inverted residual blocks, 1280-channel head)."""
    b = NetBuilder("mobilenet_v2", 3, 224, batch)
    x = b.conv(b.input, "conv1", 32, 3, stride=2, pad=1, bias=False)
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]
    block = 0
    for t, c, n, s in settings:
        for i in range(n):
            block += 1
            name, stride, inp = f"block{block}", (s if i == 0 else 1), x
            hidden = x.c * t
            y = x if t == 1 else b.conv(x, f"{name}_expand", hidden, 1, bias=False)
            y = b.conv(y, f"{name}_dw", hidden, 3, stride=stride, pad=1, groups=hidden, bias=False)
            y = b.conv(y, f"{name}_project", c, 1, bias=False)
            x = b.add(y, inp, f"{name}_add") if (stride == 1 and inp.c == c) else y
    x = b.conv(x, "conv_last", 1280, 1, bias=False)
    x = b.global_pool(x, "avgpool")
    b.fc(x, "fc", 1000)
    return b.build()
