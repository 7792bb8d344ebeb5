"""Hugging Face transformers models built from `*Config(...)` in code (tiny, random weights, nothing downloaded)
import through torch.export with the MACs an analytic formula gives from the config alone, with `sdpa` and
`eager` attention, and their ONNX exports give the same MACs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from stationary.workload.importers.onnx import import_onnx
from stationary.workload.importers.pytorch import _TensorOutputs, import_module
from stationary.workload.stats import network_stats

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

B, L = 2, 7  # batch, tokens
VOCAB = 100


def bert() -> tuple[object, tuple[int, ...], int]:
    h, heads, inter, layers = 32, 4, 64, 2
    cfg = dict(vocab_size=VOCAB, hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads,
               intermediate_size=inter, max_position_embeddings=64)
    per_layer = B * L * (4 * h * h + 2 * h * inter) + 2 * B * heads * L * L * (h // heads)
    pooler = B * h * h  # dense on the [CLS] token
    return (transformers.BertModel, transformers.BertConfig, cfg), (B, L), layers * per_layer + pooler


def gpt2() -> tuple[object, tuple[int, ...], int]:
    h, heads, layers = 32, 4, 2
    cfg = dict(vocab_size=VOCAB, n_embd=h, n_layer=layers, n_head=heads, n_positions=64, bos_token_id=0,
               eos_token_id=0)
    per_layer = B * L * (3 * h * h + h * h + 2 * h * 4 * h) + 2 * B * heads * L * L * (h // heads)
    return (transformers.GPT2LMHeadModel, transformers.GPT2Config, cfg), (B, L), layers * per_layer + B * L * h * VOCAB


def llama() -> tuple[object, tuple[int, ...], int]:
    h, heads, kv_heads, inter, layers = 32, 4, 2, 48, 2
    hd = h // heads
    cfg = dict(vocab_size=VOCAB, hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
               num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=64,
               bos_token_id=0, eos_token_id=0, pad_token_id=0)
    projections = h * h + 2 * h * kv_heads * hd + h * h  # q, k and v (grouped-query), o
    mlp = 3 * h * inter  # gate, up, down (SwiGLU)
    attention = 2 * heads * L * L * hd  # QK^T and AV per query head (K/V heads shared)
    per_layer = B * L * (projections + mlp) + B * attention
    return (transformers.LlamaForCausalLM, transformers.LlamaConfig, cfg), (B, L), \
        layers * per_layer + B * L * h * VOCAB


def vit() -> tuple[object, tuple[int, ...], int]:
    h, heads, inter, layers, image, patch = 32, 4, 64, 2, 32, 8
    cfg = dict(hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=inter,
               image_size=image, patch_size=patch)
    patches = (image // patch) ** 2
    tokens = patches + 1  # [CLS]
    embed = B * patches * h * 3 * patch * patch
    per_layer = B * tokens * (4 * h * h + 2 * h * inter) + 2 * B * heads * tokens * tokens * (h // heads)
    return (transformers.ViTModel, transformers.ViTConfig, cfg), (B, 3, image, image), \
        embed + layers * per_layer + B * h * h


MODELS: dict[str, Callable[[], tuple]] = {"bert": bert, "gpt2": gpt2, "llama": llama, "vit": vit}


def build(name: str, attention: str) -> tuple[object, tuple[int, ...], int]:
    (model_cls, config_cls, cfg), shape, macs = MODELS[name]()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model_cls(config_cls(**cfg, attn_implementation=attention)).eval()
    return model, shape, macs


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_macs_equal_the_formula_from_the_config(name: str, attention: str, tmp_path: Path) -> None:
    model, shape, want = build(name, attention)
    net = import_module(model, shape)
    # Llama's rotary table (inv_freq x positions) is computed from buffers only: folded, and said so
    assert all("computed only from buffers and constants" in w for w in net.warnings)
    assert bool(net.warnings) == (name == "llama")
    assert network_stats(net).macs == want
    # the ONNX export of the same module (legacy exporter, offline) counts the same
    dtype = torch.float32 if len(shape) == 4 else torch.int64
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_TensorOutputs(model), (torch.zeros(shape, dtype=dtype),), str(path), dynamo=False,
                          input_names=["x"])
    assert network_stats(import_onnx(path)).macs == want
