"""Piecewise-constant functions and the remainders: sign, floor, ceil, round, trunc, rint,
floor_divide, remainder, fmod.

The piecewise-constant ones have slope 0 wherever they have one (PyTorch's convention at the
jumps too): they record a node whose VJP is exact zeros, so gradients flow through them as 0
rather than stop with an error. The remainders are a − b·q for a piecewise-constant q, so
δ_a = δ_z and δ_b = −δ_z q, as in PyTorch."""

from __future__ import annotations

import numpy as np

from autodiff.op import op, values
from autodiff.tensor import _const


def _flat(g):
    """δ = 0: the same shape and dtype as δ_z, a constant (also when grad of grad passes Tensors)."""
    zero = np.zeros(np.shape(g), dtype=g.dtype)
    return zero if type(g) is np.ndarray else _const(zero)


@op(elementwise=True)
def sign(x):
    """z = sign x;  δ_x = 0"""
    return np.sign(x), ()


sign.vjp(_flat)


@op(elementwise=True)
def floor(x):
    """z = ⌊x⌋;  δ_x = 0"""
    return np.floor(x), ()


floor.vjp(_flat)


@op(elementwise=True)
def ceil(x):
    """z = ⌈x⌉;  δ_x = 0"""
    return np.ceil(x), ()


ceil.vjp(_flat)


@op(elementwise=True)
def trunc(x):
    """z = x rounded towards 0;  δ_x = 0"""
    return np.trunc(x), ()


trunc.vjp(_flat)


@op(elementwise=True)
def rint(x):
    """z = x rounded to the nearest integer (halves to even);  δ_x = 0"""
    return np.rint(x), ()


rint.vjp(_flat)


@op(elementwise=True)
def round(x, decimals=0):
    """z = x rounded to `decimals` places (halves to even);  δ_x = 0"""
    if isinstance(decimals, bool) or not hasattr(decimals, "__index__"):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return np.round(x, int(decimals)), ()


round.vjp(_flat)


@op(elementwise=True)
def floor_divide(a, b):
    """z = ⌊a / b⌋;  δ_a = δ_b = 0"""
    return np.floor_divide(a, b), ()


floor_divide.vjp(_flat, _flat)


@op(elementwise=True)
def remainder(a, b):
    """z = a − b ⌊a / b⌋ (the sign of b, Python's %);  δ_a = δ_z,  δ_b = −δ_z ⌊a / b⌋"""
    return np.remainder(a, b), (a, b)


remainder.vjp(lambda g, a, b: g, lambda g, a, b: -g * np.floor_divide(values(a), values(b)))


@op(elementwise=True)
def fmod(a, b):
    """z = a − b trunc(a / b) (the sign of a, C's fmod);  δ_a = δ_z,  δ_b = −δ_z trunc(a / b)"""
    return np.fmod(a, b), (a, b)


fmod.vjp(lambda g, a, b: g, lambda g, a, b: -g * np.trunc(values(a) / values(b)))
