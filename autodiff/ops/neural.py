"""Softmax and log-softmax along an axis, stable for any logits (shifted by their maximum).

Both VJPs read the output, so each serves grad of grad as it is (`op.vjp`)."""

from __future__ import annotations

import numpy as np

from autodiff.op import op
from autodiff.shapes import normalize_axis
from autodiff.zero_safe import masked


@op
def softmax(x, axis=-1):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ);  δ_x = y ⊙ (δ_y − Σ δ_y ⊙ y)"""
    axis = normalize_axis(axis, x.ndim, "softmax")
    if x.shape[axis] == 0:  # nothing to normalise: an empty result, as PyTorch gives
        return x.copy(), (x.copy(), axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e, (e, axis)


def _softmax(g, out, axis):
    d = g * out
    return d - out * d.sum(axis=axis, keepdims=True)


def _unused_slices(g, y, axis):
    """Below a `where`: the slices along `axis` whose outputs all have δ = 0 (each element feeds its whole slice)."""
    return (g == 0).all(axis=axis, keepdims=True)


softmax.vjp(_softmax)
softmax.zero_safe_vjp(masked(_unused_slices))


@op
def log_softmax(x, axis=-1):
    """yᵢ = xᵢ − log Σⱼ e^(xⱼ);  δ_x = δ_y − softmax(x) Σ δ_y"""
    axis = normalize_axis(axis, x.ndim, "log_softmax")
    if x.shape[axis] == 0:  # nothing to normalise: an empty result, as PyTorch gives
        return x.copy(), (x.copy(), axis)
    # (x − m) − log Σ e^(x − m), in that order: adding m back to the log-sum first and subtracting
    # the sum from x would lose the small log-sum to rounding at large |x| (float32 logits near 1e6).
    m = x.max(axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(m), m, 0)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return out, (out, axis)


log_softmax.vjp(lambda g, out, axis: g - np.exp(out) * g.sum(axis=axis, keepdims=True))
log_softmax.zero_safe_vjp(masked(_unused_slices))
