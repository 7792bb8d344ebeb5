"""The `stationary llm` contract: the JSON keys, the table, the sweep and its plot, bad input with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run_cli

TINY = {"model_type": "llama", "hidden_size": 32, "num_attention_heads": 4, "num_key_value_heads": 2,
        "num_hidden_layers": 1, "intermediate_size": 48, "vocab_size": 50, "max_position_embeddings": 64}
FAST = ("--budget", "64", "--jobs", "1")


@pytest.fixture()
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY))
    return str(path)


def test_json_contract(tiny: str) -> None:
    out = run_cli("llm", tiny, "--phase", "decode", "--seq", "16", "--batch", "2", "--json", *FAST)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"model", "phase", "seq", "batch", "arch", "layers", "total"}
    assert (data["phase"], data["seq"], data["batch"], data["arch"]) == ("decode", 16, 2, "tpu_v4_like")
    assert set(data["total"]) == {"macs_per_token", "energy_pj_per_token", "seconds_per_token", "tokens_per_s",
                                  "dram_bytes_per_token", "kv_cache_bytes", "bandwidth_bound_tokens_per_s"}
    t = data["total"]
    assert 0 < t["tokens_per_s"] <= t["bandwidth_bound_tokens_per_s"] * (1 + 1e-9)
    assert t["kv_cache_bytes"] == 2 * 1 * 2 * 8 * 16 * 2 * 2  # K,V x layers x kv heads x head_dim x L x B x bf16
    d, hd, ff = 32, 8, 48  # MACs per decode token: q,k,v,o + QKᵀ/AV over 17 keys + SwiGLU + LM head
    assert t["macs_per_token"] == d * hd * (4 + 4) + 4 * hd * d + 2 * 4 * hd * 17 + 3 * d * ff + d * 50
    names = {row["name"] for row in data["layers"]}
    assert {"q_proj", "k_proj", "qk", "av", "softmax", "rope", "gate_proj", "lm_head", "norm"} <= names
    assert {row["bound"] for row in data["layers"]} <= {"compute", "bandwidth", "fused"}


def test_table(tiny: str) -> None:
    out = run_cli("llm", tiny, "--phase", "prefill", "--seq", "8", *FAST)
    assert out.returncode == 0, out.stderr
    assert "%limit" in out.stdout and "distinct layer shapes" in out.stdout and "gate_proj" in out.stdout


def test_sweep_with_plot(tiny: str, tmp_path: Path) -> None:
    png = tmp_path / "sweep.png"
    out = run_cli("llm", tiny, "--phase", "decode", "--sweep-seq", "4,8", "--sweep-batch", "1,2", "--plot", str(png),
                  "--json", *FAST)
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(out.stdout)
    assert set(data) == {"model", "phase", "arch", "points"}
    assert [(p["seq"], p["batch"]) for p in data["points"]] == [(4, 1), (4, 2), (8, 1), (8, 2)]
    assert all(p["total"]["tokens_per_s"] <= p["total"]["bandwidth_bound_tokens_per_s"] * (1 + 1e-9)
               for p in data["points"])


def test_long_sequence_warns(tiny: str) -> None:
    out = run_cli("llm", tiny, "--phase", "prefill", "--seq", "65", "--json", *FAST)
    assert out.returncode == 0 and "exceed the config's maximum of 64" in out.stderr
    assert json.loads(out.stdout)["seq"] == 65


@pytest.mark.parametrize("args,message", [
    (("gtp2", "--seq", "8"), "did you mean `gpt2`"),
    (("gpt2", "--seq", "8", "--phase", "decoding"), "unknown phase"),
    (("gpt2",), "--seq"),
    (("bert_base", "--seq", "8", "--phase", "decode"), "encoder"),
    (("gpt2", "--seq", "8", "--arch", "eyeriss"), "--dram-gbps"),
    (("gpt2", "--seq", "8", "--dram-gbps", "-3"), "positive"),
    (("gpt2", "--seq", "8", "--objective", "speed"), "unknown objective"),
    (("gpt2", "--sweep-seq", "8,a"), "comma-separated"),
    (("gpt2", "--sweep-seq", "8,x"), "comma-separated"),  # 'x' separates sizes (1x3x224x224); alone, a typo
    (("gpt2", "--sweep-seq", "8,,16"), "comma-separated"),
    (("vit_b_16", "--seq", "100"), "197 tokens"),
])
def test_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    out = run_cli("llm", *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_unknown_model_type_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "model_type": "gptj"}))
    out = run_cli("llm", str(path), "--seq", "8")
    assert out.returncode == 2 and "model_type" in out.stderr and "supported: gpt2" in out.stderr
