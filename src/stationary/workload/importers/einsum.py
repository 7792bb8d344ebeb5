"""An `einsum` as loop nests over its letters: each pairwise contraction is one MAC layer whose bounds are
the products of its letters' sizes (batch letters -> N/G, free letters -> P and M, summed letters -> C).

Shared by the PyTorch and ONNX importers. Operands are contracted left to right, as `torch.einsum` does
without opt_einsum; the MACs of one contraction are the product of the sizes of every letter it touches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stationary.errors import StationaryError
from stationary.workload.importers.common import eltwise_layer
from stationary.workload.layer import Layer, LayerKind

_SPARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # letters for the dims an ellipsis stands for (einsum allows a-zA-Z)


@dataclass(frozen=True)
class Operand:
    """One einsum operand: its letters, the producer layers it reads, and whether it is a learned parameter."""

    letters: str
    inputs: tuple[str, ...]
    parameter: bool


def parse_equation(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str, dict[str, int]]:
    """(letters of each operand, output letters, size of each letter), with `...` expanded to spare letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise StationaryError(f"einsum {equation!r} names {len(terms)} operands but has {len(shapes)}")
    used = set(eq) - set(".,->")
    spare = [c for c in _SPARE + _SPARE.lower() if c not in used]
    ell_rank = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(spare[:ell_rank])
    letters: list[str] = []
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        if "..." in term:
            k = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", ell[ell_rank - k:] if k else "")
        if len(term) != len(shape) or not term.isalpha():
            raise StationaryError(f"einsum {equation!r}: operand {term!r} does not fit a tensor of shape {shape}")
        for c, n in zip(term, shape):
            sizes[c] = max(sizes.get(c, 1), int(n))  # a size-1 dim broadcasts
        letters.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit output: the ellipsis, then every letter used once, in alphabetical order
        counts = {c: sum(t.count(c) for t in letters) for c in sizes}
        out = ell + "".join(sorted(c for c in sizes if counts[c] == 1 and c not in ell))
    if not set(out) <= set(sizes) or not out.isalpha() and out:
        raise StationaryError(f"einsum {equation!r}: output letters {out!r} are not all in the operands")
    return letters, out, sizes


def einsum_layers(name: str, equation: str, shapes: list[tuple[int, ...]], operands: list[tuple[tuple[str, ...],
                  bool]], op: str = "einsum") -> list[Layer]:
    """The layers of one einsum: a MAC layer per pairwise contraction (left to right), or for one operand a
    reduction (an element-wise layer) where it sums letters out, or nothing where it only permutes."""
    letters, out, sizes = parse_equation(equation, shapes)
    ops = [Operand(t, inputs, param) for t, (inputs, param) in zip(letters, operands)]
    if len(ops) == 1:
        keep = math.prod(sizes[c] for c in set(out))
        total = math.prod(sizes[c] for c in set(ops[0].letters))
        if keep == total:
            return []
        shape = tuple(sizes[c] for c in out) or (1,)
        return [eltwise_layer(name, shape, op, ops[0].inputs, 1, total // keep)]
    layers: list[Layer] = []
    acc = ops[0]
    for k, nxt in enumerate(ops[1:], start=1):
        later = set(out).union(*(set(o.letters) for o in ops[k + 1:]))
        result = "".join(dict.fromkeys(c for c in acc.letters + nxt.letters if c in later))
        if k == len(ops) - 1:
            result = out
        label = name if len(ops) == 2 else f"{name}_{k}"
        layer = contraction(label, acc, nxt, result, sizes, op)
        layers.append(layer)
        acc = Operand(result, (layer.name,), False)
    return layers


def contraction(name: str, a: Operand, b: Operand, out: str, sizes: dict[str, int], op: str) -> Layer:
    """One product of two operands as a loop nest: MACs = the product of the sizes of all their letters."""
    if a.parameter and not b.parameter:  # the learned operand plays the weight
        a, b = b, a
    la, lb, lo = set(a.letters), set(b.letters), set(out)
    first = out[0] if out and out[0] in la else None  # the batch, as with_batch changes it
    batch = [c for c in dict.fromkeys(out) if c in la and c in lb and c != first]
    rows = [c for c in dict.fromkeys(out) if c in la and c not in lb and c != first]
    cols = [c for c in dict.fromkeys(out) if c in lb and c not in la]
    summed = [c for c in dict.fromkeys(a.letters + b.letters) if c not in lo]

    def size(cs: list[str]) -> int:
        return math.prod(sizes[c] for c in cs)

    n = sizes[first] if first else 1
    g, p, m, c = size(batch), size(rows), size(cols), size(summed)
    inputs = tuple(dict.fromkeys(a.inputs + b.inputs))
    if b.parameter and not batch and (first is None or first not in lb):
        return Layer(name, LayerKind.FC, N=n, M=m, C=c, P=p, H=p, inputs=inputs, op=op)
    return Layer(name, LayerKind.MATMUL, N=n, G=g, M=m, C=c, P=p, H=p, weights_are_parameters=b.parameter,
                 inputs=inputs, op=op)
