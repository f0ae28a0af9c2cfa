"""Logarithms and exponentials beyond e: log1p, expm1, log2, log10, exp2, logaddexp.

Each VJP, written with operators and NumPy functions, serves both backward passes (`op.vjp`).
Constants are Python floats, so float32 stays float32."""

from __future__ import annotations

import math

import numpy as np

from autodiff.op import op

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


@op(elementwise=True)
def log1p(x):
    """z = ln(1 + x);  δ_x = δ_z / (1 + x)  (exact for tiny x)"""
    return np.log1p(x), (x,)


log1p.vjp(lambda g, x: g / (1 + x))


@op(elementwise=True)
def expm1(x):
    """z = eˣ − 1;  δ_x = δ_z ⊙ (z + 1)"""
    out = np.expm1(x)
    return out, (out,)


expm1.vjp(lambda g, out: g * (out + 1))


@op(elementwise=True)
def log2(x):
    """z = log₂ x;  δ_x = δ_z / (x ln 2)"""
    return np.log2(x), (x,)


log2.vjp(lambda g, x: g / (x * _LN2))


@op(elementwise=True)
def log10(x):
    """z = log₁₀ x;  δ_x = δ_z / (x ln 10)"""
    return np.log10(x), (x,)


log10.vjp(lambda g, x: g / (x * _LN10))


@op(elementwise=True)
def exp2(x):
    """z = 2ˣ;  δ_x = δ_z ⊙ z ln 2"""
    out = np.exp2(x)
    return out, (out,)


exp2.vjp(lambda g, out: g * out * _LN2)


@op(elementwise=True)
def logaddexp(a, b):
    """z = ln(eᵃ + eᵇ);  δ_a = δ_z ⊙ e^(a − z),  δ_b = δ_z ⊙ e^(b − z)  (each a softmax weight, never overflowing)"""
    out = np.logaddexp(a, b)
    return out, (a, b, out)


logaddexp.vjp(lambda g, a, b, out: g * np.exp(a - out), lambda g, a, b, out: g * np.exp(b - out))
