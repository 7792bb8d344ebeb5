"""The physical limit: decode tokens/s never exceed DRAM bandwidth / bytes that must be read per token, over
configs, sequence lengths, batches, architectures and objectives; per-token totals add up from the mappings."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stationary.arch.load import load_arch
from stationary.errors import StationaryError
from stationary.inference.cost import dram_bytes_per_s, map_steps, step_costs, with_dram_bandwidth
from stationary.mapper.search import SearchOptions
from stationary.workload.llm import build_step
from stationary.workload.llm.config import config_from_dict
from stationary.workload.llm.phases import mac_operators

QUICK = dict(budget=64, seed_dataflows=False, seed_keeps=False)  # a cheap search: the bound holds for any mapping
ARCHS = [("tpu_v4_like", None), ("tetris_3d", None), ("eyeriss", 25.0), ("systolic256", 100.0), ("simba_like", 50.0)]


@st.composite
def configs(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["gpt2", "llama", "mixtral"]))
    kv = draw(st.sampled_from([1, 2, 4]))
    heads = kv * draw(st.sampled_from([1, 2, 4]))
    d = heads * draw(st.sampled_from([4, 8, 16]))
    layers, ff, vocab = draw(st.integers(1, 2)), draw(st.sampled_from([16, 48, 64])), draw(st.integers(5, 200))
    if kind == "gpt2":
        return {"model_type": "gpt2", "n_embd": d, "n_head": heads, "n_layer": layers, "n_inner": ff,
                "n_positions": 128, "vocab_size": vocab}
    cfg = {"model_type": kind, "hidden_size": d, "num_attention_heads": heads, "num_key_value_heads": kv,
           "num_hidden_layers": layers, "intermediate_size": ff, "vocab_size": vocab, "max_position_embeddings": 128}
    if kind == "mixtral":
        experts = draw(st.integers(2, 6))
        cfg.update(num_local_experts=experts, num_experts_per_tok=draw(st.integers(1, experts)))
    return cfg


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.integers(1, 96), st.integers(1, 4), st.sampled_from(ARCHS),
       st.sampled_from(["energy", "edp", "cycles"]), st.integers(0, 3))
def test_decode_never_beats_the_bandwidth_limit(cfg: dict, seq: int, batch: int, arch: tuple, objective: str,
                                                seed: int) -> None:
    a = with_dram_bandwidth(load_arch(arch[0]), arch[1])
    step = build_step(config_from_dict(cfg), "decode", seq, batch)
    plans = map_steps([step], a, options=SearchOptions(objective=objective, seed=seed, **QUICK), jobs=1)[0]
    total = step_costs(step, plans, a)["total"]
    word_bytes = a.levels[0].word_bits / 8
    limit = batch * dram_bytes_per_s(a) / (step.compulsory_read_elements * word_bytes)
    assert total["bandwidth_bound_tokens_per_s"] == pytest.approx(limit, rel=1e-12)
    assert total["tokens_per_s"] <= limit * (1 + 1e-9)
    assert total["dram_bytes_per_token"] * batch >= step.compulsory_read_elements * word_bytes * (1 - 1e-12)


def test_totals_add_up_from_the_mappings() -> None:
    """Energy and time per token: the mapped layers, the non-MAC operations and the lookups, over B tokens."""
    cfg = {"model_type": "llama", "hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
           "num_hidden_layers": 2, "intermediate_size": 48, "vocab_size": 50, "max_position_embeddings": 64}
    a = load_arch("tpu_v4_like")
    step = build_step(config_from_dict(cfg), "decode", 20, 3)
    plans = map_steps([step], a, options=SearchOptions(**QUICK), jobs=1)[0]
    out = step_costs(step, plans, a)
    top = a.levels[0]
    lookup_words = 3 * 32  # three token rows
    energy = (sum(p.found.result.energy_pj for p in plans) + step.other_ops * a.compute.energy_pj
              + math.ceil(lookup_words / top.block_size) * top.energy.read_pj)
    cycles = sum(p.found.result.cycles for p in plans) + math.ceil(lookup_words / top.read_bandwidth)
    assert out["total"]["energy_pj_per_token"] == pytest.approx(energy / 3, rel=1e-12)
    assert out["total"]["seconds_per_token"] == pytest.approx(cycles / (a.clock_mhz * 1e6) / 3, rel=1e-12)
    assert out["total"]["macs_per_token"] == step.macs / 3
    assert out["total"]["kv_cache_bytes"] == 2 * 2 * 2 * 8 * 20 * 3 * 2  # K,V x layers x kv x hd x L x B x bytes
    assert sum(r["count"] for r in out["layers"]) == len(step.operators)
    assert sum(r["macs_per_token"] for r in out["layers"]) * 3 == step.macs
    kinds = {r["name"]: r["bound"] for r in out["layers"]}
    assert kinds["norm"] == "fused" and kinds["embed_tokens"] == "bandwidth"


def test_sweep_points_share_searches() -> None:
    """Two steps with the same shapes are searched once between them."""
    cfg = config_from_dict({"model_type": "gpt2", "n_embd": 16, "n_head": 2, "n_layer": 1, "n_positions": 64,
                            "vocab_size": 20})
    steps = [build_step(cfg, "decode", 8, 1), build_step(cfg, "decode", 8, 1), build_step(cfg, "decode", 9, 1)]
    plans = map_steps(steps, load_arch("tpu_v4_like"), options=SearchOptions(**QUICK), jobs=1)
    assert [len(p) for p in plans] == [len(mac_operators(s)) for s in steps]
    assert all(p.cached for p in plans[1])
    assert sum(not p.cached for p in plans[2]) == 2  # only QKᵀ and AV change with L


def test_an_arch_without_dram_bandwidth_needs_one() -> None:
    with pytest.raises(StationaryError, match="--dram-gbps") as exc:
        dram_bytes_per_s(load_arch("eyeriss"))
    assert exc.value.field == "--dram-gbps"
    with pytest.raises(StationaryError):
        with_dram_bandwidth(load_arch("eyeriss"), -1.0)
    assert dram_bytes_per_s(with_dram_bandwidth(load_arch("eyeriss"), 25.0)) == pytest.approx(25e9, rel=1e-12)
    assert dram_bytes_per_s(load_arch("tpu_v4_like")) == pytest.approx(1.2e12, rel=1e-6)


@pytest.mark.slow  # the long run: python3 -m pytest -m slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.integers(1, 512), st.integers(1, 16), st.sampled_from(ARCHS),
       st.sampled_from(["energy", "edp", "cycles"]))
def test_decode_never_beats_the_bandwidth_limit_many(cfg: dict, seq: int, batch: int, arch: tuple,
                                                     objective: str) -> None:
    test_decode_never_beats_the_bandwidth_limit.hypothesis.inner_test(cfg, seq, batch, arch, objective, 0)


def test_tpu_v4_like_preset_figures() -> None:
    """The LLM preset's published figures: 8 MXUs of 128 x 128, 1050 MHz (275 bf16 TFLOP/s), 1.2 TB/s, 32 MiB."""
    a = load_arch("tpu_v4_like")
    assert a.compute.instances == 8 * 128 * 128 and a.clock_mhz == 1050
    assert round(2 * a.compute.instances * a.clock_mhz * 1e6 / 1e12) == 275
    assert a.levels[1].size_bytes == 32 * 2**20 and a.levels[0].word_bits == 16
    assert a.levels[0].energy.read_pj == pytest.approx(3.9 * 16 * 32)  # HBM2 3.9 pJ/bit, 64-byte access
