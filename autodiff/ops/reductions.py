"""Reductions over `axis=None|int|tuple` with `keepdims`: sum, mean, max, min, logsumexp.

The VJPs of sum, mean, max and min serve grad of grad as they are (`op.vjp`); logsumexp's reads
its result as saved with kept dimensions, so its second VJP, with Tensor ops, reads z instead."""

from __future__ import annotations

import numpy as np

from autodiff.op import op
from autodiff.ops.elementwise import exp
from autodiff.shapes import normalize_axes, require_nonempty
from autodiff.zero_safe import masked


def _kept(shape, axes):
    """`shape` with the reduced axes kept as length 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _unreduce(g, shape, axes, keepdims):
    """δ of a reduced result with the reduced axes back as length 1 (ndarray or Tensor)."""
    return g if keepdims or not axes else g.reshape(_kept(shape, axes))


def _expand(g, shape, axes, keepdims):
    """δ of the reduced result, broadcast back over the reduced axes (a read-only view; for
    a Tensor δ, np.broadcast_to is our broadcast_to)."""
    return np.broadcast_to(_unreduce(g, shape, axes, keepdims), shape)


@op
def sum(x, axis=None, keepdims=False):
    """z = Σ x;  δ_x = δ_z copied to every summed element"""
    axes = normalize_axes(axis, x.ndim, "sum")
    return x.sum(axis=axes, keepdims=keepdims), (x.shape, axes, keepdims)


sum.vjp(lambda g, shape, axes, keepdims: _expand(g, shape, axes, keepdims))


@op
def mean(x, axis=None, keepdims=False):
    """z = (1/n) Σ x;  δ_x = δ_z / n for every averaged element  (NaN, with NumPy's warning, over no elements)"""
    axes = normalize_axes(axis, x.ndim, "mean")
    n = int(np.prod([x.shape[a] for a in axes]))
    # Over n = 0 elements δ_x is empty: 1 keeps δ_z / n from dividing by zero on the way.
    return x.mean(axis=axes, keepdims=keepdims), (x.shape, axes, keepdims, n or 1)


mean.vjp(lambda g, shape, axes, keepdims, n: _expand(g / n, shape, axes, keepdims))


def _extreme(x, axis, keepdims, name, reduce):
    axes = normalize_axes(axis, x.ndim, name)
    require_nonempty(x.shape, axes, name)
    outk = reduce(x, axis=axes, keepdims=True)
    out = outk if keepdims else outk.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return out, (x, outk, axes, keepdims)


def _share(x, outk, axes):
    # Ties share δ equally, which is what central differences measure at a tie.
    hit = x == outk
    return (hit / hit.sum(axis=axes, keepdims=True)).astype(x.dtype, copy=False)


def _extreme_vjp(g, x, outk, axes, keepdims):
    return _share(x, outk, axes) * _unreduce(g, x.shape, axes, keepdims)


def _unused(g, x, outk, axes, keepdims):
    """Below a `where`: the elements of x whose reduced output has δ = 0 (each feeds only that one)."""
    return _unreduce(g == 0, x.shape, axes, keepdims)


@op
def max(x, axis=None, keepdims=False):
    """z = max x;  δ_x = δ_z at the maximum (shared equally between tied maxima)"""
    return _extreme(x, axis, keepdims, "max", np.max)


max.vjp(_extreme_vjp)
max.zero_safe_vjp(masked(_unused))


@op
def min(x, axis=None, keepdims=False):
    """z = min x;  δ_x = δ_z at the minimum (shared equally between tied minima)"""
    return _extreme(x, axis, keepdims, "min", np.min)


min.vjp(_extreme_vjp)
min.zero_safe_vjp(masked(_unused))


def stable_logsumexp(x, axes):
    """log Σ exp(x) over `axes`, kept dims: shift by the maximum so nothing overflows."""
    m = x.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m


@op
def logsumexp(x, axis=None, keepdims=False):
    """z = log Σ eˣ;  δ_x = δ_z ⊙ softmax(x) = δ_z ⊙ e^(x − z)"""
    axes = normalize_axes(axis, x.ndim, "logsumexp")
    require_nonempty(x.shape, axes, "logsumexp")
    outk = stable_logsumexp(x, axes)
    out = outk if keepdims else outk.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return out, (x, outk, axes, keepdims)


logsumexp.vjp(lambda g, x, outk, axes, keepdims: _unreduce(g, x.shape, axes, keepdims) * np.exp(x - outk))


def _logsumexp_graph(g, z, xs, saved):
    x, _, axes, keepdims = saved
    return _unreduce(g, x.shape, axes, keepdims) * exp(xs[0] - _unreduce(z, x.shape, axes, keepdims))


logsumexp.graph_vjp(_logsumexp_graph)
logsumexp.zero_safe_vjp(masked(_unused))
