"""GoogLeNet v1 (Szegedy 2015, Table 1) and SqueezeNet 1.0 (Iandola 2016): networks of concatenated branches."""

from __future__ import annotations

from stationary.workload.network import Network
from stationary.workload.zoo.builder import FMap, NetBuilder

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) -- the paper's Table 1
_INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(b: NetBuilder, x: FMap, tag: str) -> FMap:
    c1, r3, c3, r5, c5, pp = _INCEPTION[tag]
    p = f"inception{tag}"
    a = b.conv(x, f"{p}_1x1", c1, 1)
    m = b.conv(b.conv(x, f"{p}_3x3_reduce", r3, 1), f"{p}_3x3", c3, 3, pad=1)
    f = b.conv(b.conv(x, f"{p}_5x5_reduce", r5, 1), f"{p}_5x5", c5, 5, pad=2)
    q = b.conv(b.pool(x, f"{p}_pool", 3, 1, pad=1), f"{p}_pool_proj", pp, 1)
    return b.concat(a, m, f, q)


def googlenet(batch: int = 1) -> Network:
    """GoogLeNet v1 without the auxiliary classifiers (inference): 57 CONV layers and 1 FC layer.

    Pools round down (112 -> 55 -> 27 -> 13 -> 6): this reproduces the survey's 1.43 GMACs exactly. The
    released Caffe model rounds up (ceil mode: 56, 28, 14, 7) and does 1.58 GMACs; see docs/zoo.md.
    """
    b = NetBuilder("googlenet", 3, 224, batch)
    x = b.conv(b.input, "conv1", 64, 7, stride=2, pad=3)
    x = b.pool(x, "pool1", 3, 2)
    x = b.conv(x, "conv2_reduce", 64, 1)
    x = b.conv(x, "conv2", 192, 3, pad=1)
    x = b.pool(x, "pool2", 3, 2)
    for tag in ("3a", "3b"):
        x = _inception(b, x, tag)
    x = b.pool(x, "pool3", 3, 2)
    for tag in ("4a", "4b", "4c", "4d", "4e"):
        x = _inception(b, x, tag)
    x = b.pool(x, "pool4", 3, 2)
    for tag in ("5a", "5b"):
        x = _inception(b, x, tag)
    x = b.global_pool(x, "pool5")
    b.fc(x, "fc", 1000)
    return b.build()


def squeezenet(batch: int = 1) -> Network:
    """SqueezeNet 1.0 (Iandola 2016, Table 1 / torchvision's squeezenet1_0): fire modules, no FC layer."""
    b = NetBuilder("squeezenet", 3, 224, batch)

    def fire(x: FMap, name: str, s: int, e: int) -> FMap:
        sq = b.conv(x, f"{name}_squeeze1x1", s, 1)
        return b.concat(b.conv(sq, f"{name}_expand1x1", e, 1), b.conv(sq, f"{name}_expand3x3", e, 3, pad=1))

    x = b.conv(b.input, "conv1", 96, 7, stride=2)
    x = b.pool(x, "pool1", 3, 2, ceil_mode=True)
    x = fire(x, "fire2", 16, 64)
    x = fire(x, "fire3", 16, 64)
    x = fire(x, "fire4", 32, 128)
    x = b.pool(x, "pool4", 3, 2, ceil_mode=True)
    x = fire(x, "fire5", 32, 128)
    x = fire(x, "fire6", 48, 192)
    x = fire(x, "fire7", 48, 192)
    x = fire(x, "fire8", 64, 256)
    x = b.pool(x, "pool8", 3, 2, ceil_mode=True)
    x = fire(x, "fire9", 64, 256)
    x = b.conv(x, "conv10", 1000, 1)
    b.global_pool(x, "pool10")
    return b.build()
