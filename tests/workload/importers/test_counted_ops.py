"""Operators that are loop nests are counted (Conv3d, ConvTranspose 1-3-D, einsum, scaled-dot-product attention,
layers fed by learned parameters) and equal PyTorch's own FLOP counter / 2; an operator that cannot be counted
and holds parameters or MACs is an error naming its share, a warning with allow_skip."""

from __future__ import annotations

import pytest

from stationary.errors import StationaryError
from stationary.workload.importers.einsum import einsum_layers
from stationary.workload.importers.pytorch import import_module
from stationary.workload.layer import LayerKind
from stationary.workload.stats import network_stats

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


def torch_macs(module: nn.Module, x: torch.Tensor) -> int:
    """PyTorch's FlopCounterMode (FLOPs = 2 x MACs) over the module's matrix products and convolutions."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module.eval()(x)
    return counter.get_total_flops() // 2


class Conv3dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv3d(3, 8, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2))
        self.c2 = nn.Conv3d(8, 8, 3, padding=1, groups=4, bias=False)
        self.pool = nn.MaxPool3d(2)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(F.relu(self.c2(self.c1(x))))
        return self.fc(F.adaptive_avg_pool3d(y, 1).flatten(1))


class TransposedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.t1 = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1)
        self.t2 = nn.ConvTranspose2d(6, 4, (3, 2), stride=(2, 1), padding=(1, 0), groups=2)
        self.t3 = nn.ConvTranspose3d(4, 2, 2, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.t1(x)  # [N, 6, 2L]
        y = self.t2(y.unsqueeze(-1).expand(-1, -1, -1, 3))
        return self.t3(y.unsqueeze(2))


class EinsumNet(nn.Module):
    """Attention written with einsum (as maxvit does), a batched weight contraction and a 3-operand chain."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(16, 4, 8))  # [d, heads, head_dim]
        self.out = nn.Parameter(torch.randn(4, 8, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [b, t, d]
        q = torch.einsum("btd,dhe->bhte", x, self.w)
        att = torch.einsum("bhqe,bhke->bhqk", q, q).softmax(-1)
        y = torch.einsum("...qk,...ke->...qe", att, q)
        z = torch.einsum("bhte,hed->btd", y, self.out)
        return torch.einsum("btd,bsd,bse->bte", z, x, x)


class ParameterFed(nn.Module):
    """Products with learned parameters on either side, and a convolution of a learned input image."""

    def __init__(self) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.randn(8, 16))
        self.q = nn.Parameter(torch.randn(4, 8, 16))
        self.query = nn.Parameter(torch.randn(1, 5, 8))
        self.img = nn.Parameter(torch.randn(1, 3, 8, 8))
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [b, t, 8]
        a = torch.matmul(x, self.p)
        b = torch.matmul(x.unsqueeze(1), self.q)
        d = torch.matmul(self.query, x.transpose(1, 2))
        c = self.conv(self.img)
        return a.sum() + b.sum() + c.sum() + d.sum()


CASES = {
    "conv3d": (Conv3dNet, (2, 3, 4, 16, 16)),
    "conv_transpose": (TransposedNet, (2, 4, 5)),
    "einsum": (EinsumNet, (2, 6, 16)),
    "parameter_fed": (ParameterFed, (2, 6, 8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_macs_equal_pytorch_flop_counter(case: str) -> None:
    factory, shape = CASES[case]
    torch.manual_seed(0)
    module = factory()
    net = import_module(module, shape)
    assert net.warnings == ()
    assert network_stats(net).macs == torch_macs(module, torch.zeros(shape)) > 0


def test_conv3d_and_transposed_layers() -> None:
    net = import_module(Conv3dNet(), (2, 3, 4, 16, 16))
    c1 = next(layer for layer in net if layer.name == "c1")
    # depth taps fold into C (3 x 3), output depths into P (4 x 8 rows)
    assert (c1.N, c1.M, c1.C, c1.P, c1.Q, c1.R, c1.S, c1.stride) == (2, 8, 9, 32, 8, 5, 5, (2, 2))
    assert c1.weights == 8 * 3 * 3 * 5 * 5
    net = import_module(TransposedNet(), (2, 4, 5))
    t1 = next(layer for layer in net if layer.name == "t1")
    assert t1.transposed and (t1.C, t1.M, t1.P, t1.Q, t1.W, t1.S) == (4, 6, 1, 5, 10, 3)
    assert t1.input_activations == 2 * 4 * 5 and t1.output_activations == 2 * 6 * 10
    nest = t1.loop_nest()
    assert nest.macs == t1.macs and nest.tensor("Outputs").dims >= {"Q", "S"}


def test_sdpa_causal_and_grouped_query() -> None:
    class Gqa(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [b, 8 heads, L, 16]
            k = v = x[:, :2, :, :]  # two K/V heads shared by eight query heads
            return F.scaled_dot_product_attention(x, k, v, is_causal=True, enable_gqa=True)

    b, h, length, e = 2, 8, 12, 16
    net = import_module(Gqa(), (b, h, length, e))
    qk, soft, av = net.layers
    assert (qk.op, soft.op, av.op) == ("attention_qk", "softmax", "attention_av")
    # a dense kernel computes every score of the causal mask, per query head
    assert qk.macs == av.macs == b * h * length * length * e
    assert soft.other_ops == 3 * b * h * length * length and av.inputs == (soft.name,)


def test_einsum_loop_nest_is_the_product_of_its_letters() -> None:
    (layer,) = einsum_layers("e", "bij,jk->bik", [(2, 3, 4), (4, 5)], [((), False), ((), True)])
    assert layer.kind == LayerKind.FC and (layer.N, layer.P, layer.C, layer.M) == (2, 3, 4, 5)
    assert layer.weights == 20 and layer.macs == 2 * 3 * 4 * 5
    (layer,) = einsum_layers("e", "bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 7, 4)], [((), False), ((), False)])
    assert (layer.N, layer.G, layer.P, layer.C, layer.M, layer.weights) == (2, 3, 5, 4, 7, 0)
    assert einsum_layers("e", "bij->bji", [(2, 3, 4)], [((), False)]) == []  # a transpose: no work
    (red,) = einsum_layers("e", "bij->b", [(2, 3, 4)], [((), False)])
    assert red.kind == LayerKind.ELTWISE and red.other_ops == 2 * 12
    with pytest.raises(StationaryError, match="names 2 operands but has 1"):
        einsum_layers("e", "ij,jk->ik", [(2, 3)], [((), False)])
    with pytest.raises(StationaryError, match="does not fit a tensor of shape"):
        einsum_layers("e", "ij->i", [(2, 3, 4)], [((), False)])


# ----- loud: what cannot be counted ----------------------------------------------------------------------
class WithBilinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bl = nn.Bilinear(8, 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return self.bl(y, y)


class WithTensordot(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return torch.tensordot(y, y, dims=([1], [1]))


def test_uncountable_operator_with_parameters_is_an_error() -> None:
    with pytest.raises(StationaryError) as info:
        import_module(WithBilinear(), (3, 8))
    text = str(info.value)
    assert "cannot count operator 'bilinear' (1 call: bl)" in text
    assert "260 of 332 parameters (78.31 %)" in text and "--allow-skip" in text
    net = import_module(WithBilinear(), (3, 8), allow_skip=True)
    assert [layer.name for layer in net] == ["fc"]
    assert net.warnings == ("unsupported operator 'bilinear' (1 call: bl): skipped (no layer): its 260 of 332 "
                            "parameters (78.31 %) are not counted",)


def test_uncountable_operator_with_macs_is_an_error() -> None:
    with pytest.raises(StationaryError, match=r"'tensordot' \(1 call: tensordot\) holds 72 of 264 MACs \(27.27 %\)"):
        import_module(WithTensordot(), (3, 8))
    net = import_module(WithTensordot(), (3, 8), allow_skip=True)
    assert network_stats(net).macs == 3 * 8 * 8 and "72 of 264 MACs (27.27 %) are not counted" in net.warnings[0]


def test_constants_from_buffers_are_folded_with_a_note() -> None:
    class Rotary(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("inv_freq", torch.ones(4, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # [b, t, 8]
            pos = torch.arange(x.shape[1], dtype=torch.float32)[None, :]
            freqs = (self.inv_freq @ pos).t()  # [t, 4]: the same for every input
            return x * torch.cat([freqs.cos(), freqs.sin()], dim=-1)

    net = import_module(Rotary(), (2, 6, 8))
    assert network_stats(net).macs == 0
    assert net.warnings == ("24 MACs computed only from buffers and constants (not from the input or a learned "
                            "parameter) were folded, not counted",)


def test_uncountable_operator_on_parameters_only_is_not_folded_silently() -> None:
    class Inverse(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.p = nn.Parameter(torch.eye(8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ torch.linalg.inv(self.p)

    with pytest.raises(StationaryError, match="holds 64 of 64 parameters"):
        import_module(Inverse(), (3, 8))
