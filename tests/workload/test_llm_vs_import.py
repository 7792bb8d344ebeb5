"""The LLM config builder (workload/llm) against the real modules: each shipped config, shrunk but with its
structure kept, built by `transformers` from the same config.json (random init, nothing downloaded) and
imported through torch.export and through an ONNX export, gives the builder's prefill MACs exactly — in
total and per operator class (projections, attention matmuls, MLP, head, embedding). Decode too: HF's
prefill of L tokens then one token against its DynamicCache equals the builder's prefill(L) + decode(L).

Conventions where the two legitimately differ are asserted as exact formulas:
- BERT: the builder models the encoder and its pooler (`BertModel`); the shipped config names
  `BertForMaskedLM`, whose MLM head (a d x d transform on every token and the d x vocab decoder) replaces the
  pooler (d x d on [CLS] only): the difference is B * (L * (d*d + d*vocab) - d*d).
- Mixtral: MACs of the experts are routing-independent in total (every token-to-expert assignment runs one
  SwiGLU expert: B*L*k*3*d*ff, whatever the random router picks), so the builder's balanced split and HF's
  routed compute agree. transformers 5's default `grouped_mm` experts call a custom op the PyTorch importer
  does not count, and its `eager` loop over the experts hit is data-dependent: both are refused loudly
  (asserted below); `batched_mm` (one bmm per assignment) is what is imported and compared.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path

import pytest

from stationary.errors import StationaryError
from stationary.workload.layer import LayerKind
from stationary.workload.llm import build_step, load_config
from stationary.workload.llm.config import CONFIG_DIR

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from stationary.workload.importers.onnx import import_onnx  # noqa: E402
from stationary.workload.importers.pytorch import _TensorOutputs, import_module  # noqa: E402

L = 7  # prefill tokens; B = 1
LAYERS = 2
VOCAB = 96

# Each shipped config shrunk: sizes small, structure kept (head ratios incl. GQA 32:8 -> 4:1, gated MLP with its
# 3.5x width, 8 experts top-2, a sliding window — here shorter than L, which prefill must still compute densely).
SHRINK: dict[str, dict] = {
    "gpt2": dict(n_embd=32, n_head=4, n_layer=LAYERS, vocab_size=VOCAB, n_positions=64, n_ctx=64, bos_token_id=0,
                 eos_token_id=0),
    "bert_base": dict(hidden_size=32, num_attention_heads=4, intermediate_size=128, num_hidden_layers=LAYERS,
                      vocab_size=VOCAB, max_position_embeddings=64),
    "vit_b_16": dict(hidden_size=32, num_attention_heads=4, intermediate_size=128, num_hidden_layers=LAYERS,
                     image_size=32, patch_size=8, num_labels=10),
    "llama3_8b": dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, intermediate_size=112,
                      num_hidden_layers=LAYERS, vocab_size=VOCAB, max_position_embeddings=64, bos_token_id=0,
                      eos_token_id=0),
    "mistral_7b": dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, intermediate_size=112,
                       num_hidden_layers=LAYERS, vocab_size=VOCAB, max_position_embeddings=64, sliding_window=4,
                       bos_token_id=0, eos_token_id=0),
    "mixtral_8x7b": dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, intermediate_size=112,
                         num_hidden_layers=LAYERS, vocab_size=VOCAB, max_position_embeddings=64, bos_token_id=0,
                         eos_token_id=0),
}

BUILDER_CLASS = {"q_proj": "proj", "k_proj": "proj", "v_proj": "proj", "o_proj": "proj", "qk": "attn", "av": "attn",
                 "fc1": "mlp", "fc2": "mlp", "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp",
                 "router": "mlp", "experts_gate": "mlp", "experts_up": "mlp", "experts_down": "mlp",
                 "lm_head": "head", "pooler": "head", "classifier": "head", "patch_embed": "embed"}


def shrunk(name: str, tmp_path: Path) -> Path:
    """The shipped config.json with SHRINK's sizes, written where both sides read it."""
    data = json.loads((CONFIG_DIR / f"{name}.json").read_text())
    data.update(SHRINK[name])
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(data))
    return folder


def builder_classes(folder: Path, phase: str = "prefill", seq: int | None = L) -> Counter:
    """The builder's MACs per operator class for one step at B = 1 (ViT's sequence is its image's)."""
    step = build_step(load_config(folder / "config.json"), phase, None if "vit" in folder.name else seq, 1)
    out: Counter = Counter()
    for o in step.operators:
        if o.layer.macs:
            out[BUILDER_CLASS[o.op]] += o.layer.macs
    assert sum(out.values()) == step.macs
    return out


def imported_class(layer) -> str:
    """An imported layer's operator class from its module path (torch.export) or node path (ONNX) and kind."""
    n = layer.name.lower()
    if re.search(r"lm_head|pooler|classifier|cls\.predictions", n):
        return "head"
    if "patch_embeddings" in n:
        return "embed"
    if re.search(r"mlp|intermediate|experts", n) or re.search(r"layer\.\d+\.output", n):
        return "mlp"
    if re.search(r"attn|attention", n):  # between activations (QKᵀ, AV), or a projection's weights
        return "attn" if layer.kind == LayerKind.MATMUL else "proj"
    raise AssertionError(f"unclassified imported layer {layer.name!r}")


def imported_classes(layers) -> Counter:
    out: Counter = Counter()
    for layer in layers:
        if layer.macs:
            out[imported_class(layer)] += layer.macs
    return out


def hf_model(folder: Path, attention: str, cls_name: str | None = None, experts: str = "batched_mm"):
    """The transformers model of `folder`'s config.json (its `architectures[0]` unless named), random init."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.AutoConfig.from_pretrained(folder, attn_implementation=attention)
        if getattr(cfg, "num_local_experts", None):
            cfg._experts_implementation = experts
        torch.manual_seed(0)
        return getattr(transformers, cls_name or cfg.architectures[0])(cfg).eval()


def example_shape(name: str) -> tuple[int, ...]:
    return (1, 3, 32, 32) if name == "vit_b_16" else (1, L)


def onnx_layers(model, shape: tuple[int, ...], path: Path):
    dtype = torch.float32 if len(shape) == 4 else torch.int64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_TensorOutputs(model), (torch.zeros(shape, dtype=dtype),), str(path), dynamo=False,
                          input_names=["x"])
    return import_onnx(path).layers


HF_CLASS = {"bert_base": "BertModel"}  # the builder's BERT is the encoder + pooler (see the module docstring)


# Mistral's and Mixtral's eager attention is Llama's function (transformers' modular copies): under `slow`.
SAME_AS_LLAMA = {("mistral_7b", "eager"), ("mixtral_8x7b", "eager")}
PREFILL = [pytest.param(n, a, marks=pytest.mark.slow) if (n, a) in SAME_AS_LLAMA else (n, a)
           for n in sorted(SHRINK) for a in ("sdpa", "eager")]


@pytest.mark.parametrize("name,attention", PREFILL)
def test_builder_macs_equal_the_imported_module(name: str, attention: str, tmp_path: Path) -> None:
    folder = shrunk(name, tmp_path)
    want = builder_classes(folder)
    model = hf_model(folder, attention, HF_CLASS.get(name))
    shape = example_shape(name)
    assert imported_classes(import_module(model, shape).layers) == want
    assert imported_classes(onnx_layers(model, shape, tmp_path / "m.onnx")) == want


class PrefillThenDecode(torch.nn.Module):
    """Prefill all but the last token, then decode the last one against that KV cache (HF's DynamicCache)."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, ids):
        cache = self.inner(ids[:, :-1], use_cache=True).past_key_values
        return self.inner(ids[:, -1:], past_key_values=cache, use_cache=True).logits


# mistral (window) and mixtral (routing) in the default run; llama's decode is mistral's without the window
DECODE = ["mistral_7b", "mixtral_8x7b", pytest.param("llama3_8b", marks=pytest.mark.slow),
          pytest.param("gpt2", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", DECODE)
def test_decode_against_the_cache_equals_the_builder(name: str, tmp_path: Path) -> None:
    """One step of generation: the imported prefill of L tokens plus the decode of token L + 1 against their
    cache equals the builder's prefill(L) + decode(L), per class. Mistral's window (4 < L = 7) binds: HF's
    sliding cache and the builder's min(L + 1, W) keys agree. Mixtral's one token routes to k = 2 experts."""
    folder = shrunk(name, tmp_path)
    want = builder_classes(folder) + builder_classes(folder, "decode")
    got = imported_classes(import_module(PrefillThenDecode(hf_model(folder, "sdpa")), (1, L + 1)).layers)
    assert got == want
    if name == "mistral_7b":  # the decode's QKᵀ and AV over W = 4 keys, not L + 1 = 8
        h, hd, w = 4, 8, SHRINK[name]["sliding_window"]
        assert builder_classes(folder, "decode")["attn"] == LAYERS * 2 * h * hd * w


def test_bert_masked_lm_head_replaces_the_pooler(tmp_path: Path) -> None:
    """The shipped BERT config's own class: its MLM head costs L*(d*d + d*vocab) where the pooler costs d*d."""
    folder = shrunk("bert_base", tmp_path)
    want = builder_classes(folder)
    d = SHRINK["bert_base"]["hidden_size"]
    got = imported_classes(import_module(hf_model(folder, "sdpa"), (1, L)).layers)
    assert got["head"] - want["head"] == L * (d * d + d * VOCAB) - d * d
    assert got - Counter(head=got["head"]) == want - Counter(head=want["head"])


@pytest.mark.parametrize("experts,match", [("grouped_mm", "grouped_mm"),
                                           pytest.param("eager", "data-dependent", marks=pytest.mark.slow)])
def test_mixtral_other_experts_kernels_are_refused_not_miscounted(experts: str, match: str, tmp_path: Path) -> None:
    """transformers 5's default experts kernel is a custom op, its `eager` one loops over the experts the router
    hit (data-dependent): the importer says so instead of dropping or guessing the experts' MACs."""
    folder = shrunk("mixtral_8x7b", tmp_path)
    with pytest.raises(StationaryError, match=match):
        import_module(hf_model(folder, "sdpa", experts=experts), (1, L))


def ratios(cfg) -> tuple:
    """What SHRINK must keep: head and KV-head ratio, MLP width ratio, experts and top-k, window, tied head."""
    return (cfg.heads // cfg.kv_heads, cfg.intermediate / cfg.hidden, cfg.mlp, cfg.norm, cfg.positions, cfg.experts,
            cfg.experts_per_token, bool(cfg.sliding_window), cfg.model_type)


@pytest.mark.parametrize("name", sorted(SHRINK))
def test_shrinking_keeps_the_structure(name: str, tmp_path: Path) -> None:
    small, full = load_config(shrunk(name, tmp_path) / "config.json"), load_config(name)
    assert ratios(small) == ratios(full)
    assert small.layers == LAYERS and small.hidden == 32 and small.heads == 4
    raw = json.loads((CONFIG_DIR / f"{name}.json").read_text())
    kept = json.loads((tmp_path / name / "config.json").read_text())
    assert kept.get("tie_word_embeddings") == raw.get("tie_word_embeddings")
    if name == "mistral_7b":
        assert 0 < small.sliding_window < L  # the window masks prefill here, which stays dense on both sides
