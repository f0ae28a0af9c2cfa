"""Attention, torch's semantics: `scaled_dot_product_attention` and `MultiheadAttention`.

softmax(q kᵀ · scale + mask) v, composed of the engine's ops (matmul, softmax, where), so its
gradients and gradients of gradients come from them. Masks are constants: torch's boolean
conventions are kept (`attn_mask` True = may attend in `scaled_dot_product_attention`, True = may
NOT attend in `MultiheadAttention`), float masks are added to the scores. A query that may attend
to nothing gets weights 0 (torch's `scaled_dot_product_attention` does the same; torch's
`MultiheadAttention` gives NaN there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import not_traceable
from nn.modules.attention_op import attention
from nn.modules.linear import Linear, _linear
from nn.modules.module import Module
from nn.parameter import Parameter


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _additive(mask: Any, dtype: Any, allowed_when: bool, name: str) -> np.ndarray:
    """A mask as the float array added to the scores: 0 where attending is allowed, −∞ where not."""
    if isinstance(mask, Tensor):
        mask = mask.data
    m = np.asarray(mask)
    if m.dtype == bool:
        return np.where(m == allowed_when, 0.0, -np.inf).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"{name}: a mask must be boolean or floating point, got {m.dtype}")
    return m.astype(dtype, copy=False)


def _causal(L: int, S: int, dtype: Any) -> np.ndarray:
    return np.where(np.tri(L, S, dtype=bool), 0.0, -np.inf).astype(dtype)


def attend(q: Tensor, k: Tensor, v: Tensor, mask: np.ndarray | None, dropout_p: float, scale: float,
           rng: np.random.Generator | None, need_weights: bool = True) -> tuple[Tensor, Tensor | None]:
    """(softmax(q kᵀ · scale + mask) v, the weights), dropout on the weights: the core both APIs share.

    Without dropout and when the weights are not wanted, one fused node (nn.modules.attention_op)."""
    if dropout_p == 0 and not need_weights:
        return attention(q, k, v, scale=scale, mask=mask), None
    scores = (q * scale) @ k.transpose(*range(k.ndim - 2), k.ndim - 1, k.ndim - 2)  # q is smaller than the scores
    alive = None
    if mask is not None:
        alive = np.isfinite(mask).any(axis=-1, keepdims=True)
        if alive.all():
            alive = None
        else:  # a query that may attend to nothing: weights 0, not the NaN of 0/0 (its row unmasked, then dropped)
            mask = np.where(alive, mask, 0.0)
        scores = scores + mask
    weights = ad.softmax(scores, axis=-1)
    if alive is not None:
        weights = ad.where(alive, weights, 0.0)
    if dropout_p > 0:
        not_traceable("attention dropout draws a new mask every call")
        rng = ad.default_rng() if rng is None else rng
        keep = rng.random(weights.shape) >= dropout_p
        weights = weights * (keep * (1 / (1 - dropout_p))).astype(weights.dtype)
    return weights @ v, weights


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
                                 rng: np.random.Generator | None = None) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V, as `torch.nn.functional.scaled_dot_product_attention`.

    Q (…, L, E), K (…, S, E), V (…, S, Ev) → (…, L, Ev); scale defaults to 1/√E. `attn_mask`
    (broadcastable to (…, L, S)) is boolean (True: may attend) or float (added to the scores);
    `is_causal` lets query i attend to keys j ≤ i only. `dropout_p` drops attention weights, with
    masks from `rng` (default: the generator `autodiff.manual_seed` resets); pass 0 in evaluation.

    >>> import numpy as np
    >>> from nn.functional import scaled_dot_product_attention
    >>> q = np.ones((2, 3, 4))
    >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 3, 4)
    """
    q, k, v = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    name = "scaled_dot_product_attention"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{name}: query, key and value need at least 2 dimensions (…, L, E), got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{name}: query {q.shape} and key {k.shape} must share E (the last dimension), key and "
                         f"value {v.shape} the sequence length S (the one before)")
    if enable_gqa:
        raise NotImplementedError(f"{name}: enable_gqa is not supported")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"{name}: dropout_p must be in [0, 1), got {dropout_p!r}")
    L, S = q.shape[-2], k.shape[-2]
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{name}: give attn_mask or is_causal=True, not both")
        mask = _causal(L, S, q.dtype)
    elif attn_mask is not None:
        mask = _additive(attn_mask, q.dtype, True, name)
        try:
            np.broadcast_shapes(mask.shape, (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2]), L, S))
        except ValueError:
            raise ValueError(f"{name}: attn_mask of shape {mask.shape} does not broadcast to the scores' "
                             f"(…, {L}, {S})") from None
    scale = float(1 / np.sqrt(q.shape[-1]) if scale is None else scale)  # a Python float: float32 stays float32
    return attend(q, k, v, mask, float(dropout_p), scale, rng, need_weights=False)[0]


class MultiheadAttention(Module):
    """Multi-head attention, torch's layout: `in_proj_weight` (3E, E) stacks W_q, W_k, W_v,
    `in_proj_bias` (3E,), `out_proj` a Linear(E, E); each head attends in its E/num_heads slice.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) → (output, weights or None). Inputs are
    (L, N, E), (N, L, E) with `batch_first`, or (L, E); boolean masks are True where a query may
    NOT attend (`key_padding_mask` (N, S), `attn_mask` (L, S) or (N·num_heads, L, S)), float
    masks are added. Weights are (N, L, S) averaged over heads, or (N, num_heads, L, S).
    Initialised as torch: Xavier-uniform in_proj_weight, zero biases.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, rng: np.random.Generator | None = None,
                 dtype: Any = None) -> None:
        for what, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"MultiheadAttention: {what} must be a positive int, got {n!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim other than "
                                      "embed_dim are not supported")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.embed_dim, self.num_heads, self.head_dim = int(embed_dim), int(num_heads), embed_dim // num_heads
        self.dropout, self.batch_first, self.rng = float(dropout), bool(batch_first), rng
        init = ad.default_rng() if rng is None else rng
        bound = np.sqrt(6 / (embed_dim + 3 * embed_dim))  # Xavier-uniform over the (3E, E) matrix, as torch
        self.in_proj_weight = Parameter(init.uniform(-bound, bound, (3 * embed_dim, embed_dim)), dtype=dtype)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim), dtype=dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=init, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0.0

    def _project(self, x: Tensor, part: slice) -> Tensor:
        w = self.in_proj_weight[part]
        return x @ w.T if self.in_proj_bias is None else _linear(x, w, self.in_proj_bias[part])

    def _check(self, t: Tensor, what: str) -> None:
        if t.ndim not in (2, 3) or t.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: {what} must be (L, N, {self.embed_dim}), (N, L, {self.embed_dim}) "
                             f"with batch_first, or (L, {self.embed_dim}); got {t.shape}")

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None, need_weights: bool = True,
                attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        q_in, k_in, v_in = _as_tensor(query), _as_tensor(key), _as_tensor(value)
        for t, what in ((q_in, "query"), (k_in, "key"), (v_in, "value")):
            self._check(t, what)
        batched = q_in.ndim == 3
        if k_in.ndim != q_in.ndim or v_in.ndim != q_in.ndim or k_in.shape != v_in.shape:
            raise ValueError(f"MultiheadAttention: key {k_in.shape} and value {v_in.shape} must have the same shape, "
                             f"and as many dimensions as query {q_in.shape}")
        E, h, d = self.embed_dim, self.num_heads, self.head_dim
        if not batched:
            q_in, k_in, v_in = (t.reshape(t.shape[0], 1, E) for t in (q_in, k_in, v_in))
        elif self.batch_first:
            q_in, k_in, v_in = (t.transpose(1, 0, 2) for t in (q_in, k_in, v_in))
        L, N = q_in.shape[:2]
        S = k_in.shape[0]
        if k_in.shape[1] != N:
            raise ValueError(f"MultiheadAttention: query has batch {N} but key has batch {k_in.shape[1]}")
        # three projections with slices of the weights: slicing one (L, N, 3E) projection instead would cost a
        # full-size gradient per slice on the way back
        q, k, v = (self._project(t, slice(i * E, (i + 1) * E)) for i, t in enumerate((q_in, k_in, v_in)))
        # (L, N, E) → (N, h, L, d): each head attends in its own slice of the features
        q, k, v = (t.reshape(t.shape[0], N, h, d).transpose(1, 2, 0, 3) for t in (q, k, v))
        mask = self._mask(key_padding_mask, attn_mask, is_causal, N, L, S, batched, q.dtype)
        dropout = self.dropout if self.training else 0.0
        out, weights = attend(q, k, v, mask, dropout, float(1 / np.sqrt(d)), self.rng, need_weights)
        out = self.out_proj(out.transpose(2, 0, 1, 3).reshape(L, N, E))
        if not batched:
            out = out.reshape(L, E)
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            weights = weights.reshape(*weights.shape[1:])
        return out, weights

    def _mask(self, key_padding_mask: Any, attn_mask: Any, is_causal: bool, N: int, L: int, S: int, batched: bool,
              dtype: Any) -> np.ndarray | None:
        """The masks as one float array broadcastable to the scores (N, h, L, S), or None."""
        name = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise ValueError(f"{name}: is_causal=True is a hint that attn_mask is the causal mask; give attn_mask too")
        mask = None
        if attn_mask is not None:
            m = _additive(attn_mask, dtype, False, name)
            if m.shape == (L, S):
                mask = m
            elif m.shape == (N * self.num_heads, L, S):
                mask = m.reshape(N, self.num_heads, L, S)
            else:
                raise ValueError(f"{name}: attn_mask must be ({L}, {S}) or ({N * self.num_heads}, {L}, {S}), "
                                 f"got {m.shape}")
        if key_padding_mask is not None:
            m = _additive(key_padding_mask, dtype, False, name)
            expected = (N, S) if batched else (S,)
            if m.shape != expected:
                raise ValueError(f"{name}: key_padding_mask must be {expected}, got {m.shape}")
            m = m.reshape(N, 1, 1, S)
            mask = m if mask is None else mask + m
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, batch_first={self.batch_first}"
