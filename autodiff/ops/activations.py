"""The activations of the next lectures, with torch's formulas: leaky ReLU, softplus, GELU, and the erf GELU needs.

erf's, leaky ReLU's and softplus's VJPs serve grad of grad too (operators and NumPy functions,
which Tensors answer); GELU's reads erf through NumPy's frompyfunc, which Tensors do not answer,
so it has a second VJP written with Tensor ops. Any derivative order works.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from autodiff.op import op
from autodiff.ops.elementwise import exp, tanh

_erf64 = np.frompyfunc(math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_PDF = _TWO_OVER_SQRT_PI * _SQRT1_2 * 0.5  # 1/√(2π), as torch writes it
_K = math.sqrt(2 / math.pi)  # GELU's tanh approximation: tanh(k (x + c x³))
_C = 0.044715


def _number(value, what, op_name):
    """A static argument as a weak Python float (float32 stays float32)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op_name}: {what} must be a number, got {type(value).__name__} {value!r:.40}")
    return float(value)


def _erf(x):
    return np.asarray(_erf64(x), dtype=np.float64).astype(x.dtype, copy=False)


def _xs(xs, saved):
    """The input as a Tensor when it is one (grad of grad), else its saved array."""
    return saved[0] if xs[0] is None else xs[0]


@op(elementwise=True)
def erf(x):
    """z = erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt;  δ_x = δ_z ⊙ (2/√π) e^(−x²)"""
    return _erf(x), (x,)


erf.vjp(lambda g, x: g * (_TWO_OVER_SQRT_PI * np.exp(-x * x)))


@op(elementwise=True)
def leaky_relu(x, negative_slope=0.01):
    """z = x if x > 0 else αx;  δ_x = δ_z ⊙ (1 if x > 0 else α)"""
    slope = _number(negative_slope, "negative_slope", "leaky_relu")
    return np.where(x > 0, x, x * slope), (x, slope)


def _leaky_slope(x, slope):
    return np.where(x > 0, 1.0, slope).astype(x.dtype, copy=False)


leaky_relu.vjp(lambda g, x, slope: g * _leaky_slope(x, slope))


@op(elementwise=True)
def softplus(x, beta=1.0, threshold=20.0):
    """z = ln(1 + e^(βx)) / β (z = x where βx > threshold);  δ_x = δ_z ⊙ σ(βx) (δ_z there)"""
    beta = _number(beta, "beta", "softplus")
    threshold = _number(threshold, "threshold", "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    bx = x * beta
    linear = bx > threshold
    # exp of the clipped value: the linear part must not overflow where it is not used
    out = np.where(linear, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)
    return out, (x, beta, linear)


def _softplus(g, x, beta, linear):
    z = np.exp(np.where(linear, 0, x * beta))  # torch's e^(βx) / (1 + e^(βx)); nothing overflows where unused
    return np.where(linear, g, g * (z / (z + 1)))


softplus.vjp(_softplus)


@op(elementwise=True)
def gelu(x, approximate="none"):
    """z = x Φ(x), Φ(x) = (1 + erf(x/√2))/2 (approximate="tanh": x (1 + tanh(k(x + c x³)))/2);  δ_x = δ_z ⊙ (Φ(x) + x φ(x))"""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    if approximate == "tanh":
        out = 0.5 * x * (1 + np.tanh(_K * (x + _C * x * x * x)))
    else:
        out = x * 0.5 * (1 + _erf(x * _SQRT1_2))
    return out, (x, approximate)


def _gelu(g, x, approximate):
    if approximate == "tanh":
        t = np.tanh(_K * (x + _C * x * x * x))
        slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * _C * x * x)
    else:
        cdf = 0.5 * (1 + _erf(x * _SQRT1_2))
        slope = cdf + x * (np.exp(-0.5 * x * x) * _PDF)
    return g * slope


def _gelu_graph(g, z, xs, saved):
    x, approximate = _xs(xs, saved), saved[1]
    if approximate == "tanh":
        t = tanh(_K * (x + _C * x * x * x))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * _C * x * x))
    return g * (0.5 * (1 + erf(x * _SQRT1_2)) + x * (exp(-0.5 * x * x) * _PDF))


gelu.vjp(_gelu)
gelu.graph_vjp(_gelu_graph)
