"""VGG-19 in the zoo and the fused-layer paper's setup (Alwani et al., MICRO 2016)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stationary.workload.zoo import get_model

BENCH = Path(__file__).parents[2] / "benchmarks" / "fused_layer_paper.py"


def test_vgg19_parameters_match_torchvision() -> None:
    net = get_model("vgg19")
    assert sum(x.weights + x.biases for x in net.layers) == 143_667_240  # torchvision.models.vgg19
    assert len([x for x in net.mac_layers() if x.kind == "conv"]) == 16


def test_paper_benchmark_fuses_the_first_five_convolutions() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--word-bits", "16"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert "fused (tile" in out.stdout and "layer by layer, feature maps: 26.0 MB" in out.stdout
