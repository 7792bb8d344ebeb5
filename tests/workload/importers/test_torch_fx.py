"""The torch.fx importer: per-layer shapes, MAC parity with fvcore, the zoo's ResNet-18 and MobileNet-v2,
warnings for operators it skips, and one clear error for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from importer_nets import SMALL_CASES, ConvZoo, MHABlock, MobileNetV2, ResNet18, SelfAttention

from stationary.errors import StationaryError
from stationary.workload.importers.torch_fx import import_factory, import_module
from stationary.workload.layer import LayerKind
from stationary.workload.stats import network_stats
from stationary.workload.zoo import get_model

torch = pytest.importorskip("torch")
fvcore_nn = pytest.importorskip("fvcore.nn")
nn = torch.nn

# fvcore operator names that are multiply-accumulates; fvcore counts one fused multiply-add as one "flop".
FVCORE_MAC_OPS = {"conv", "linear", "matmul", "bmm", "addmm", "einsum", "baddbmm"}


def fvcore_macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    """fvcore's count restricted to its MAC operators (its total also adds batch-norm, pooling, ...)."""
    fca = fvcore_nn.FlopCountAnalysis(module.eval(), torch.zeros(shape))
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    return sum(v for op, v in fca.by_operator().items() if op in FVCORE_MAC_OPS)


@pytest.mark.parametrize("case", sorted(SMALL_CASES))
def test_macs_equal_fvcore(case: str) -> None:
    factory, shape = SMALL_CASES[case]
    torch.manual_seed(0)
    module = factory()
    net = import_module(module, shape)
    assert net.warnings == ()
    assert network_stats(net).macs == fvcore_macs(module, shape)


def test_conv_layers_have_survey_dims() -> None:
    net = import_module(ConvZoo(), (2, 3, 32, 32))
    by = {layer.name: layer for layer in net}
    stem, grouped, dw, dil, asym = (by[n] for n in ("stem", "grouped", "depthwise", "dilated", "asym"))
    assert (stem.N, stem.G, stem.M, stem.C, stem.P, stem.Q, stem.R, stem.S) == (2, 1, 16, 3, 16, 16, 5, 5)
    assert (stem.stride, stem.padding, stem.bias) == ((2, 2), (2, 2), False)
    assert (grouped.G, grouped.M, grouped.C, grouped.bias) == (4, 8, 4, True)
    assert dw.is_depthwise and (dw.G, dw.M, dw.C, dw.P, dw.Q) == (32, 1, 1, 8, 8)
    assert (dil.dilation, dil.padding, dil.P) == ((2, 2), (2, 2), 8)
    assert (asym.R, asym.S, asym.stride, asym.padding, asym.P, asym.Q) == (1, 3, (1, 2), (0, 1), 4, 2)
    assert by["bn"].kind == LayerKind.ELTWISE and by["bn"].ops_per_output == 2
    assert by["pool"].kind == LayerKind.POOL and (by["pool"].R, by["pool"].P) == (3, 4)
    assert by["fc"].kind == LayerKind.FC and (by["fc"].C, by["fc"].M) == (48, 10)
    assert by["add"].inputs == ("pool",)  # x + 1.0 reads one activation
    assert by["grouped"].inputs == ("relu",)  # structural ops and functional relu keep the graph connected


def test_attention_matmuls_and_token_linear() -> None:
    net = import_module(SelfAttention(dim=32, heads=4), (2, 7, 32))
    qkv = next(layer for layer in net if layer.name == "qkv")
    assert (qkv.kind, qkv.N, qkv.P, qkv.C, qkv.M) == (LayerKind.FC, 2, 7, 32, 96)
    qk, av = (layer for layer in net if layer.kind == LayerKind.MATMUL)
    assert (qk.N, qk.G, qk.P, qk.C, qk.M) == (2, 4, 7, 8, 7)
    assert (av.N, av.G, av.P, av.C, av.M) == (2, 4, 7, 7, 8)
    assert qk.weights == 0 and qk.inputs == ("qkv",)


def test_sdpa_and_mha_become_qk_softmax_av() -> None:
    class Sdpa(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(x, x, x)

    net = import_module(Sdpa(), (2, 3, 5, 8))
    assert [layer.op for layer in net] == ["attention_qk", "softmax", "attention_av"]
    assert net.layers[0].macs == net.layers[2].macs == 2 * 3 * 5 * 8 * 5
    net = import_module(MHABlock(32, 4), (2, 6, 32))
    # torch.export decomposes nn.MultiheadAttention into its linear/bmm/softmax operators
    ops = [(layer.name, layer.kind.value) for layer in net.mac_layers()]
    assert ops == [("att.in_proj", "fc"), ("att.bmm", "matmul"), ("att.bmm_2", "matmul"), ("att.out_proj", "fc"),
                   ("head", "fc")]
    assert "att.softmax" in [layer.name for layer in net]


def test_batch_overrides_first_dim() -> None:
    a = import_module(ConvZoo(), (1, 3, 32, 32))
    b = import_module(ConvZoo(), (1, 3, 32, 32), batch=4)
    assert b.input_shape == (4, 3, 32, 32) and b.batch == 4
    assert network_stats(b).macs == 4 * network_stats(a).macs


def test_operator_without_parameters_or_macs_is_a_warning() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumsum(self.fc(x), dim=-1)

    net = import_module(Odd(), (2, 8))
    assert [layer.name for layer in net] == ["fc"]
    assert net.warnings == ("unsupported operator 'cumsum' (1 call: cumsum): skipped (no layer, nothing counted)",)


@pytest.mark.parametrize("zoo_name, factory", [("resnet18", ResNet18), ("mobilenet_v2", MobileNetV2)])
def test_matches_zoo_and_fvcore(zoo_name: str, factory: type) -> None:
    module = factory()
    # the module is torchvision's definition: same parameter count as torchvision's metadata
    params = {"resnet18": 11_689_512, "mobilenet_v2": 3_504_872}[zoo_name]
    assert sum(p.numel() for p in module.parameters()) == params
    net = import_module(module, (1, 3, 224, 224))
    zoo = get_model(zoo_name)
    got, want = network_stats(net), network_stats(zoo)
    assert got.macs == want.macs == fvcore_macs(module, (1, 3, 224, 224))
    assert (got.weights, got.conv_layers, got.fc_layers) == (want.weights, want.conv_layers, want.fc_layers)
    dims = [(layer.bounds, layer.stride, layer.padding) for layer in net.mac_layers()]
    assert sorted(map(str, dims)) == sorted(str((layer.bounds, layer.stride, layer.padding))
                                            for layer in zoo.mac_layers())


# ----- bad input: one StationaryError each ------------------------------------------------------------
def test_not_a_module() -> None:
    with pytest.raises(StationaryError, match="expected a torch.nn.Module, got function"):
        import_module(lambda x: x, (1, 3))


def test_shape_that_does_not_fit() -> None:
    with pytest.raises(StationaryError, match="input shape 1,5,32,32 does not fit ConvZoo") as info:
        import_module(ConvZoo(), (1, 5, 32, 32))
    assert info.value.field == "--input-shape"


def test_untraceable_module() -> None:
    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x if x.sum() > 0 else -x

    with pytest.raises(StationaryError, match="cannot export Branchy with torch.export"):
        import_module(Branchy(), (1, 3))


def test_bad_shape_values() -> None:
    with pytest.raises(StationaryError, match="positive integers"):
        import_module(ConvZoo(), (0, 3, 32, 32))


FACTORY_FILE = """
import torch.nn as nn

def model():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))

def not_a_module():
    return 42

def broken():
    raise RuntimeError("boom")
"""


def test_import_factory(tmp_path: Path) -> None:
    path = tmp_path / "user_model.py"
    path.write_text(FACTORY_FILE)
    net = import_factory(f"{path}:model", batch=None, input_shape=(2, 3, 8, 8))
    assert net.name == "model" and network_stats(net).macs == 2 * (8 * 3 * 9 * 64 + 512 * 10)
    with pytest.raises(StationaryError, match="returned int, not a torch.nn.Module"):
        import_factory(f"{path}:not_a_module", input_shape=(1, 3, 8, 8))
    with pytest.raises(StationaryError, match="broken\\(\\) failed: RuntimeError: boom"):
        import_factory(f"{path}:broken", input_shape=(1, 3, 8, 8))
    with pytest.raises(StationaryError, match="defines no callable 'nope'"):
        import_factory(f"{path}:nope", input_shape=(1, 3, 8, 8))
    with pytest.raises(StationaryError, match="no such file"):
        import_factory(f"{tmp_path}/missing.py:model", input_shape=(1, 3, 8, 8))
    bad = tmp_path / "syntax.py"
    bad.write_text("def model(:\n")
    with pytest.raises(StationaryError, match="running the file failed: SyntaxError"):
        import_factory(f"{bad}:model", input_shape=(1, 3, 8, 8))
