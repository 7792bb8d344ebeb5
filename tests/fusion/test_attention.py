"""Attention fusion (QKᵀ -> softmax -> AV): counts against an element-level simulation of the tiled computation,
never worse than layer by layer, capacity, the LLM prefill/decode blocks and the CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.fusion.graph import is_attention, make_group
from stationary.fusion.search import plan_fusion
from stationary.fusion.tiles import count, group_heads
from stationary.mapper.network import map_network
from stationary.workload import layer as L
from stationary.workload.llm import LLMConfig, build_step
from stationary.workload.network import Network
from tests.clirun import run_cli
from tests.fusion.test_search import OPTS, arch

SOFTMAX_OPS = 4


def attention_net(n: int, heads: int, rows: int, dh: int, keys: int) -> Network:
    """Q, K, V projections and QKᵀ -> softmax -> AV with `heads` heads (the LLM block's layout)."""
    q = L.linear("q", 4, heads * dh, n, rows=rows, bias=False)
    k = L.linear("k", 4, heads * dh, n, rows=keys, bias=False, inputs=("q",))
    v = L.linear("v", 4, heads * dh, n, rows=keys, bias=False, inputs=("q",))
    qk = L.matmul("qk", rows, dh, keys, n, heads, inputs=("q", "k"))
    sm = L.eltwise("softmax", heads * keys, (rows, 1), n, ops_per_output=SOFTMAX_OPS, inputs=("qk",))
    av = L.matmul("av", rows, keys, dh, n, heads, inputs=("softmax", "v"))
    return Network("attn", (q, k, v, qk, sm, av), (n, 4, rows, 1))


def simulate(n: int, heads: int, rows: int, dh: int, keys: int, tile_rows: int, tile_heads: int,
             resident: bool) -> tuple[int, int, int, int, int]:
    """(Q words fetched, K and V words fetched, MACs, softmax ops, output words): head tiles outer, query tiles
    inner; every score, probability and output element computed one by one, each operand element fetched when
    it is not on chip (K, V kept for the head tile when resident, else dropped after every query tile)."""
    q_words = kv_words = macs = ops = outs = 0
    for h0 in range(0, heads, tile_heads):
        kv_on_chip: set[tuple[str, int, int, int, int]] = set()
        for r0 in range(0, rows, tile_rows):
            if not resident:
                kv_on_chip = set()
            q_on_chip: set[tuple[int, int, int, int]] = set()
            for b in range(n):
                for g in range(h0, h0 + tile_heads):
                    for r in range(r0, min(rows, r0 + tile_rows)):
                        for key in range(keys):  # S[r, key] = sum_d Q[r, d] K[key, d], then softmax on chip
                            for d in range(dh):
                                macs += 1
                                if (b, g, r, d) not in q_on_chip:
                                    q_on_chip.add((b, g, r, d))
                                    q_words += 1
                                if ("K", b, g, key, d) not in kv_on_chip:
                                    kv_on_chip.add(("K", b, g, key, d))
                                    kv_words += 1
                            ops += SOFTMAX_OPS
                        for d in range(dh):  # O[r, d] = sum_key P[r, key] V[key, d]
                            for key in range(keys):
                                macs += 1
                                if ("V", b, g, key, d) not in kv_on_chip:
                                    kv_on_chip.add(("V", b, g, key, d))
                                    kv_words += 1
                            outs += 1
    return q_words, kv_words, macs, ops, outs


@pytest.mark.parametrize("shape", [(1, 2, 5, 3, 4), (2, 4, 6, 2, 3), (1, 3, 1, 4, 7)])
@pytest.mark.parametrize("tile_rows", [1, 2, 4, 6])
@pytest.mark.parametrize("heads_per_tile", [None, 1])
@pytest.mark.parametrize("roomy", [True, False])
def test_attention_counts_equal_element_simulation(shape, tile_rows, heads_per_tile, roomy) -> None:
    n, heads, rows, dh, keys = shape
    net = attention_net(*shape)
    group = make_group(net, 3, 6)
    assert is_attention(group.layers) and group_heads(group) == heads
    big = count(group, tile_rows, 1, {}, float("inf"), heads_per_tile)
    c = big if roomy else count(group, tile_rows, 1, {}, big.buffer_words - 1, heads_per_tile)
    assert c.weights_resident is roomy
    sim = simulate(n, heads, rows, dh, keys, tile_rows, heads_per_tile or heads, roomy)
    assert (c.input_words, c.operand_words, c.macs, c.other_ops, c.output_words) == sim
    assert c.recompute_macs == 0 and c.macs == net.layers[3].macs + net.layers[5].macs
    assert c.weight_words == 0  # no parameters: K and V are activations (`operand_words`)


def test_too_small_buffer_is_not_fusible_with_the_size_needed() -> None:
    net = attention_net(1, 2, 8, 4, 8)
    group = make_group(net, 3, 6)
    least = count(group, 1, 1, {}, 0, 1).buffer_words  # one query row of one head, K and V streamed
    assert least == max(4 + 8, 8 + 8, 8 + 4)  # live while each layer runs: Q+S, S+P (softmax), P+O
    a = arch(12, 200.0, 1)
    plans = map_network(net, a, options=OPTS, jobs=1)
    plan = plan_fusion(net, a, plans, "auto", OPTS)
    assert f"qk+softmax+av needs {least:,} words at Buf (capacity 12)" in plan.not_fusible
    assert not any(g.attention for g in plan.groups)


@st.composite
def attention_shapes(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    return (1, draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 8)))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=attention_shapes(), buf=st.sampled_from([64, 256, 4096]), dram=st.sampled_from([20.0, 200.0]),
       block=st.sampled_from([1, 2]))
def test_fused_attention_never_worse_than_layer_by_layer(shape, buf: int, dram: float, block: int) -> None:
    net = attention_net(*shape)
    a = arch(buf, dram, block)
    plans = map_network(net, a, options=OPTS, jobs=1)
    plan = plan_fusion(net, a, plans, "auto", OPTS)
    assert plan.energy_pj <= plan.layer_by_layer_energy_pj * (1 + 1e-9)
    for g in plan.groups:
        assert g.buffer_words <= buf
        if g.attention and g.cost is not None and g.cost.counts.weights_resident:
            n, heads, rows, dh, keys = shape  # Q, K, V in once and O out: the scores never reach DRAM
            assert g.dram_words == n * heads * dh * (2 * rows + 2 * keys)
            assert g.dram_words < g.dram_words_layer_by_layer


def tiny(kv_heads: int, positions: str = "rope") -> LLMConfig:
    return LLMConfig("tiny", "llama", hidden=32, layers=1, heads=4, kv_heads=kv_heads, head_dim=8,
                     intermediate=64, vocab=64, max_positions=512, mlp="swiglu", norm="rms_norm",
                     positions=positions)


def block0(step) -> Network:  # type: ignore[no-untyped-def]
    layers = tuple(o.layer for o in step.operators if o.layer.name.startswith("h0."))
    return Network("h0", layers)


@pytest.mark.parametrize("phase,seq", [("prefill", 16), ("decode", 40)])
@pytest.mark.parametrize("kv_heads", [4, 2])
def test_llm_blocks_fuse_attention(phase: str, seq: int, kv_heads: int) -> None:
    c = tiny(kv_heads)
    step = build_step(c, phase, seq)
    net = block0(step)
    names = [x.name for x in net.layers]
    group = make_group(net, names.index("h0.qk"), names.index("h0.av") + 1)
    assert group_heads(group) == kv_heads
    got = count(group, group.layers[-1].P, 1, {}, float("inf"))
    tokens = seq if phase == "prefill" else 1
    keys = step.keys
    assert got.input_words == c.heads * c.head_dim * tokens  # Q once
    assert got.operand_words == 2 * kv_heads * c.head_dim * keys  # the KV cache (decode) read once per token
    assert got.output_words == c.heads * c.head_dim * tokens
    softmax = net.layers[names.index("h0.softmax")]
    assert got.other_ops == softmax.other_ops == SOFTMAX_OPS * c.heads * tokens * keys


def test_cli_bert_layer_shows_attention_and_the_scores_saved() -> None:
    out = run_cli("evaluate", "bert_base_layer", "--arch", "eyeriss", "--budget", "300", "--jobs", "1", "--fuse",
                  "auto", "--json")
    assert out.returncode == 0, out.stderr
    fusion = json.loads(out.stdout)["fusion"]
    attn = [g for g in fusion["groups"] if g["attention"]]
    assert attn and attn[0]["layers"][:3] == ["qk_matmul", "softmax", "av_matmul"]
    scores_bytes = 12 * 128 * 128 * 2  # 12 heads x 128 x 128 scores, 16-bit words: written and read once each
    assert attn[0]["dram_bytes_layer_by_layer"] - attn[0]["dram_bytes"] >= 2 * scores_bytes - attn[0]["kv_bytes"]
    assert fusion["dram_bytes_fused"] < fusion["dram_bytes_layer_by_layer"]
    text = run_cli("evaluate", "bert_base_layer", "--arch", "eyeriss", "--budget", "300", "--jobs", "1", "--fuse",
                   "auto")
    assert text.returncode == 0 and "(attention)" in text.stdout


def test_roomy_buffer_fuses_attention_and_keeps_the_scores_on_chip() -> None:
    n, heads, rows, dh, keys = shape = (1, 2, 8, 4, 8)
    net = attention_net(*shape)
    a = arch(4096, 200.0, 1)
    plan = plan_fusion(net, a, map_network(net, a, options=OPTS, jobs=1), "auto", OPTS)
    attn = [g for g in plan.groups if g.attention]
    assert attn and attn[0].names == ("qk", "softmax", "av")
    assert attn[0].dram_words == n * heads * dh * (2 * rows + 2 * keys)  # Q, K, V in, O out
    assert attn[0].cost is not None and attn[0].cost.other_energy_pj == SOFTMAX_OPS * heads * rows * keys * 1.0


def test_head_tiles_when_all_heads_do_not_fit() -> None:
    n, heads, rows, dh, keys = shape = (1, 4, 8, 4, 16)
    net = attention_net(*shape)
    group = make_group(net, 3, 6)
    one_head = count(group, rows, 1, {}, float("inf"), 1)  # all query rows of one head, K and V resident
    a = arch(one_head.buffer_words, 200.0, 1)
    plan = plan_fusion(net, a, map_network(net, a, options=OPTS, jobs=1), "auto", OPTS)
    attn = [g for g in plan.groups if g.attention]
    assert attn and attn[0].heads_per_tile is not None and attn[0].heads_per_tile < heads
    g = attn[0]
    assert g.cost is not None and g.cost.counts.weights_resident
    assert g.dram_words == n * heads * dh * (2 * rows + 2 * keys)  # each head's K and V fetched once
    inner_tiles = sum(sum(shapes.values()) for shapes in g.cost.counts.tile_shapes.values())
    assert inner_tiles == 2 * g.cost.counts.tiles  # qk and av once per (head tile, query tile)
    assert g.energy_pj == g.cost.inner_energy_pj + g.cost.transfer_energy_pj + g.cost.other_energy_pj > 0
