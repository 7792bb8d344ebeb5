"""Reading Hugging Face configs: the shipped ones, and bad input refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stationary.errors import StationaryError
from stationary.workload.llm import build_step, config_names, load_config
from stationary.workload.llm.config import config_from_dict

LLAMA = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 8,
         "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 32}


def test_shipped_configs() -> None:
    assert config_names() == ["bert_base", "gpt2", "llama3_8b", "mistral_7b", "mixtral_8x7b", "vit_b_16"]
    llama = load_config("llama3_8b")
    assert (llama.hidden, llama.layers, llama.heads, llama.kv_heads, llama.head_dim, llama.intermediate,
            llama.vocab, llama.max_positions, llama.mlp) == (4096, 32, 32, 8, 128, 14336, 128256, 8192, "swiglu")
    mixtral = load_config("mixtral_8x7b")
    assert (mixtral.experts, mixtral.experts_per_token, mixtral.sliding_window) == (8, 2, 0)
    assert load_config("mistral_7b").sliding_window == 4096
    gpt2 = load_config("gpt2")
    assert (gpt2.hidden, gpt2.intermediate, gpt2.kv_heads, gpt2.max_positions) == (768, 3072, 12, 1024)
    assert load_config("vit_b_16").image_tokens == 197


def test_a_path_or_its_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA))
    assert load_config(tmp_path).name == tmp_path.name
    assert load_config(tmp_path / "config.json").kv_heads == 2


def error(data: object) -> StationaryError:
    with pytest.raises(StationaryError) as exc:
        config_from_dict(data, "x", "x.json")
    return exc.value


def test_unknown_architecture_type_names_the_field_and_the_supported() -> None:
    e = error({**LLAMA, "model_type": "lama"})
    assert e.field == "model_type" and "llama" in e.message and "mixtral" in e.message and "vit" in e.message
    assert "did you mean `llama`" in e.message
    assert error({k: v for k, v in LLAMA.items() if k != "model_type"}).field == "model_type"


def test_hidden_size_not_divisible_by_heads() -> None:
    e = error({**LLAMA, "num_attention_heads": 6, "num_key_value_heads": 6})
    assert e.field == "hidden_size" and "not divisible" in e.message
    assert error({"model_type": "gpt2", "n_embd": 100, "n_head": 3, "n_layer": 1, "n_positions": 8,
                  "vocab_size": 10}).field == "n_embd"


def test_kv_heads_must_divide_heads() -> None:
    e = error({**LLAMA, "num_key_value_heads": 3})
    assert e.field == "num_key_value_heads" and "do not divide" in e.message
    assert error({**LLAMA, "num_key_value_heads": 16}).field == "num_key_value_heads"


@pytest.mark.parametrize("key,value", [("hidden_size", 64.0), ("hidden_size", True), ("hidden_size", "64"),
                                       ("num_hidden_layers", 0), ("vocab_size", -1), ("intermediate_size", 1 << 40)])
def test_strict_integers(key: str, value: object) -> None:
    assert error({**LLAMA, key: value}).field == key


def test_missing_field_and_bad_moe() -> None:
    assert error({k: v for k, v in LLAMA.items() if k != "intermediate_size"}).field == "intermediate_size"
    moe = {**LLAMA, "model_type": "mixtral", "num_local_experts": 2, "num_experts_per_tok": 3}
    assert error(moe).field == "num_experts_per_tok"
    assert error({**LLAMA, "hidden_act": "relu"}).field == "hidden_act"
    assert error([1, 2]).message.startswith("expected a JSON object")


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StationaryError, match="malformed JSON at line 1"):
        load_config(bad)
    with pytest.raises(StationaryError, match="did you mean `gpt2`"):
        load_config("gtp2")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(StationaryError, match="nested too deeply"):
        load_config(deep)
    (tmp_path / "empty").mkdir()
    with pytest.raises(StationaryError, match="no config file"):
        load_config(tmp_path / "empty")


def test_sequence_beyond_max_positions_warns_and_is_not_clamped() -> None:
    cfg = config_from_dict(LLAMA)
    step = build_step(cfg, "prefill", 40, 1)
    assert step.seq == 40 and step.keys == 40 and any("exceed" in w and "not clamped" in w for w in step.warnings)
    assert build_step(cfg, "prefill", 32, 1).warnings == ()
    assert build_step(cfg, "decode", 32, 1).warnings != ()  # the new token sits at position 33
    assert build_step(cfg, "decode", 31, 1).warnings == ()


@pytest.mark.parametrize("phase,seq,batch,field", [("decoded", 8, 1, "--phase"), ("prefill", 0, 1, "--seq"),
                                                   ("prefill", None, 1, "--seq"), ("prefill", 8, 0, "--batch")])
def test_bad_steps(phase: str, seq: int | None, batch: int, field: str) -> None:
    with pytest.raises(StationaryError) as exc:
        build_step(config_from_dict(LLAMA), phase, seq, batch)
    assert exc.value.field == field


def test_encoders_have_prefill_only_and_vit_a_fixed_sequence() -> None:
    with pytest.raises(StationaryError, match="encoder"):
        build_step(load_config("bert_base"), "decode", 8, 1)
    with pytest.raises(StationaryError, match="197 tokens"):
        build_step(load_config("vit_b_16"), "prefill", 196, 1)
    assert build_step(load_config("vit_b_16"), "prefill", 197, 1).seq == 197
