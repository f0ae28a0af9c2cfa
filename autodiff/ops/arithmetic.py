"""Arithmetic: + - * / ** and unary minus, elementwise with NumPy broadcasting, and @.

VJPs return full-shape gradients; the engine sums them back to each input's shape. Each VJP is
the only derivative its op has: written with operators, it runs on ndarrays in backward and on
the input Tensors for grad of grad (`op.vjp`). Only pow has a second one, with Tensor ops
(`graph_vjp`: `xs` holds the input Tensors and None for a constant, whose value is in `saved`),
because its edge cases (a⁰ at a = 0, 0ᵇ) need deciding differently when the exponent may move.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff.op import op
from autodiff.zero_safe import bilinear


def operand(xs, saved, i):
    """Input i as a Tensor, or its constant value (binary ops save their inputs first)."""
    return saved[i] if xs[i] is None else xs[i]


@op(elementwise=True)
def add(a, b):
    """z = a + b;  δ_a = δ_b = δ_z"""
    return a + b, ()


add.vjp(lambda g: g, lambda g: g)


@op(elementwise=True)
def sub(a, b):
    """z = a − b;  δ_a = δ_z,  δ_b = −δ_z"""
    return a - b, ()


sub.vjp(lambda g: g, lambda g: -g)


@op(elementwise=True)
def mul(a, b):
    """z = a ⊙ b;  δ_a = δ_z ⊙ b,  δ_b = δ_z ⊙ a"""
    return a * b, (a, b)


mul.vjp(lambda g, a, b: g * b, lambda g, a, b: g * a)


@op(elementwise=True)
def div(a, b):
    """z = a / b;  δ_a = δ_z / b,  δ_b = −δ_z ⊙ z / b"""
    out = a / b
    return out, (a, b, out)


div.vjp(lambda g, a, b, out: g / b, lambda g, a, b, out: -g * out / b)


@op(elementwise=True)
def pow(a, b):
    """z = a^b;  δ_a = δ_z ⊙ b a^(b−1),  δ_b = δ_z ⊙ z ln a"""
    out = a**b
    return out, (a, b, out)


def _log_of(a):
    """ln a for the exponent's VJP; a Python float stays a Python float, so float32 stays float32."""
    from autodiff.ops.elementwise import log

    if isinstance(a, (int, float)):  # ln 0 = −∞, as np.log(0.0) gives for an array base
        return math.log(a) if a > 0 else -math.inf if a == 0 else math.nan
    return log(a) if not isinstance(a, np.ndarray) else np.log(a)


def _flat_power(b, d):
    """Where b = 0, a⁰ = 1 for every a, so its slope in a is 0; but b a^(b−1) = d is 0 · ∞ = NaN
    there at a = 0, or at a tiny a whose a⁻¹ overflows. Only those are replaced: elsewhere d stays
    as computed, so grad of grad still sees how the slope changes with b (∂²/∂a∂b = a⁻¹ at b = 0)."""
    zero = np.equal(b, 0)
    return zero & ~np.isfinite(d) if zero.any() else zero


def _pow_a(g, a, b, out):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = g * b * a ** (b - 1)
    flat = _flat_power(b, d)
    return np.where(flat, 0, d) if np.any(flat) else d


def _base_zero(a, b):
    """Where a = 0 and b ≥ 0, the slope in b is taken as 0, not aᵇ ln a = 0 · (−∞) or 1 · (−∞):
    for b > 0, aᵇ = 0 for every b near; at b = 0 it is PyTorch's and JAX's convention."""
    return np.equal(a, 0) & np.greater_equal(b, 0)


def _pow_b(g, a, b, out):
    with np.errstate(divide="ignore", invalid="ignore"):
        d = g * out * _log_of(a)
    at_zero = _base_zero(a, b)
    return np.where(at_zero, 0, d) if np.any(at_zero) else d


pow.vjp(_pow_a, _pow_b)


def _pow_a_graph(g, z, xs, saved):
    from autodiff.ops.shape import where

    a, b = operand(xs, saved, 0), operand(xs, saved, 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the ∞ and NaN where b = 0 are replaced below
        d = g * b * a ** (b - 1)
    # A constant exponent b = 0 cannot move, so a⁰ = 1 is flat in a to every order there: the slope
    # is replaced even where it is finite, since its own derivative b (b − 1) a^(b−2) would be
    # 0 · ∞ = NaN at a tiny a whose a⁻² overflows.
    flat = np.equal(saved[1], 0) if xs[1] is None else _flat_power(saved[1], d.data)
    return where(flat, 0.0, d) if np.any(flat) else d


def _pow_b_graph(g, z, xs, saved):
    from autodiff.ops.shape import where

    with np.errstate(divide="ignore", invalid="ignore"):
        d = g * z * _log_of(operand(xs, saved, 0))
    at_zero = _base_zero(saved[0], saved[1])
    return where(at_zero, 0.0, d) if np.any(at_zero) else d


pow.graph_vjp(_pow_a_graph, _pow_b_graph)


@op(elementwise=True)
def neg(x):
    """z = −x;  δ_x = −δ_z"""
    return -x, ()


neg.vjp(lambda g: -g)


@op(shape_error="are not aligned")
def matmul(a, b):
    """z = a @ b;  δ_a = δ_z bᵀ,  δ_b = aᵀ δ_z"""
    return a @ b, (a, b)


def _swap(x):
    """The last two axes exchanged, for ndarrays and Tensors alike."""
    return x.swapaxes(-1, -2) if isinstance(x, np.ndarray) else x.transpose(*_swapped(x.ndim))


def _swapped(ndim):
    return (*range(ndim - 2), ndim - 1, ndim - 2)


def _column(x):
    """x with a trailing axis of length 1 (x[..., None]) for ndarrays and Tensors alike."""
    return x.reshape(*x.shape, 1)


def _row(x):
    """x with a length-1 axis before the last (x[..., None, :])."""
    return x.reshape(*x.shape[:-1], 1, x.shape[-1])


def _drop_last(x):
    return x.reshape(*x.shape[:-1])


# Written once for ndarrays and Tensors: every operation here exists on both.
def _matmul_a(g, a, b):
    if b.ndim == 1:  # z = a b is a's rows dotted with b: δ_a is the outer product δ_z bᵀ
        return _column(g) * b
    if a.ndim == 1:  # a acts as a row vector: δ_a = b δ_zᵀ, summed over any batch
        return _drop_last(b @ _column(g))
    return g @ _swap(b)


def _matmul_b(g, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else _column(a) * _row(g)
    if b.ndim == 1:
        return _drop_last(_swap(a) @ _column(g))
    return _swap(a) @ g


matmul.vjp(_matmul_a, _matmul_b)


# Below a `where`, 0 · ∞ = 0: δ_a is bilinear in δ and b, δ_b in δ and a (autodiff.zero_safe).
matmul.zero_safe_vjp(bilinear(1), bilinear(0))

