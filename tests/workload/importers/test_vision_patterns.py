"""The patterns that made torchvision's swin_t (-34 %) and maxvit_t (-3 %) undercount, rebuilt here without
torchvision: an fx-wrapped window-attention function calling F.linear with the block's own parameters, a
relative-position bias table indexed by a buffer, shifted windows (roll, pad), and einsum attention written
with spaced letters. The MACs equal an analytic formula and PyTorch's own FLOP counter / 2."""

from __future__ import annotations

import pytest
from test_counted_ops import torch_macs

from stationary.workload.importers.pytorch import import_module
from stationary.workload.stats import network_stats

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


@torch.fx.wrap
def window_attention(x: torch.Tensor, qkv_weight: torch.Tensor, proj_weight: torch.Tensor, bias: torch.Tensor,
                     window: int, heads: int, shift: int) -> torch.Tensor:
    """torchvision's shifted_window_attention in miniature: an fx leaf, so torch.fx never saw inside it."""
    b, h, w, c = x.shape
    if shift:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    x = x.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
    x = x.reshape(-1, window * window, c)  # [b * windows, tokens, c]
    qkv = F.linear(x, qkv_weight).reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    att = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1)) + bias
    y = F.linear(att.softmax(-1).matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c), proj_weight)
    y = y.view(b, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
    return torch.roll(y, shifts=(shift, shift), dims=(1, 2)) if shift else y


class SwinBlock(nn.Module):
    def __init__(self, dim: int = 16, heads: int = 2, window: int = 4, shift: int = 2) -> None:
        super().__init__()
        self.window, self.heads, self.shift = window, heads, shift
        self.norm = nn.LayerNorm(dim)
        self.qkv_weight = nn.Parameter(torch.randn(3 * dim, dim))
        self.proj_weight = nn.Parameter(torch.randn(dim, dim))
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("relative_position_index", (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten())
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [b, h, w, c]
        n = self.window * self.window
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1).permute(2, 0, 1)
        x = x + window_attention(self.norm(x), self.qkv_weight, self.proj_weight, bias.unsqueeze(0), self.window,
                                 self.heads, self.shift)
        return x + self.mlp(x)


class MaxVitAttention(nn.Module):
    """torchvision maxvit's RelativePositionalMultiHeadAttention: einsum over spaced capital letters."""

    def __init__(self, dim: int = 16, heads: int = 2, tokens: int = 16) -> None:
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, 3 * dim)
        self.merge = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(heads, tokens, tokens))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, G, P, D]
        b, g, p, d = x.shape
        q, k, v = self.to_qkv(x).reshape(b, g, p, self.heads, 3 * d // self.heads).permute(0, 1, 3, 2, 4).chunk(3, -1)
        dot = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k) + self.relative_position_bias_table
        out = torch.einsum("B G H I J, B G H J D -> B G H I D", dot.softmax(-1), v)
        return self.merge(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))


def test_swin_window_attention_is_counted() -> None:
    b, side, c, window, heads = 2, 8, 16, 4, 2
    torch.manual_seed(0)
    module = SwinBlock(c, heads, window)
    net = import_module(module, (b, side, side, c))
    tokens = b * side * side
    per_window = window * window
    windows = b * (side // window) ** 2
    want = (tokens * (3 * c * c + c * c + 2 * c * 4 * c)  # qkv, proj, MLP
            + 2 * windows * heads * per_window * per_window * (c // heads))  # QK^T, AV in each window
    assert net.warnings == ()
    assert network_stats(net).macs == want == torch_macs(module, torch.zeros(b, side, side, c))
    assert {"qkv", "proj"} <= {layer.name for layer in net}  # F.linear of a parameter: named by its weight


def test_maxvit_einsum_attention_is_counted() -> None:
    b, g, p, d, heads = 2, 3, 16, 16, 2
    torch.manual_seed(0)
    module = MaxVitAttention(d, heads, p)
    net = import_module(module, (b, g, p, d))
    want = b * g * p * (3 * d * d + d * d) + 2 * b * g * heads * p * p * (d // heads)
    assert net.warnings == ()
    assert network_stats(net).macs == want == torch_macs(module, torch.zeros(b, g, p, d))
