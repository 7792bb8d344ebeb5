"""Small PyTorch modules for the importer tests, built here (nothing downloaded, no torchvision)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Single-block self-attention written with torch.matmul (the QK^T and AV products fvcore can count)."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ffn1, self.ffn2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (d // self.heads) ** -0.5, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.ffn2(F.gelu(self.ffn1(x)))


class MHABlock(nn.Module):
    """nn.MultiheadAttention (self-attention, batch first) followed by a linear head on the first token."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.att = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.att(x, x, x)[0]
        return self.head(y[:, 0])


class ConvZoo(nn.Module):
    """Grouped, depthwise, dilated, strided and padded 2-D convolutions, pooling, batch-norm, a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 5, stride=2, padding=2, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.grouped = nn.Conv2d(16, 32, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32, bias=False)
        self.dilated = nn.Conv2d(32, 24, 3, padding=2, dilation=2)
        self.asym = nn.Conv2d(24, 24, (1, 3), stride=(1, 2), padding=(0, 1))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(24 * 2 * 1, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = self.depthwise(F.relu6(self.grouped(x)))
        x = self.pool(self.dilated(x)) + 1.0
        x = self.avg(torch.sigmoid(self.asym(x)))
        return self.fc(torch.flatten(x, 1))


class Conv1dNet(nn.Module):
    """1-D convolutions (strided, dilated, depthwise) and adaptive pooling over a sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(4, 16, 5, stride=2, padding=2)
        self.c2 = nn.Conv1d(16, 16, 3, padding=2, dilation=2, groups=16)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.tanh(self.c2(self.c1(x)))).flatten(1))


class Bmm(nn.Module):
    """torch.bmm and the @ operator between activations, and @ by a parameter (a linear layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 12))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.bmm(x, x.transpose(1, 2))  # [b, t, t]
        return (g @ x) @ self.w


# ----- a torchvision-free ResNet-18 and MobileNet-v2 (same layer shapes as torchvision's) --------------
class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for i, width in enumerate((64, 128, 256, 512)):
            for j in range(2):
                blocks.append(BasicBlock(cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.blocks(self.stem(x))), 1))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_bn(cin, hidden, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, cout, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# (module factory, example input shape) for the fvcore and ONNX parity tests
SMALL_CASES = {
    "conv_zoo": (ConvZoo, (2, 3, 32, 32)),
    "conv1d": (Conv1dNet, (2, 4, 40)),
    "self_attention": (SelfAttention, (2, 7, 32)),
    "mha": (MHABlock, (2, 6, 32)),
    "bmm": (Bmm, (3, 5, 8)),
}


# ----- a ViT shaped as torchvision's vit_b_16 (its reshape and class-token expand bake the batch into an export)
class ViTBlock(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class TinyViT(nn.Module):
    """torchvision's VisionTransformer at toy size: patch conv, class token, position embedding, encoder."""

    def __init__(self, dim: int = 32, heads: int = 4, patch: int = 8, image: int = 32, depth: int = 2) -> None:
        super().__init__()
        self.dim = dim
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.layers = nn.Sequential(*[ViTBlock(dim, heads) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        y = self.conv_proj(x).reshape(n, self.dim, -1).permute(0, 2, 1)
        y = torch.cat([self.class_token.expand(n, -1, -1), y], dim=1)
        y = self.ln(self.layers(y + self.pos_embedding))
        return self.head(y[:, 0])
