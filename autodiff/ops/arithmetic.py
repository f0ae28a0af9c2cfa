"""Arithmetic: + - * / ** and unary minus, elementwise with NumPy broadcasting, and @.

VJPs return full-shape gradients; the engine sums them back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from autodiff.op import op


@op
def add(a, b):
    """z = a + b;  δ_a = δ_b = δ_z"""
    return a + b, ()


add.vjp(lambda g: g, lambda g: g)


@op
def sub(a, b):
    """z = a − b;  δ_a = δ_z,  δ_b = −δ_z"""
    return a - b, ()


sub.vjp(lambda g: g, lambda g: -g)


@op
def mul(a, b):
    """z = a ⊙ b;  δ_a = δ_z ⊙ b,  δ_b = δ_z ⊙ a"""
    return a * b, (a, b)


mul.vjp(lambda g, a, b: g * b, lambda g, a, b: g * a)


@op
def div(a, b):
    """z = a / b;  δ_a = δ_z / b,  δ_b = −δ_z ⊙ z / b"""
    out = a / b
    return out, (b, out)


div.vjp(lambda g, b, out: g / b, lambda g, b, out: -g * out / b)


@op
def pow(a, b):
    """z = a^b;  δ_a = δ_z ⊙ b a^(b−1),  δ_b = δ_z ⊙ z ln a"""
    out = a**b
    return out, (a, b, out)


def _pow_a(g, a, b, out):
    return g * b * a ** (b - 1)


def _pow_b(g, a, b, out):
    return g * out * np.log(a)


pow.vjp(_pow_a, _pow_b)


@op
def neg(x):
    """z = −x;  δ_x = −δ_z"""
    return -x, ()


neg.vjp(lambda g: -g)


@op(shape_error="are not aligned")
def matmul(a, b):
    """z = a @ b;  δ_a = δ_z bᵀ,  δ_b = aᵀ δ_z  (for a layer a = W z: ∂E/∂w_ji = Σ_n δ_nj z_ni)"""
    return a @ b, (a, b)


def _swap(x):
    return x.swapaxes(-1, -2)


def _matmul_a(g, a, b):
    if b.ndim == 1:  # z = a b is a's rows dotted with b: δ_a is the outer product δ_z bᵀ
        return g[..., None] * b
    if a.ndim == 1:  # a acts as a row vector: δ_a = b δ_zᵀ, summed over any batch
        return (b @ g[..., None])[..., 0]
    return g @ _swap(b)


def _matmul_b(g, a, b):
    if a.ndim == 1:
        return g * a if b.ndim == 1 else a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (_swap(a) @ g[..., None])[..., 0]
    return _swap(a) @ g


matmul.vjp(_matmul_a, _matmul_b)
