"""A transformer's shape read from a Hugging Face `config.json` (plain JSON: `transformers` is not needed).

Only the fields that size the loop nests are read, each under the name its `model_type` uses (GPT-2's
`n_embd`, Llama's `hidden_size`, ...); every one is type-checked, and inconsistent head counts or an
unknown `model_type` are refused with the field named. Other keys of a real config are left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stationary.errors import StationaryError
from stationary.schema import nearest, short_repr

CONFIG_DIR = Path(__file__).with_name("configs")
MAX_CONFIG_BYTES = 4 << 20  # a config.json is a few kB (ViT's, with 1000 labels, ~70 kB)
MAX_SIZE = 1 << 24  # the largest hidden/intermediate/vocabulary size a config may state
MAX_LAYERS = 1024

DECODERS = ("gpt2", "llama", "mistral", "mixtral")
ENCODERS = ("bert", "vit")
SUPPORTED = DECODERS + ENCODERS


@dataclass(frozen=True)
class LLMConfig:
    """A transformer's shape in one vocabulary, whatever the family called its fields."""

    name: str
    model_type: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int  # 0 for ViT (no token embedding)
    max_positions: int
    mlp: str  # "gelu" (up, activation, down) or "swiglu" (gate, up, silu * up, down)
    norm: str  # "layer_norm" or "rms_norm"
    positions: str  # "learned" (a position-embedding table), "rope" (rotary, applied to Q and K)
    experts: int = 0  # 0: dense MLP; otherwise num_local_experts
    experts_per_token: int = 0
    sliding_window: int = 0  # 0: none; otherwise decode attends to at most this many cached positions
    type_vocab: int = 0  # BERT's token-type (segment) embeddings
    image_size: int = 0  # ViT
    patch_size: int = 0
    channels: int = 0
    labels: int = 0  # ViT's classifier outputs

    @property
    def is_decoder(self) -> bool:
        return self.model_type in DECODERS

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def image_tokens(self) -> int:
        """ViT's sequence: one token per patch plus the [CLS] token."""
        return (self.image_size // self.patch_size) ** 2 + 1 if self.model_type == "vit" else 0


def config_names() -> list[str]:
    """Names of the shipped configs (a name stands for `configs/<name>.json`)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def load_config(spec: str | Path) -> LLMConfig:
    """A shipped config's name, a `config.json` path, or a folder holding one."""
    text = str(spec)
    if text in config_names():
        path, name = CONFIG_DIR / f"{text}.json", text
    else:
        path = Path(text)
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise StationaryError(f"no config file or shipped config named {text!r}{nearest(text, config_names())}; "
                                  f"shipped: {', '.join(config_names())}", field="CONFIG")
        name = path.parent.name if path.name == "config.json" else path.stem
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise StationaryError(f"config is larger than {MAX_CONFIG_BYTES >> 20} MiB", file=str(path))
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise StationaryError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                              file=str(path)) from None
    except UnicodeDecodeError:
        raise StationaryError("not a text file", file=str(path)) from None
    except RecursionError:
        raise StationaryError("JSON nested too deeply to be a config", file=str(path)) from None
    return config_from_dict(data, name, str(path))


def _int(data: dict[str, Any], key: str, file: str, default: int | None = None, limit: int = MAX_SIZE) -> int:
    """A positive integer field (booleans and 2.5 refused), or `default` when absent or null."""
    value = data.get(key)
    if value is None:
        if default is None:
            raise StationaryError("missing (needed to size the model)", file=file, field=key)
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise StationaryError(f"must be an integer from 1 to {limit}, got {short_repr(value)}", file=file, field=key)
    return value


def _bool(data: dict[str, Any], key: str, file: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise StationaryError(f"must be true or false, got {short_repr(value)}", file=file, field=key)
    return value


def _act(data: dict[str, Any], key: str, file: str, default: str, known: tuple[str, ...]) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or value not in known:
        raise StationaryError(f"unsupported activation {short_repr(value)}{nearest(str(value), known)}; "
                              f"supported: {', '.join(known)}", file=file, field=key)
    return value


GELUS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu")


def config_from_dict(data: Any, name: str = "config", file: str = "<config>") -> LLMConfig:
    """Validate a parsed config.json and read the shape fields of its `model_type`."""
    if not isinstance(data, dict):
        raise StationaryError(f"expected a JSON object (a Hugging Face config.json), got {short_repr(data)}",
                              file=file)
    model_type = data.get("model_type")
    if not isinstance(model_type, str) or model_type not in SUPPORTED:
        raise StationaryError(f"unknown architecture type {short_repr(model_type)}{nearest(str(model_type), SUPPORTED)}"
                              f"; supported: {', '.join(SUPPORTED)}", file=file, field="model_type")
    fields: dict[str, Any]  # the LLMConfig keyword arguments, ints and strings
    if model_type == "gpt2":
        hidden, heads = _int(data, "n_embd", file), _int(data, "n_head", file)
        fields = dict(hidden=hidden, layers=_int(data, "n_layer", file, limit=MAX_LAYERS), heads=heads,
                      kv_heads=heads, intermediate=_int(data, "n_inner", file, 4 * hidden),
                      vocab=_int(data, "vocab_size", file), max_positions=_int(data, "n_positions", file),
                      mlp="gelu", norm="layer_norm", positions="learned")
        _act(data, "activation_function", file, "gelu_new", GELUS)
        head_key = "n_embd"
    else:
        hidden, heads = _int(data, "hidden_size", file), _int(data, "num_attention_heads", file)
        fields = dict(hidden=hidden, layers=_int(data, "num_hidden_layers", file, limit=MAX_LAYERS), heads=heads,
                      intermediate=_int(data, "intermediate_size", file))
        head_key = "hidden_size"
        if model_type in ("llama", "mistral", "mixtral"):
            fields.update(kv_heads=_int(data, "num_key_value_heads", file, heads), vocab=_int(data, "vocab_size", file),
                          max_positions=_int(data, "max_position_embeddings", file), mlp="swiglu", norm="rms_norm",
                          positions="rope", sliding_window=_int(data, "sliding_window", file, 0))
            _act(data, "hidden_act", file, "silu", ("silu",))
        elif model_type == "bert":
            fields.update(kv_heads=heads, vocab=_int(data, "vocab_size", file),
                          max_positions=_int(data, "max_position_embeddings", file), mlp="gelu", norm="layer_norm",
                          positions="learned", type_vocab=_int(data, "type_vocab_size", file, 2))
            _act(data, "hidden_act", file, "gelu", GELUS)
        else:  # vit
            image, patch = _int(data, "image_size", file, 224), _int(data, "patch_size", file, 16)
            if image % patch:
                raise StationaryError(f"image_size {image} is not a whole number of {patch}-pixel patches",
                                      file=file, field="patch_size")
            labels = data.get("id2label")
            n_labels = len(labels) if isinstance(labels, dict) and labels else 2
            fields.update(kv_heads=heads, vocab=0, max_positions=(image // patch) ** 2 + 1, mlp="gelu",
                          norm="layer_norm", positions="learned", image_size=image, patch_size=patch,
                          channels=_int(data, "num_channels", file, 3), labels=_int(data, "num_labels", file, n_labels))
            _act(data, "hidden_act", file, "gelu", GELUS)
        if model_type == "mixtral":
            experts = _int(data, "num_local_experts", file, 8, limit=4096)
            top_k = _int(data, "num_experts_per_tok", file, 2, limit=4096)
            if top_k > experts:
                raise StationaryError(f"{top_k} experts per token but only {experts} experts (num_local_experts)",
                                      file=file, field="num_experts_per_tok")
            fields.update(experts=experts, experts_per_token=top_k)
    if "head_dim" in data and data["head_dim"] is not None:
        head_dim = _int(data, "head_dim", file)
    else:
        if hidden % heads:
            raise StationaryError(f"{head_key} {hidden} is not divisible by the {heads} attention heads",
                                  file=file, field=head_key)
        head_dim = hidden // heads
    kv_heads = int(fields["kv_heads"])
    if kv_heads > heads or heads % kv_heads:
        raise StationaryError(f"the {kv_heads} key/value heads do not divide the {heads} attention heads "
                              "(each KV head must serve a whole group of query heads)", file=file,
                              field="num_key_value_heads")
    return LLMConfig(name=name, model_type=model_type, head_dim=head_dim, **fields)
