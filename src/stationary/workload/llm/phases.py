"""A whole model for one inference step: prefill of L tokens, or decode of one token against a KV cache of L.

Prefill runs L tokens per sequence (B sequences) through the model; attention is computed densely over the
L x L scores (the causal mask is applied, not skipped, as PyTorch's eager and SDPA kernels compute it).
Decode runs one new token per sequence: it attends over the L cached positions plus its own (L + 1 keys;
with a sliding window W, over min(L + 1, W)) and appends its K and V to the cache. Encoders (BERT, ViT) have
prefill only; ViT's sequence is fixed by its image (patches + [CLS]).
"""

from __future__ import annotations

from dataclasses import dataclass

from stationary.errors import StationaryError
from stationary.workload import layer as L
from stationary.workload.layer import LayerKind
from stationary.workload.llm import blocks as B
from stationary.workload.llm.blocks import Operator
from stationary.workload.llm.config import LLMConfig
from stationary.workload.network import Network

PHASES = ("prefill", "decode")
LOGITS = ("all", "last")
MAX_SEQ = 1 << 22  # 4 M tokens
MAX_BATCH = 1 << 16


@dataclass(frozen=True)
class LLMWorkload:
    """One step of a model: its operators in order, how many tokens the step produces, and what it must read.

    `kv_cache_elements`: the cache the step holds (K and V of every layer, `cached_positions` per sequence).
    `compulsory_read_elements`: what must cross from DRAM whatever the mapping — every weight the step uses
    (the active experts' only), the embedding rows looked up and, in decode, the cached K and V.
    """

    config: LLMConfig
    phase: str
    seq: int
    batch: int
    tokens: int  # tokens the step produces: B x L (prefill) or B (decode)
    keys: int  # positions each query attends over
    cached_positions: int
    operators: tuple[Operator, ...]
    warnings: tuple[str, ...] = ()

    @property
    def network(self) -> Network:
        return Network(f"{self.config.name}_{self.phase}_L{self.seq}_B{self.batch}",
                       tuple(o.layer for o in self.operators))

    @property
    def macs(self) -> int:
        return sum(o.layer.macs for o in self.operators)

    @property
    def other_ops(self) -> int:
        return sum(o.layer.other_ops for o in self.operators)

    @property
    def weight_elements(self) -> int:
        """Weights the step multiplies with (every block's own; for MoE, the active experts' only)."""
        return sum(o.layer.weights for o in self.operators)

    @property
    def kv_cache_elements(self) -> int:
        c = self.config
        return 2 * c.layers * c.kv_heads * c.head_dim * self.cached_positions * self.batch if c.is_decoder else 0

    @property
    def compulsory_read_elements(self) -> int:
        lookups = sum(o.lookup_elements for o in self.operators)
        return self.weight_elements + lookups + (self.kv_cache_elements if self.phase == "decode" else 0)


def check_step(c: LLMConfig, phase: str, seq: int | None, batch: int) -> tuple[int, list[str]]:
    """The sequence length to use and warnings; bad phase, length or batch raise with the option named."""
    if phase not in PHASES:
        raise StationaryError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}", field="--phase")
    if not c.is_decoder and phase == "decode":
        raise StationaryError(f"{c.name} ({c.model_type}) is an encoder: it has a prefill phase only",
                              field="--phase")
    if not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise StationaryError(f"batch must be an integer from 1 to {MAX_BATCH}, got {batch!r}", field="--batch")
    if c.model_type == "vit":
        if seq is not None and seq != c.image_tokens:
            raise StationaryError(f"{c.name}'s sequence is fixed by its image: {c.image_tokens} tokens "
                                  f"(({c.image_size}/{c.patch_size})² patches + [CLS]), got {seq}", field="--seq")
        return c.image_tokens, []
    if seq is None:
        raise StationaryError(f"give the sequence length (--seq); {c.name} takes up to {c.max_positions}",
                              field="--seq")
    if not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise StationaryError(f"sequence length must be an integer from 1 to {MAX_SEQ}, got {seq!r}", field="--seq")
    positions = seq if phase == "prefill" else seq + 1
    warnings = []
    if positions > c.max_positions:
        warnings.append(f"{c.name}: {positions} positions exceed the config's maximum of {c.max_positions} "
                        f"(max_position_embeddings); costed as given, not clamped")
    return seq, warnings


def build_step(c: LLMConfig, phase: str, seq: int | None, batch: int = 1, logits: str = "all") -> LLMWorkload:
    """Every operator of one prefill or decode step at sequence length `seq` and batch `batch`.

    `logits`: the LM head over every prefill position ("all", what the model's forward computes) or the last
    one only ("last", what generation needs).
    """
    seq, warnings = check_step(c, phase, seq, batch)
    if logits not in LOGITS:
        raise StationaryError(f"logits must be one of {', '.join(LOGITS)}, got {logits!r}", field="--logits")
    window = c.sliding_window or None
    if phase == "prefill":
        tokens, keys = seq, seq
    else:
        tokens, keys = 1, seq + 1 if window is None else min(seq + 1, window)
    cached = seq if window is None else min(seq, window)
    ops = embeddings(c, batch, tokens)
    for i in range(c.layers):
        ops += B.block(c, i, batch, tokens, keys)
    ops += head(c, batch, tokens, tokens if logits == "all" else 1)
    return LLMWorkload(c, phase, seq, batch, batch * tokens, keys, cached, tuple(ops), tuple(warnings))


def embeddings(c: LLMConfig, batch: int, tokens: int) -> list[Operator]:
    """Token (and position, token-type) lookups and their sum; ViT's patch convolution and position add."""
    d = c.hidden
    if c.model_type == "vit":
        patch = L.conv2d("patch_embed", c.channels, d, c.image_size, c.patch_size, c.patch_size, batch=batch,
                         op="conv2d")
        return [Operator(patch, "patch_embed", (("Weights", B.WEIGHT),)),
                B.lookup("pos_embed", "pos_embed", d, batch, tokens, tokens),
                B._elt("embed_add", "embed_add", d, tokens, batch, 1, inputs=2)]
    ops = [B.lookup("embed_tokens", "embed_tokens", d, batch, tokens, batch * tokens)]
    if c.positions == "learned":  # the same `tokens` rows for every sequence of the batch
        ops.append(B.lookup("embed_positions", "embed_positions", d, batch, tokens, tokens))
    if c.model_type == "bert":
        ops.append(B.lookup("embed_token_types", "embed_token_types", d, batch, tokens,
                            min(c.type_vocab, batch * tokens)))
    n = len(ops)
    if n > 1:
        ops.append(B._elt("embed_add", "embed_add", d, tokens, batch, n - 1, inputs=n))
    if c.model_type == "bert":
        ops.append(B._elt("embed_norm", "norm", d, tokens, batch, B.NORM_OPS[c.norm]))
    return ops


def head(c: LLMConfig, batch: int, tokens: int, rows: int) -> list[Operator]:
    """Decoders: final norm and the LM head on `rows` positions; BERT: the pooler on [CLS]; ViT: final norm
    and the classifier on [CLS]."""
    d, norm = c.hidden, B.NORM_OPS[c.norm]
    if c.model_type == "bert":
        return [B._fc("pooler", "pooler", d, d, batch, 1), B._elt("pooler_act", "act", d, 1, batch, B.ACT_OPS)]
    final = B._elt("final_norm", "norm", d, tokens, batch, norm)
    if c.model_type == "vit":
        return [final, B._fc("classifier", "classifier", d, c.labels, batch, 1)]
    return [final, B._fc("lm_head", "lm_head", d, c.vocab, batch, rows)]


def mac_operators(w: LLMWorkload) -> tuple[Operator, ...]:
    """The operators the mapper schedules (conv / FC / matmul), in network order."""
    return tuple(o for o in w.operators if o.layer.kind in (LayerKind.CONV, LayerKind.FC, LayerKind.MATMUL))
