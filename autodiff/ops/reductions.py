"""Reductions over `axis=None|int|tuple` with `keepdims`: sum, mean, max, min, logsumexp."""

from __future__ import annotations

import numpy as np

from autodiff.op import op
from autodiff.shapes import normalize_axes


def _expand(g, shape, axes, keepdims):
    """δ of the reduced result, broadcast back over the reduced axes (a read-only view)."""
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


@op
def sum(x, axis=None, keepdims=False):
    """z = Σ x;  δ_x = δ_z copied to every summed element"""
    axes = normalize_axes(axis, x.ndim, "sum")
    return x.sum(axis=axes, keepdims=keepdims), (x.shape, axes, keepdims)


sum.vjp(lambda g, shape, axes, keepdims: _expand(g, shape, axes, keepdims))


@op
def mean(x, axis=None, keepdims=False):
    """z = (1/n) Σ x;  δ_x = δ_z / n for every averaged element"""
    axes = normalize_axes(axis, x.ndim, "mean")
    n = int(np.prod([x.shape[a] for a in axes]))
    if n == 0:
        raise ValueError(f"mean: cannot average over an empty axis of shape {x.shape}")
    return x.mean(axis=axes, keepdims=keepdims), (x.shape, axes, keepdims, n)


mean.vjp(lambda g, shape, axes, keepdims, n: _expand(g / n, shape, axes, keepdims))


def _extreme(x, axis, keepdims, name, reduce):
    axes = normalize_axes(axis, x.ndim, name)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{name}: cannot reduce an empty axis of shape {x.shape}")
    outk = reduce(x, axis=axes, keepdims=True)
    out = outk if keepdims else outk.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return out, (x, outk, axes, keepdims)


def _extreme_vjp(g, x, outk, axes, keepdims):
    # Ties share δ equally, which is what central differences measure at a tie.
    hit = x == outk
    count = hit.sum(axis=axes, keepdims=True)
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return hit * (g / count)


@op
def max(x, axis=None, keepdims=False):
    """z = max x;  δ_x = δ_z at the maximum (shared equally between tied maxima)"""
    return _extreme(x, axis, keepdims, "max", np.max)


max.vjp(_extreme_vjp)


@op
def min(x, axis=None, keepdims=False):
    """z = min x;  δ_x = δ_z at the minimum (shared equally between tied minima)"""
    return _extreme(x, axis, keepdims, "min", np.min)


min.vjp(_extreme_vjp)


def stable_logsumexp(x, axes):
    """log Σ exp(x) over `axes`, kept dims: shift by the maximum so nothing overflows."""
    m = x.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m


@op
def logsumexp(x, axis=None, keepdims=False):
    """z = log Σ eˣ;  δ_x = δ_z ⊙ softmax(x) = δ_z ⊙ e^(x − z)"""
    axes = normalize_axes(axis, x.ndim, "logsumexp")
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"logsumexp: cannot reduce an empty axis of shape {x.shape}")
    outk = stable_logsumexp(x, axes)
    out = outk if keepdims else outk.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return out, (x, outk, axes, keepdims)


@logsumexp.vjp
def _logsumexp(g, x, outk, axes, keepdims):
    if not keepdims and axes:
        g = np.expand_dims(g, axes)
    return g * np.exp(x - outk)
