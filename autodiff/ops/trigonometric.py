"""Trigonometric and hyperbolic functions and their inverses, sinc, and angle conversions.

Each VJP, written with operators and NumPy functions, serves both backward passes (`op.vjp`).
Constants are Python floats, so float32 stays float32."""

from __future__ import annotations

import math

import numpy as np

from autodiff.op import op, values


@op(elementwise=True)
def tan(x):
    """z = tan x;  δ_x = δ_z ⊙ (1 + z²)"""
    out = np.tan(x)
    return out, (out,)


tan.vjp(lambda g, out: g * (1 + out * out))


@op(elementwise=True)
def arcsin(x):
    """z = arcsin x;  δ_x = δ_z / √(1 − x²)"""
    return np.arcsin(x), (x,)


arcsin.vjp(lambda g, x: g / np.sqrt(1 - x * x))


@op(elementwise=True)
def arccos(x):
    """z = arccos x;  δ_x = −δ_z / √(1 − x²)"""
    return np.arccos(x), (x,)


arccos.vjp(lambda g, x: -g / np.sqrt(1 - x * x))


@op(elementwise=True)
def arctan(x):
    """z = arctan x;  δ_x = δ_z / (1 + x²)"""
    return np.arctan(x), (x,)


arctan.vjp(lambda g, x: g / (1 + x * x))


@op(elementwise=True)
def arctan2(a, b):
    """z = atan2(a, b);  δ_a = δ_z ⊙ b / (a² + b²),  δ_b = −δ_z ⊙ a / (a² + b²)"""
    return np.arctan2(a, b), (a, b)


arctan2.vjp(lambda g, a, b: g * b / (a * a + b * b), lambda g, a, b: -g * a / (a * a + b * b))


@op(elementwise=True)
def sinh(x):
    """z = sinh x;  δ_x = δ_z ⊙ cosh x"""
    return np.sinh(x), (x,)


sinh.vjp(lambda g, x: g * np.cosh(x))


@op(elementwise=True)
def cosh(x):
    """z = cosh x;  δ_x = δ_z ⊙ sinh x"""
    return np.cosh(x), (x,)


cosh.vjp(lambda g, x: g * np.sinh(x))


@op(elementwise=True)
def arcsinh(x):
    """z = arsinh x;  δ_x = δ_z / √(x² + 1)"""
    return np.arcsinh(x), (x,)


arcsinh.vjp(lambda g, x: g / np.sqrt(x * x + 1))


@op(elementwise=True)
def arccosh(x):
    """z = arcosh x;  δ_x = δ_z / √(x² − 1)"""
    return np.arccosh(x), (x,)


arccosh.vjp(lambda g, x: g / np.sqrt(x * x - 1))


@op(elementwise=True)
def arctanh(x):
    """z = artanh x;  δ_x = δ_z / (1 − x²)"""
    return np.arctanh(x), (x,)


arctanh.vjp(lambda g, x: g / (1 - x * x))


# Below this |x| the quotient (cos πx − sinc x) / x cancels; its series is exact to rounding there.
_SINC_SERIES = 1e-3
_PI2 = math.pi**2


@op(elementwise=True)
def sinc(x):
    """z = sin(πx) / (πx) (1 at 0);  δ_x = δ_z ⊙ (cos πx − z) / x  (0 at x = 0)"""
    return np.sinc(x), (x,)


def _sinc(g, x):
    small = np.abs(values(x)) < _SINC_SERIES
    if not small.any():
        return g * (np.cos(math.pi * x) - np.sinc(x)) / x
    # −π²x/3 + π⁴x³/30: the series of the slope, used where the quotient would cancel (or be 0/0)
    series = x * (_PI2 * (x * x) * (_PI2 / 30) - _PI2 / 3)
    away = np.where(small, 1.0, x)
    return g * np.where(small, series, (np.cos(math.pi * away) - np.sinc(away)) / away)


sinc.vjp(_sinc)

_RAD = math.pi / 180


@op(elementwise=True)
def deg2rad(x):
    """z = x π / 180;  δ_x = δ_z π / 180"""
    return np.deg2rad(x), ()


deg2rad.vjp(lambda g: g * _RAD)


@op(elementwise=True)
def rad2deg(x):
    """z = x 180 / π;  δ_x = δ_z 180 / π"""
    return np.rad2deg(x), ()


rad2deg.vjp(lambda g: g * (1 / _RAD))
