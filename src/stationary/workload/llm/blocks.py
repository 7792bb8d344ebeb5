"""The layers of one transformer block (and the embeddings and head around the blocks) as loop nests.

Every MAC operator is an existing Layer kind: projections and the LM head are FC layers applied to each token
(P = tokens), attention QKᵀ and AV are batched matmuls between activations with G = KV heads, so the query
heads that share a KV head (grouped-/multi-query attention) are the rows of one matmul and read its K or V
once; the E experts of a mixture-of-experts MLP are one grouped FC (G = experts, P = tokens per expert), each
group with its own weights. Norms, softmax, activations, RoPE and residual adds are element-wise layers whose
work is counted in `other_ops` (operations per element below); embedding lookups do no operations and count
the table rows they read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stationary.workload import layer as L
from stationary.workload.layer import Layer, LayerKind
from stationary.workload.llm.config import LLMConfig

# Non-MAC operations per element (an exp, rsqrt or tanh counts as one operation).
NORM_OPS = {"layer_norm": 5, "rms_norm": 3}  # LN: mean, subtract, square-accumulate, normalize, affine
SOFTMAX_OPS = 4  # per attention score: scale by 1/sqrt(head_dim), running max, exp-and-sum, divide
ROPE_OPS = 3  # per element of Q and K: x*cos + rotate(x)*sin
ACT_OPS = 1  # gelu / silu / tanh
GATED_ACT_OPS = 2  # SwiGLU: silu(gate) and its product with up
ROUTER_OPS = 4  # per expert score: softmax (3) and one top-k comparison

WEIGHT, KV_CACHE, ACTIVATION = "weight", "kv_cache", "activation"


@dataclass(frozen=True)
class Operator:
    """A layer of the model, the operator it instantiates (rows are grouped by it), and what its tensors hold.

    `roles` says, per loop-nest tensor (Weights, Inputs, Outputs), whether its DRAM traffic is weights, KV cache
    or activations; `lookup_elements` are table elements an embedding lookup reads from DRAM.
    """

    layer: Layer
    op: str
    roles: tuple[tuple[str, str], ...] = ()
    lookup_elements: int = 0

    def role(self, tensor: str) -> str:
        return dict(self.roles).get(tensor, ACTIVATION)


def _fc(name: str, op: str, d_in: int, d_out: int, batch: int, tokens: int, outputs: str = ACTIVATION) -> Operator:
    layer = L.linear(name, d_in, d_out, batch, rows=tokens, bias=False, op="linear")
    return Operator(layer, op, (("Weights", WEIGHT), ("Outputs", outputs)))


def _grouped_fc(name: str, op: str, groups: int, d_in: int, d_out: int, tokens: int) -> Operator:
    """`groups` experts, each applying its own d_in x d_out matrix to `tokens` tokens."""
    layer = Layer(name, LayerKind.FC, G=groups, M=d_out, C=d_in, P=tokens, H=tokens, op="expert_linear")
    return Operator(layer, op, (("Weights", WEIGHT),))


def _elt(name: str, op: str, channels: int, rows: int, batch: int, ops: int, inputs: int = 1,
         cols: int = 1) -> Operator:
    return Operator(L.eltwise(name, channels, (rows, cols), batch, num_inputs=inputs, ops_per_output=ops, op=op), op)


def lookup(name: str, op: str, width: int, batch: int, tokens: int, rows_read: int) -> Operator:
    """An embedding lookup: no operations; `rows_read` rows of `width` elements come from the table in DRAM."""
    layer = L.eltwise(name, width, (tokens, 1), batch, ops_per_output=0, op="embedding")
    return Operator(layer, op, lookup_elements=rows_read * width)


def attention(c: LLMConfig, p: str, batch: int, tokens: int, keys: int) -> list[Operator]:
    """Q/K/V projections, RoPE, QKᵀ, softmax, AV and the output projection for `tokens` queries over `keys`."""
    d, hd, h, kv = c.hidden, c.head_dim, c.heads, c.kv_heads
    group = h // kv  # query heads per KV head
    cache = KV_CACHE if c.is_decoder else ACTIVATION
    ops = [_fc(f"{p}q_proj", "q_proj", d, h * hd, batch, tokens),
           _fc(f"{p}k_proj", "k_proj", d, kv * hd, batch, tokens, outputs=cache),
           _fc(f"{p}v_proj", "v_proj", d, kv * hd, batch, tokens, outputs=cache)]
    if c.positions == "rope":
        ops.append(_elt(f"{p}rope", "rope", (h + kv) * hd, tokens, batch, ROPE_OPS))
    q_src, k_src = (f"{p}rope",) * 2 if c.positions == "rope" else (f"{p}q_proj", f"{p}k_proj")
    # wired QKᵀ -> softmax -> AV -> o_proj so fusion sees attention; the softmax is laid out as the scores
    # (rows: the group x tokens query rows of one KV head, channels: KV heads x keys)
    qk = L.matmul(f"{p}qk", group * tokens, hd, keys, batch, kv, inputs=(q_src, k_src), op="matmul")
    soft = L.eltwise(f"{p}softmax", kv * keys, (group * tokens, 1), batch, ops_per_output=SOFTMAX_OPS,
                     inputs=(qk.name,), op="softmax")
    av = L.matmul(f"{p}av", group * tokens, keys, hd, batch, kv, inputs=(soft.name, f"{p}v_proj"), op="matmul")
    o = _fc(f"{p}o_proj", "o_proj", h * hd, d, batch, tokens)
    ops += [Operator(qk, "qk", (("Weights", cache),)), Operator(soft, "softmax"),
            Operator(av, "av", (("Weights", cache),)), replace(o, layer=replace(o.layer, inputs=(av.name,)))]
    return ops


def dense_mlp(c: LLMConfig, p: str, batch: int, tokens: int) -> list[Operator]:
    """GELU MLP (up, act, down) or SwiGLU (gate, up, silu(gate)*up, down)."""
    d, ff = c.hidden, c.intermediate
    if c.mlp == "swiglu":
        return [_fc(f"{p}gate_proj", "gate_proj", d, ff, batch, tokens),
                _fc(f"{p}up_proj", "up_proj", d, ff, batch, tokens),
                _elt(f"{p}act", "act", ff, tokens, batch, GATED_ACT_OPS),
                _fc(f"{p}down_proj", "down_proj", ff, d, batch, tokens)]
    return [_fc(f"{p}fc1", "fc1", d, ff, batch, tokens), _elt(f"{p}act", "act", ff, tokens, batch, ACT_OPS),
            _fc(f"{p}fc2", "fc2", ff, d, batch, tokens)]


def expert_split(assignments: int, experts: int) -> list[tuple[int, int]]:
    """Balanced routing: `assignments` (tokens x top-k) spread as evenly as possible over the experts.

    Returns (experts, tokens each) groups: min(E, assignments) experts are active, each with ⌊S/A⌋ or ⌈S/A⌉
    tokens, so every active expert's weights are read once per step and no expert is idle while another has
    two tokens more — what the load-balancing loss aims for, and the most experts S assignments can touch
    (the weight traffic is never underestimated).
    """
    active = min(experts, assignments)
    per, extra = divmod(assignments, active)
    return [(n, t) for n, t in ((active - extra, per), (extra, per + 1)) if n]


def moe_mlp(c: LLMConfig, p: str, batch: int, tokens: int) -> list[Operator]:
    """Router (FC to E scores, softmax + top-k), the active experts' SwiGLU MLPs, the weighted combine."""
    d, ff, k = c.hidden, c.intermediate, c.experts_per_token
    ops = [_fc(f"{p}router", "router", d, c.experts, batch, tokens),
           _elt(f"{p}router_topk", "router_topk", c.experts, tokens, batch, ROUTER_OPS)]
    assignments = batch * tokens * k
    groups = [(f"_{i}" if i else "", n, t) for i, (n, t) in enumerate(expert_split(assignments, c.experts))]
    for s, n, t in groups:
        ops += [_grouped_fc(f"{p}experts_gate{s}", "experts_gate", n, d, ff, t),
                _grouped_fc(f"{p}experts_up{s}", "experts_up", n, d, ff, t)]
    ops.append(_elt(f"{p}experts_act", "experts_act", ff, assignments, 1, GATED_ACT_OPS))
    ops += [_grouped_fc(f"{p}experts_down{s}", "experts_down", n, ff, d, t) for s, n, t in groups]
    ops.append(_elt(f"{p}combine", "combine", d, tokens, batch, 2 * k - 1, inputs=k))
    return ops


def block(c: LLMConfig, i: int, batch: int, tokens: int, keys: int) -> list[Operator]:
    """Transformer block `i`: pre-norm (GPT-2, Llama family, ViT) or post-norm (BERT), residual adds."""
    p = f"h{i}."
    d, norm = c.hidden, NORM_OPS[c.norm]
    mlp = moe_mlp(c, p, batch, tokens) if c.is_moe else dense_mlp(c, p, batch, tokens)
    attn = attention(c, p, batch, tokens, keys)
    add1 = _elt(f"{p}add1", "residual_add", d, tokens, batch, 1, inputs=2)
    add2 = _elt(f"{p}add2", "residual_add", d, tokens, batch, 1, inputs=2)
    ln1 = _elt(f"{p}norm1", "norm", d, tokens, batch, norm)
    ln2 = _elt(f"{p}norm2", "norm", d, tokens, batch, norm)
    if c.model_type == "bert":
        return [*attn, add1, ln1, *mlp, add2, ln2]
    return [ln1, *attn, add1, ln2, *mlp, add2]
