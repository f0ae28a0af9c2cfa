"""ONNX writers for self-attention: nn.MultiheadAttention and nn.TransformerEncoderLayer as MatMul/Softmax subgraphs.

What is written is the forward with its defaults, on one input x used as query, key and value:
no masks, in eval mode (no dropout). Inside, tensors are batch first, (N, L, E); each head
attends in its E/h slice:

    q, k, v = x W_qᵀ + b_q, x W_kᵀ + b_k, x W_vᵀ + b_v     (N, L, E) → (N, h, L, d)
    out = softmax((q · 1/√d) kᵀ) v                          (N, h, L, d) → (N, L, E)
    y = out W_oᵀ + b_o

MultiheadAttention returns (output, weights), so it is exported alone (the graph's output is
its output); TransformerEncoderLayer returns one tensor and may sit inside a Sequential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import nn
from nn.interop.onnx_layers import ACTIVATIONS, Graph, _layer_norm, refuse

_TO_BATCH_FIRST = [1, 0, 2]  # (L, N, E) ↔ (N, L, E): its own inverse


def _dense(g: Graph, weight: Any, bias: Any, x: str) -> str:
    """x Wᵀ + b over the last axis of a tensor of any rank (Gemm takes 2-D only)."""
    y = g.op("MatMul", x, g.const(np.asarray(weight).T, "weight"))
    return y if bias is None else g.op("Add", y, g.const(bias, "bias"))


def _attention(g: Graph, m: Any, x: str) -> str:
    """Self-attention of x (N, L, E), batch first: its output (N, L, E)."""
    E, h, d = m.embed_dim, m.num_heads, m.head_dim
    w = m.in_proj_weight.data
    b = m.in_proj_bias.data if m.in_proj_bias is not None else None
    heads = g.const([0, 0, h, d], "shape", np.int64)
    q, k, v = (g.op("Reshape", _dense(g, w[i * E:(i + 1) * E], None if b is None else b[i * E:(i + 1) * E], x), heads)
               for i in range(3))  # (N, L, h, d)
    q = g.op("Mul", g.op("Transpose", q, perm=[0, 2, 1, 3]), g.const(1 / np.sqrt(d), "scale"))
    k = g.op("Transpose", k, perm=[0, 2, 3, 1])  # (N, h, d, L)
    v = g.op("Transpose", v, perm=[0, 2, 1, 3])
    weights = g.op("Softmax", g.op("MatMul", q, k), axis=-1)
    out = g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 2, 1, 3])  # (N, L, h, d)
    out = g.op("Reshape", out, g.const([0, 0, E], "shape", np.int64))
    proj = m.out_proj
    return _dense(g, proj.weight.data, None if proj.bias is None else proj.bias.data, out)


def _batch_first(g: Graph, batch_first: bool, x: str, inner: Callable[[str], str]) -> str:
    """inner(x) on x batch first, whatever the layer's layout."""
    if batch_first:
        return inner(x)
    return g.op("Transpose", inner(g.op("Transpose", x, perm=_TO_BATCH_FIRST)), perm=_TO_BATCH_FIRST)


def multihead_attention(g: Graph, m: Any, x: str) -> str:
    """Self-attention, x as query, key and value."""
    return _batch_first(g, m.batch_first, x, lambda t: _attention(g, m, t))


def transformer_encoder_layer(g: Graph, m: Any, x: str) -> str:
    """norm_first=False: x = norm1(x + SA(x)); x = norm2(x + FF(x)). norm_first=True: x + SA(norm1(x)), then x + FF(norm2(x))."""
    if not isinstance(m.activation, str):
        raise refuse(m, f"with activation {m.activation_name!r} (a callable) is not supported (only 'relu' or 'gelu')")
    act = ACTIVATIONS[nn.ReLU] if m.activation == "relu" else ACTIVATIONS[nn.GELU]
    gelu = nn.GELU()

    def ff(t: str) -> str:
        l1, l2 = m.linear1, m.linear2
        hidden = act(g, gelu, _dense(g, l1.weight.data, None if l1.bias is None else l1.bias.data, t))
        return _dense(g, l2.weight.data, None if l2.bias is None else l2.bias.data, hidden)

    def layer(t: str) -> str:
        if m.norm_first:
            t = g.op("Add", t, _attention(g, m.self_attn, _layer_norm(g, m.norm1, t)))
            return g.op("Add", t, ff(_layer_norm(g, m.norm2, t)))
        t = _layer_norm(g, m.norm1, g.op("Add", t, _attention(g, m.self_attn, t)))
        return _layer_norm(g, m.norm2, g.op("Add", t, ff(t)))

    return _batch_first(g, m.batch_first, x, layer)


#: written alone (their forward returns a tuple) and inside containers, respectively.
ALONE: dict[type, Callable[[Graph, Any, str], str]] = {nn.MultiheadAttention: multihead_attention}
LAYERS: dict[type, Callable[[Graph, Any, str], str]] = {nn.TransformerEncoderLayer: transformer_encoder_layer}


def input_shape(m: Any) -> list[Any]:
    """(sequence, batch, embed_dim), or (batch, sequence, embed_dim) with batch_first."""
    attn = m if isinstance(m, nn.MultiheadAttention) else m.self_attn
    return ["batch", "sequence", attn.embed_dim] if attn.batch_first else ["sequence", "batch", attn.embed_dim]
