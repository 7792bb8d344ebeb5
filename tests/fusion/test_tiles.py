"""Fused counts against a brute-force walk of the fused loop nest, element by element."""

from __future__ import annotations

import pytest

from stationary.errors import StationaryError
from stationary.fusion.graph import edges, make_group
from stationary.fusion.tiles import RECOMPUTE, RETAIN, count
from stationary.workload.layer import LayerKind, conv2d, eltwise, pool2d
from stationary.workload.network import Network


def brute_force(net: Network, start: int, stop: int, tr: int, tc: int, policy: str | dict[str, str]
                ) -> tuple[int, int]:
    """(input words fetched, MACs made): walk each tile, find every needed element through the real windows,
    keep a set of what is on chip per tensor (kept across tiles when retained, cleared per tile when
    recomputed); `policy` for every tensor, or per tensor ("" = the network input)."""
    layers = net.layers[start:stop]
    names = {x.name for x in layers}
    by = {x.name: x for x in layers}
    srcs = {x.name: (x.inputs or ("",)) for x in layers}
    anchor = layers[-1]
    on_chip: dict[str, set[tuple[int, int]]] = {}
    fetched = macs = 0

    def need_inputs(x, p, q):  # positions of x's input that output (p, q) reads
        if x.kind == LayerKind.ELTWISE:
            return {(p, q)}
        out = set()
        for r in range(x.R):
            for s in range(x.S):
                h = p * x.stride[0] - x.padding[0] + r * x.dilation[0]
                w = q * x.stride[1] - x.padding[1] + s * x.dilation[1]
                if 0 <= h < x.H and 0 <= w < x.W:
                    out.add((h, w))
        return out

    def produce(name, pos):
        nonlocal fetched, macs
        held = on_chip.setdefault(name, set())
        if pos in held:
            return
        held.add(pos)
        if name not in names:
            cons = next(x for x in layers if name in srcs[x.name])
            fetched += cons.N * cons.G * cons.C if cons.kind != LayerKind.ELTWISE else cons.N * cons.G
            return
        x = by[name]
        if x.kind.does_macs:
            macs += x.macs // (x.P * x.Q)
        for src in srcs[name]:
            for h, w in need_inputs(x, *pos):
                produce(src, (h, w))

    for i in range(0, anchor.P, tr):
        for j in range(0, anchor.Q, tc):
            for name in list(on_chip):
                if (policy if isinstance(policy, str) else policy.get(name, RETAIN)) == RECOMPUTE:
                    on_chip[name].clear()
            for p in range(i, min(i + tr, anchor.P)):
                for q in range(j, min(j + tc, anchor.Q)):
                    produce(anchor.name, (p, q))
    return fetched, macs


def chain() -> Network:
    a = conv2d("a", 2, 3, 11, 3, padding=1, bias=False)
    b = conv2d("b", 3, 4, 11, 3, stride=2, padding=1, inputs=("a",), bias=False)
    c = pool2d("c", 4, (b.P, b.Q), 3, stride=1, padding=1, inputs=("b",))
    d = conv2d("d", 4, 2, (c.P, c.Q), (3, 2), dilation=(2, 1), inputs=("c",), bias=False)
    return Network("chain", (a, b, c, d), (1, 2, 11, 11))


def residual() -> Network:
    a = conv2d("a", 2, 3, 9, 3, padding=1, bias=False)
    b = conv2d("b", 3, 3, 9, 3, padding=1, inputs=("a",), bias=False)
    c = eltwise("c", 3, 9, num_inputs=2, inputs=("b", "a"))
    return Network("res", (a, b, c), (1, 2, 9, 9))


@pytest.mark.parametrize("policy", [RETAIN, RECOMPUTE])
@pytest.mark.parametrize("tile", [(1, 1), (2, 3), (3, 2), (4, 4), (9, 9)])
@pytest.mark.parametrize("make", [chain, residual])
def test_counts_equal_brute_force(make, tile, policy) -> None:
    net = make()
    group = make_group(net, 0, len(net.layers))
    c = count(group, *tile, dict.fromkeys(["", *group.names], policy), float("inf"))
    fetched, macs = brute_force(net, 0, len(net.layers), *tile, policy)
    assert (c.input_words, c.macs) == (fetched, macs)
    assert c.output_words == net.layers[-1].output_activations
    assert c.recompute_macs == macs - sum(x.macs for x in net.layers)
    if policy == RETAIN:
        assert c.recompute_macs == 0 and c.input_words == net.layers[0].input_activations


def undilated() -> Network:
    """`chain` without the dilation: with mixed halos a dilated window's needed rows are not contiguous, and
    `count` makes their box (a valid schedule) where the element walk makes only the rows used."""
    a, b, c, _ = chain().layers
    return Network("undilated", (a, b, c, conv2d("d", 4, 2, (c.P, c.Q), (3, 2), inputs=("c",), bias=False)),
                   (1, 2, 11, 11))


@pytest.mark.parametrize("tile", [(1, 1), (2, 3), (4, 4)])
@pytest.mark.parametrize("make", [undilated, residual])
def test_mixed_halos_equal_brute_force(make, tile) -> None:
    net = make()
    group = make_group(net, 0, len(net.layers))
    tensors = ["", *group.names[:-1]]
    for mask in range(1, 2 ** len(tensors) - 1):  # every mix of retain and recompute
        halos = {n: RECOMPUTE if mask >> k & 1 else RETAIN for k, n in enumerate(tensors)}
        c = count(group, *tile, halos, float("inf"))
        assert (c.input_words, c.macs) == brute_force(net, 0, len(net.layers), *tile, halos), halos


def test_weights_refetched_per_tile_unless_resident() -> None:
    net = chain()
    group = make_group(net, 0, 4)
    weights = sum(x.weights for x in net.layers)
    roomy = count(group, 2, 2, {}, float("inf"))
    tight = count(group, 2, 2, {}, roomy.buffer_words - 1)
    assert roomy.weights_resident and roomy.weight_words == weights
    assert not tight.weights_resident and tight.weight_words > weights
    assert tight.buffer_words == roomy.buffer_words - weights


def test_graph_edges_residual_and_concat() -> None:
    net = residual()
    es = edges(net)
    assert [(e.producer, e.consumer, e.operand) for e in es] == [
        ("", "a", "Inputs"), ("a", "b", "Inputs"), ("b", "c", "Inputs0"), ("a", "c", "Inputs1")]
    g = make_group(net, 0, 3)
    assert g.outputs == ("c",) and len(g.internal) == 3
    with pytest.raises(StationaryError, match="feeds no later layer"):
        make_group(Network("x", (net.layers[0], net.layers[1], conv2d("z", 3, 1, 9, 1, inputs=("a",))),
                           (1, 2, 9, 9)), 0, 3)


def test_bad_policy_and_tile() -> None:
    group = make_group(chain(), 0, 2)
    with pytest.raises(StationaryError, match="retain or recompute"):
        count(group, 1, 1, {"a": "keep"}, 1e9)
    with pytest.raises(StationaryError, match="at least 1x1"):
        count(group, 0, 1, {}, 1e9)
