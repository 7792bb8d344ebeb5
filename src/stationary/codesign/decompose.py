"""Compact networks after training (survey Sec. VII-C): low-rank decomposition of trained layers, emitted as
real conv/linear layers so the mapper maps and costs each factor.

  svd:    FC W [out, in] = U S V^T at rank r -> Linear(in, r, no bias) then Linear(r, out) (Denton et al. 2014)
  tucker: conv W [M, C, k, k], Tucker-2 (HOSVD of the output and input modes) at ranks (r, r) ->
          1x1 C->r, k x k r->r (the core, the layer's stride and padding), 1x1 r->M (Kim et al. 2016)
  cp:     conv W as the 3-way tensor [M, C, k*k], CP by alternating least squares at rank r ->
          1x1 C->r, depthwise k x k on r channels, 1x1 r->M (Lebedev et al. 2015, spatial modes kept together)
The first factors carry no bias (so zero padding commutes with them); the last carries the layer's bias. A layer
is decomposed only if its factors hold fewer weights than it does (the classifier is left alone), and at full
rank every method reproduces the layer exactly (tested); below it, fine-tuning recovers accuracy.
"""

from __future__ import annotations

import copy
from typing import cast

import torch
from torch import nn

from stationary.errors import StationaryError

METHODS = ("svd", "tucker", "cp")


class Factorized(nn.Sequential):
    """The factor layers that replace one layer; only the last is followed by the original ReLU."""

    factorized = True


def svd_linear(layer: nn.Linear, rank: int) -> Factorized:
    """Two linear layers whose product is the rank-`rank` truncated SVD of the weight."""
    w = layer.weight.detach()
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = min(rank, len(s))
    root = s[:r].sqrt()
    first = nn.Linear(layer.in_features, r, bias=False).to(w.dtype)
    second = nn.Linear(r, layer.out_features, bias=layer.bias is not None).to(w.dtype)
    with torch.no_grad():
        first.weight.copy_(root[:, None] * vh[:r])
        second.weight.copy_(u[:, :r] * root[None, :])
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return Factorized(first, second)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    """The bias of a factor built with bias=True (its original layer has one)."""
    if conv.bias is None:
        raise StationaryError("a decomposed layer with a bias lost it in its last factor")
    return conv.bias


def pair(value: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d's kernel_size, stride or dilation as the (h, w) pair its constructor always stores."""
    return cast(tuple[int, int], value)


def padding_of(conv: nn.Conv2d) -> str | tuple[int, int]:
    """A Conv2d's padding: 'same' / 'valid', or the (h, w) pair its constructor stores."""
    return conv.padding if isinstance(conv.padding, str) else pair(conv.padding)


def _conv(c_in: int, c_out: int, k: int, like: nn.Conv2d, groups: int = 1, bias: bool = False,
          spatial: bool = False) -> nn.Conv2d:
    if spatial:
        return nn.Conv2d(c_in, c_out, k, pair(like.stride), padding_of(like), pair(like.dilation), groups, bias=bias)
    return nn.Conv2d(c_in, c_out, 1, bias=bias)


def tucker_conv(layer: nn.Conv2d, rank: int) -> Factorized:
    """Tucker-2: 1x1 C->r_in, k x k core r_in->r_out, 1x1 r_out->M (r_in = min(rank, C), r_out = min(rank, M))."""
    w = layer.weight.detach()
    m, c, kh, kw = w.shape
    r_out, r_in = min(rank, m), min(rank, c)
    u_out = torch.linalg.svd(w.reshape(m, -1), full_matrices=False)[0][:, :r_out]  # [M, r_out]
    u_in = torch.linalg.svd(w.transpose(0, 1).reshape(c, -1), full_matrices=False)[0][:, :r_in]  # [C, r_in]
    core = torch.einsum("mckl,mo,ci->oikl", w, u_out, u_in)
    first = _conv(c, r_in, 1, layer).to(w.dtype)
    middle = nn.Conv2d(r_in, r_out, (kh, kw), pair(layer.stride), padding_of(layer), pair(layer.dilation),
                       bias=False).to(w.dtype)
    last = _conv(r_out, m, 1, layer, bias=layer.bias is not None).to(w.dtype)
    with torch.no_grad():
        first.weight.copy_(u_in.T[:, :, None, None])
        middle.weight.copy_(core)
        last.weight.copy_(u_out[:, :, None, None])
        if layer.bias is not None:
            _bias(last).copy_(layer.bias)
    return Factorized(first, middle, last)


def cp_als(t: torch.Tensor, rank: int, iterations: int = 200, seed: int = 0) -> list[torch.Tensor]:
    """CP of a 3-way tensor [I, J, K] as factors A [I, r], B [J, r], C [K, r] (sum_r a_r x b_r x c_r).
    At rank >= the smallest product of two mode sizes the decomposition is built exactly (one component per
    pair of indices of those two modes, the rest zero); below, alternating least squares from a seeded start."""
    dims = t.shape
    pairs = [(dims[1] * dims[2], 0), (dims[0] * dims[2], 1), (dims[0] * dims[1], 2)]
    exact, free = min(pairs)
    if rank >= exact:
        return _cp_exact(t, free, rank)
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(n, rank, generator=g, dtype=t.dtype) for n in dims]
    unfold = [t.reshape(dims[0], -1), t.permute(1, 0, 2).reshape(dims[1], -1), t.permute(2, 0, 1).reshape(dims[2], -1)]
    norm = float(torch.linalg.vector_norm(t)) or 1.0
    last = float("inf")
    for _ in range(iterations):
        for mode in range(3):
            a, b = [factors[i] for i in range(3) if i != mode]
            kr = (a[:, None, :] * b[None, :, :]).reshape(-1, rank)  # Khatri-Rao, first other mode slowest
            gram = (a.T @ a) * (b.T @ b) + 1e-12 * torch.eye(rank, dtype=t.dtype)
            factors[mode] = torch.linalg.solve(gram, (unfold[mode] @ kr).T).T
        err = float(torch.linalg.vector_norm(torch.einsum("ir,jr,kr->ijk", *factors) - t)) / norm
        if abs(last - err) < 1e-10:
            break
        last = err
    return factors


def _cp_exact(t: torch.Tensor, free: int, rank: int) -> list[torch.Tensor]:
    dims = t.shape
    others = [i for i in range(3) if i != free]
    factors = [torch.zeros(n, rank, dtype=t.dtype) for n in dims]
    r = 0
    for i in range(dims[others[0]]):
        for j in range(dims[others[1]]):
            factors[others[0]][i, r] = 1.0
            factors[others[1]][j, r] = 1.0
            index: list[slice | int] = [slice(None)] * 3
            index[others[0]], index[others[1]] = i, j
            factors[free][:, r] = t[tuple(index)]
            r += 1
    return factors


def cp_conv(layer: nn.Conv2d, rank: int, seed: int = 0) -> Factorized:
    """CP: 1x1 C->r, depthwise k x k on the r channels (the layer's stride and padding), 1x1 r->M."""
    w = layer.weight.detach()
    m, c, kh, kw = w.shape
    a, b, s = cp_als(w.reshape(m, c, kh * kw), rank, seed=seed)
    first = _conv(c, rank, 1, layer).to(w.dtype)
    middle = nn.Conv2d(rank, rank, (kh, kw), pair(layer.stride), padding_of(layer), pair(layer.dilation),
                       groups=rank, bias=False).to(w.dtype)
    last = _conv(rank, m, 1, layer, bias=layer.bias is not None).to(w.dtype)
    with torch.no_grad():
        first.weight.copy_(b.T[:, :, None, None])
        middle.weight.copy_(s.T.reshape(rank, 1, kh, kw))
        last.weight.copy_(a[:, :, None, None])
        if layer.bias is not None:
            _bias(last).copy_(layer.bias)
    return Factorized(first, middle, last)


def factor(layer: nn.Module, method: str, rank: int) -> Factorized | None:
    """The factors of one layer by `method`, or None where the method does not apply to this layer."""
    if method == "svd" and isinstance(layer, nn.Linear):
        return svd_linear(layer, rank)
    if isinstance(layer, nn.Conv2d) and layer.groups == 1 and layer.kernel_size != (1, 1):
        if method == "tucker":
            return tucker_conv(layer, rank)
        if method == "cp":
            return cp_conv(layer, rank)
    return None


def weights_of(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def decompose(model: nn.Module, method: str, rank: int) -> tuple[nn.Module, list[str]]:
    """A copy of a trained (unwrapped) model with every layer `method` applies to replaced by its factors,
    where that saves weights; the classifier (the last conv/linear) is kept. Returns (model, decomposed names)."""
    if method not in METHODS:
        raise StationaryError(f"unknown decomposition {method!r}; methods: {', '.join(METHODS)}",
                              field="--decompose")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise StationaryError(f"rank must be a positive integer, got {rank!r}", field="--rank")
    model = copy.deepcopy(model)
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    done = []
    for name, layer in layers[:-1]:
        f = factor(layer, method, rank)
        if f is None or weights_of(f) >= layer.weight.numel():
            continue
        parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
        setattr(parent, name.rpartition(".")[2], f)
        done.append(name)
    if not done:
        raise StationaryError(f"{method} at rank {rank} saves weights in no layer of this model (svd applies to "
                              "fully connected layers, tucker and cp to k x k convolutions)", field="--rank")
    return model, done
