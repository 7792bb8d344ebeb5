"""MACs of every shipped transformer config equal a formula written here from the raw config.json alone
(prefill and decode, GQA and MoE included); GQA reads each K/V once per KV head; balanced expert routing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationary.workload.layer import LayerKind
from stationary.workload.llm import build_step, config_names, load_config
from stationary.workload.llm.blocks import expert_split
from stationary.workload.llm.config import CONFIG_DIR


def raw(name: str) -> dict:
    return json.loads((CONFIG_DIR / f"{name}.json").read_text())


def expected_macs(cfg: dict, phase: str, seq: int, batch: int, logits: str = "all") -> int:
    """Total MACs of one step, from the Hugging Face field names (independent of the builder)."""
    mt = cfg["model_type"]
    if mt == "gpt2":
        d, layers, h = cfg["n_embd"], cfg["n_layer"], cfg["n_head"]
        kv, ff, vocab = h, cfg.get("n_inner") or 4 * d, cfg["vocab_size"]
    else:
        d, layers, h = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
        kv, ff, vocab = cfg.get("num_key_value_heads", h), cfg["intermediate_size"], cfg.get("vocab_size", 0)
    hd = d // h
    if mt == "vit":
        patches = (cfg["image_size"] // cfg["patch_size"]) ** 2
        seq = patches + 1
    window = cfg.get("sliding_window") or None
    tokens = seq if phase == "prefill" else 1
    keys = seq if phase == "prefill" else (seq + 1 if window is None else min(seq + 1, window))
    if mt in ("gpt2", "bert", "vit"):
        mlp = 2 * d * ff
    elif mt == "mixtral":
        mlp = d * cfg["num_local_experts"] + cfg["num_experts_per_tok"] * 3 * d * ff  # router + top-k SwiGLU experts
    else:
        mlp = 3 * d * ff  # SwiGLU: gate, up, down
    # Q (h heads) and K, V (kv heads each), QK^T and AV per query head, output projection, MLP
    per_token = d * hd * (h + 2 * kv) + 2 * h * hd * keys + h * hd * d + mlp
    total = batch * tokens * layers * per_token
    if mt == "bert":
        total += batch * d * d  # pooler on [CLS]
    elif mt == "vit":
        total += batch * patches * d * cfg["num_channels"] * cfg["patch_size"] ** 2  # patch embedding
        total += batch * d * cfg["num_labels"]  # classifier on [CLS]
    else:
        total += batch * (tokens if logits == "all" else 1) * d * vocab  # LM head
    return total


STEPS = [("prefill", 1, 1), ("prefill", 128, 2), ("prefill", 2048, 1), ("decode", 1, 1), ("decode", 2048, 16),
         ("decode", 5000, 3), ("decode", 17, 5)]


CASES = [(name, *step) for name in config_names() for step in STEPS
         if step[0] == "prefill" or load_config(name).is_decoder]  # encoders have no decode phase


@pytest.mark.parametrize("name,phase,seq,batch", CASES)
def test_macs_equal_the_formula(name: str, phase: str, seq: int, batch: int) -> None:
    cfg = load_config(name)
    if name == "vit_b_16":
        seq = None  # fixed by the image
    step = build_step(cfg, phase, seq, batch)
    assert step.macs == expected_macs(raw(name), phase, seq or 0, batch)
    assert step.tokens == batch * (1 if phase == "decode" else step.seq)


def test_prefill_last_logits_only() -> None:
    cfg = load_config("llama3_8b")
    assert build_step(cfg, "prefill", 64, 2, "last").macs == expected_macs(raw("llama3_8b"), "prefill", 64, 2, "last")


def test_published_sizes() -> None:
    """Parameter counts as the model cards state them (embedding tables are not MAC weights here)."""
    llama = build_step(load_config("llama3_8b"), "decode", 1, 1)
    assert llama.weight_elements + 128256 * 4096 == 8_030_261_248 - 65 * 4096  # card: 8.03 B, less the norms
    mixtral = build_step(load_config("mixtral_8x7b"), "prefill", 64, 1)  # 64 tokens x top-2 touch all 8 experts
    assert round((mixtral.weight_elements + 32000 * 4096) / 1e9, 1) == 46.7  # card: 46.7 B
    vit = build_step(load_config("vit_b_16"), "prefill", None, 1)
    assert round(vit.macs / 1e9, 2) == 17.56  # ViT-B/16 at 224²: 17.56 G multiply-adds


def test_gqa_reads_each_kv_head_once() -> None:
    """QKᵀ's second operand (K) is B x kv_heads x head_dim x keys: the 4 query heads of a group share it."""
    cfg = load_config("llama3_8b")
    step = build_step(cfg, "decode", 100, 3)
    qk = [o.layer for o in step.operators if o.op == "qk"]
    assert len(qk) == 32
    assert all(x.kind == LayerKind.MATMUL and x.G == 8 and x.P == 4 and x.C == 128 and x.M == 101 for x in qk)
    k_elements = sum(x.N * x.G * x.M * x.C for x in qk)
    assert k_elements == 3 * 32 * 8 * 128 * 101
    assert step.kv_cache_elements == 2 * 3 * 32 * 8 * 128 * 100
    # decode must read every weight once, the KV cache, and the looked-up embedding rows
    assert step.compulsory_read_elements == step.weight_elements + step.kv_cache_elements + 3 * 4096


def test_sliding_window_caps_the_cache() -> None:
    step = build_step(load_config("mistral_7b"), "decode", 10_000, 1)
    assert step.keys == 4096 and step.cached_positions == 4096


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 100_000), st.integers(1, 300))
def test_expert_split_is_balanced(assignments: int, experts: int) -> None:
    groups = expert_split(assignments, experts)
    assert sum(n * t for n, t in groups) == assignments
    assert sum(n for n, _ in groups) == min(experts, assignments)
    sizes = [t for _, t in groups]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


def test_moe_decode_touches_only_routed_experts() -> None:
    """Batch 1, top-2 of 8: two experts' weights are read, not eight."""
    cfg = load_config("mixtral_8x7b")
    one = build_step(cfg, "decode", 10, 1)
    dense_part = build_step(cfg, "decode", 10, 16).weight_elements - 8 * 32 * 3 * 4096 * 14336
    assert one.weight_elements == dense_part + 2 * 32 * 3 * 4096 * 14336


def test_non_mac_ops_of_a_gpt2_block() -> None:
    """Norms, softmax, activations and adds are counted, with the documented operations per element."""
    step = build_step(load_config("gpt2"), "prefill", 8, 1)
    d, h, t = 768, 12, 8
    per_block = 2 * 5 * d * t + 4 * h * t * t + 4 * d * t + 2 * d * t  # 2 LN, softmax, GELU (4d wide), 2 adds
    assert step.other_ops == 12 * per_block + d * t + 5 * d * t  # + embedding add + final LN
