"""Elementwise functions: each forward with its derivative, reusing the output where it can.

Each VJP is the only derivative its op has: written with operators and NumPy functions, it runs
on arrays in backward and on Tensors for grad of grad (see `op.vjp`)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from autodiff.op import op, values

# Below this many elements NumPy's per-call cost dominates, and `out=` calls cost more than the
# allocations they save; above it, reusing our own buffers avoids page-faulting fresh memory.
_SMALL = 4096


@op(elementwise=True)
def exp(x):
    """z = eˣ;  δ_x = δ_z ⊙ z"""
    out = np.exp(x)
    return out, (out,)


exp.vjp(lambda g, out: g * out)


@op(elementwise=True)
def log(x):
    """z = ln x;  δ_x = δ_z / x"""
    return np.log(x), (x,)


log.vjp(lambda g, x: g / x)


@op(elementwise=True)
def sqrt(x):
    """z = √x;  δ_x = δ_z / (2z)"""
    out = np.sqrt(x)
    return out, (out,)


sqrt.vjp(lambda g, out: g / (2 * out))


@op(elementwise=True)
def abs(x):
    """z = |x|;  δ_x = δ_z ⊙ sign(x)  (0 at x = 0)"""
    return np.abs(x), (x,)


abs.vjp(lambda g, x: g * np.sign(values(x)))


@op(elementwise=True)
def tanh(x):
    """z = tanh(x);  δ_x = δ_z ⊙ (1 − z²)"""
    out = np.tanh(x)
    return out, (out,)


@tanh.vjp
def _tanh(g, out):
    if out.size < _SMALL or type(g) is not np.ndarray:  # small, or grad of grad (Tensors)
        return g * (1 - out * out)
    d = out * out
    np.subtract(1, d, out=d)  # d is ours: reuse it rather than allocate again
    d *= g
    return d




@op(elementwise=True)
def sigmoid(x):
    """z = σ(x) = 1 / (1 + e⁻ˣ);  δ_x = δ_z ⊙ z (1 − z)"""
    # e^{-|x|} never overflows; pick the form that does not cancel for each sign of x.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1, e) / (1 + e)
    return out, (out,)


@sigmoid.vjp
def _sigmoid(g, out):
    if out.size < _SMALL or type(g) is not np.ndarray:  # small, or grad of grad (Tensors)
        return g * out * (1 - out)
    d = 1 - out
    d *= out
    d *= g
    return d




@op(elementwise=True)
def relu(x):
    """z = max(x, 0);  δ_x = δ_z ⊙ [x > 0]"""
    return np.maximum(x, 0), (x,)


relu.vjp(lambda g, x: g * (x > 0))


@op(elementwise=True)
def sin(x):
    """z = sin x;  δ_x = δ_z ⊙ cos x"""
    return np.sin(x), (x,)


sin.vjp(lambda g, x: g * np.cos(x))


@op(elementwise=True)
def cos(x):
    """z = cos x;  δ_x = −δ_z ⊙ sin x"""
    return np.cos(x), (x,)


cos.vjp(lambda g, x: -g * np.sin(x))


@op(elementwise=True)
def clip(x, lo=None, hi=None):
    """z = min(max(x, lo), hi);  δ_x = δ_z ⊙ [lo ≤ x ≤ hi]  (lo > hi gives hi everywhere, δ_x = 0)"""
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    lo, hi = _bound(lo, "lo"), _bound(hi, "hi")
    return np.clip(x, lo, hi), (x, lo, hi)


def _bound(value, what):
    """A clip bound as a Python float (weak, so float32 stays float32), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"clip: {what} must be a number or None, got {type(value).__name__} {value!r:.40}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"clip: {what} must not be NaN")
    return value


def _inside(x, lo, hi):
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return inside


clip.vjp(lambda g, x, lo, hi: g * _inside(x, lo, hi))


@op(elementwise=True)
def maximum(a, b):
    """z = max(a, b);  δ_a = δ_z ⊙ [a > b],  δ_b = δ_z ⊙ [b > a]; a tie splits δ_z in halves"""
    return np.maximum(a, b), (a, b)


def _share(g, winner, other):
    # Ties split the gradient equally: what central differences measure at a tie.
    return g * np.asarray((winner > other) + 0.5 * (winner == other), dtype=g.dtype)


maximum.vjp(lambda g, a, b: _share(g, a, b), lambda g, a, b: _share(g, b, a))


@op(elementwise=True)
def minimum(a, b):
    """z = min(a, b);  δ_a = δ_z ⊙ [a < b],  δ_b = δ_z ⊙ [b < a]; a tie splits δ_z in halves"""
    return np.minimum(a, b), (a, b)


minimum.vjp(lambda g, a, b: _share(g, b, a), lambda g, a, b: _share(g, a, b))
