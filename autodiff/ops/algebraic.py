"""Powers and magnitudes: square, reciprocal, cbrt, fabs, hypot.

Each VJP, written with operators and NumPy functions, serves both backward passes (`op.vjp`)."""

from __future__ import annotations

import numpy as np

from autodiff.op import op, values


@op(elementwise=True)
def square(x):
    """z = x²;  δ_x = 2 x δ_z"""
    return np.square(x), (x,)


square.vjp(lambda g, x: 2 * x * g)


@op(elementwise=True)
def reciprocal(x):
    """z = 1 / x;  δ_x = −δ_z ⊙ z²"""
    out = np.reciprocal(x)
    return out, (out,)


reciprocal.vjp(lambda g, out: -g * out * out)


@op(elementwise=True)
def cbrt(x):
    """z = ∛x;  δ_x = δ_z / (3 z²)  (∞ at x = 0, as x^(1/3))"""
    out = np.cbrt(x)
    return out, (out,)


cbrt.vjp(lambda g, out: g / (3 * out * out))


@op(elementwise=True)
def fabs(x):
    """z = |x|;  δ_x = δ_z ⊙ sign(x)  (0 at x = 0)"""
    return np.fabs(x), (x,)


fabs.vjp(lambda g, x: g * np.sign(values(x)))


@op(elementwise=True)
def hypot(a, b):
    """z = √(a² + b²);  δ_a = δ_z ⊙ a / z,  δ_b = δ_z ⊙ b / z  (NaN at a = b = 0, as PyTorch)"""
    out = np.hypot(a, b)
    return out, (a, b, out)


hypot.vjp(lambda g, a, b, out: g * a / out, lambda g, a, b, out: g * b / out)
