"""One BERT-base encoder layer (Devlin 2019): d=768, 12 heads, FFN 3072, with its attention matmuls."""

from __future__ import annotations

from stationary.workload import layer as L
from stationary.workload.network import Network


def bert_base_layer(batch: int = 1, seq_len: int = 128) -> Network:
    """Q/K/V projections, QK^T and AV per head, output projection, FFN, residual adds, norms."""
    d, heads, ffn = 768, 12, 3072
    dh = d // heads
    n, s = batch, seq_len
    layers = [
        L.linear("q_proj", d, d, n, rows=s),
        L.linear("k_proj", d, d, n, rows=s),
        L.linear("v_proj", d, d, n, rows=s),
        L.matmul("qk_matmul", s, dh, s, n, heads, inputs=("q_proj", "k_proj")),
        L.eltwise("softmax", heads * s, (s, 1), n, ops_per_output=3, inputs=("qk_matmul",), op="softmax"),
        L.matmul("av_matmul", s, s, dh, n, heads, inputs=("softmax", "v_proj")),
        L.linear("out_proj", d, d, n, rows=s, inputs=("av_matmul",)),
        L.eltwise("add1", d, (s, 1), n, num_inputs=2, inputs=("out_proj",), op="add"),
        L.eltwise("layernorm1", d, (s, 1), n, ops_per_output=2, inputs=("add1",), op="layer_norm"),
        L.linear("ffn1", d, ffn, n, rows=s, inputs=("layernorm1",)),
        L.eltwise("gelu", ffn, (s, 1), n, inputs=("ffn1",), op="gelu"),
        L.linear("ffn2", ffn, d, n, rows=s, inputs=("gelu",)),
        L.eltwise("add2", d, (s, 1), n, num_inputs=2, inputs=("ffn2", "layernorm1"), op="add"),
        L.eltwise("layernorm2", d, (s, 1), n, ops_per_output=2, inputs=("add2",), op="layer_norm"),
    ]
    return Network(f"bert_base_layer_s{s}" if s != 128 else "bert_base_layer", tuple(layers), (n, s, d))
