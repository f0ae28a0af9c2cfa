"""The attention core softmax(q kᵀ · scale + mask) v as one fused op: forward and backward in NumPy.

Composed of the engine's ops it records six nodes and its backward allocates a few score-sized
arrays more than a hand-written one; fused, it costs what NumPy costs. With P = softmax(S),
S = q kᵀ · scale + mask and out = P v, given δ = ∂E/∂out:

    δv = Pᵀ δ,   δP = δ vᵀ,   δS = P ⊙ (δP − Σⱼ δP ⊙ P),   δq = δS k · scale,   δk = δSᵀ q · scale

The mask is a constant (a float array added to the scores, −∞ where attending is not allowed); a
query that may attend to nothing gets weights 0. Grad of grad differentiates the composed twin
(`attention_composed`); below a `where`, a VJP that meets ∞ or NaN runs again with 0 · ∞ = 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff.op import op
from nn.modules.fused import once, safe_dot, safe_dot_left, twin_grads


def _swap(a: Any) -> Any:
    return a.transpose(*range(a.ndim - 2), a.ndim - 1, a.ndim - 2)


def _dead_rows(mask: np.ndarray | None) -> np.ndarray | None:
    """Where a query may attend to nothing (its whole row of the mask −∞), or None if there is no such row."""
    if mask is None:
        return None
    dead = ~np.isfinite(mask).any(axis=-1, keepdims=True)
    return dead if dead.any() else None


@op(name="attention")
def attention(q, k, v, scale=1.0, mask=None):
    """P = softmax(q kᵀ · scale + mask), out = P v;  δv = Pᵀ δ, δS = P ⊙ (δ vᵀ − Σ δ vᵀ ⊙ P), δq = δS k · scale, δk = δSᵀ q · scale"""
    s = (q * scale) @ _swap(k)
    dead = _dead_rows(mask)
    if mask is not None:
        s = s + (mask if dead is None else np.where(dead, 0.0, mask))  # a dead row: computed, then dropped
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    if dead is not None:
        s = np.where(dead, 0.0, s)
    return s @ v, (q, k, v, s, scale, mask, {})


def _score_delta(g, v, p, scale, safe):
    """δS · scale: what δq and δk are made of. With `safe`, every term of a δ that is 0 is 0 even where a
    factor is ∞ or NaN."""
    dp = safe_dot(g, _swap(v)) if safe else g @ _swap(v)
    if safe:
        unused = (dp == 0).all(axis=-1, keepdims=True)  # a softmax row whose outputs all have δ = 0
    ds = dp
    ds -= (dp * p).sum(axis=-1, keepdims=True)
    ds *= p
    ds *= scale
    return np.where(unused, 0.0, ds) if safe else ds


def _vjp(i: int, safe: bool = False):
    dot, dot_left = (safe_dot, safe_dot_left) if safe else (np.matmul, np.matmul)

    def vjp(g, q, k, v, p, scale, mask, memo):
        if i == 2:  # δv = Pᵀ δ needs no δS
            return dot_left(_swap(p), g)
        ds = once(memo, g, safe, lambda: _score_delta(g, v, p, scale, safe))
        return dot(ds, k) if i == 0 else dot(_swap(ds), q)

    return vjp


def attention_composed(q: Any, k: Any, v: Any, scale: float = 1.0, mask: np.ndarray | None = None) -> Any:
    """The fused op's result with the engine's ops (matmul, softmax, where): its twin for grad of grad, and tests'."""
    s = (q * scale) @ _swap(k)
    dead = _dead_rows(mask)
    if mask is not None:
        s = s + (mask if dead is None else np.where(dead, 0.0, mask))
    p = ad.softmax(s, axis=-1)
    if dead is not None:
        p = ad.where(dead, 0.0, p)
    return p @ v


def _graph_vjp(i: int):
    def graph_vjp(g, z, xs, saved):
        q, k, v, _, scale, mask, memo = saved
        return twin_grads(memo, g, xs, (q, k, v), lambda q, k, v: attention_composed(q, k, v, scale, mask))[i]

    return graph_vjp


attention.vjp(*(_vjp(i) for i in range(3)))
attention.zero_safe_vjp(*(_vjp(i, safe=True) for i in range(3)))
attention.graph_vjp(*(_graph_vjp(i) for i in range(3)))
