"""Statistics over axes: var and std (`ddof=`, PyTorch's `correction=`), average (weights), norm
(vector and matrix `ord`s), nansum and nanmean; and the answers that carry no gradient by nature,
argmax, argmin, all and any, which return NumPy arrays as comparisons do.

var, norm, nansum and nanmean are ops; std, average and the matrix norms are compositions of ops."""

from __future__ import annotations

import warnings

import numpy as np

from autodiff.op import accepts_torch_names, op, values
from autodiff.ops.elementwise import abs as _abs
from autodiff.ops.elementwise import sqrt
from autodiff.ops.reductions import _expand, _unreduce
from autodiff.ops.reductions import max as _max
from autodiff.ops.reductions import min as _min
from autodiff.ops.reductions import sum as _sum
from autodiff.shapes import normalize_axes, normalize_axis
from autodiff.tensor import Tensor, _const
from autodiff.zero_safe import masked


def _count(shape, axes):
    return int(np.prod([shape[a] for a in axes]))


def _ddof(ddof, correction, name):
    if correction is not None:
        if ddof != 0 and ddof != correction:
            raise TypeError(f"{name}: give ddof= or correction= (the same thing), not both")
        ddof = correction
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: ddof must be a number, got {ddof!r}")
    return ddof


def _slice_unused(g, x, *rest):
    """Below a `where`: the elements of x whose reduced output has δ = 0 (each feeds only that one)."""
    axes, keepdims = rest[0], rest[1]
    return _unreduce(g == 0, x.shape, axes, keepdims)


@op
def var(x, axis=None, ddof=0, keepdims=False, correction=None):
    """z = Σ (x − x̄)² / (n − ddof);  δ_x = 2 δ_z (x − x̄) / (n − ddof)"""
    axes = normalize_axes(axis, x.ndim, "var")
    ddof = _ddof(ddof, correction, "var")
    return np.var(x, axis=axes, ddof=ddof, keepdims=keepdims), (x, axes, keepdims, _count(x.shape, axes) - ddof)


def _var(g, x, axes, keepdims, dof):
    centred = x - x.mean(axis=axes, keepdims=True)
    return _unreduce(g, x.shape, axes, keepdims) * centred * (2 / dof if dof else np.inf)


var.vjp(_var)
var.zero_safe_vjp(masked(_slice_unused))


@accepts_torch_names
def std(x, axis=None, ddof=0, keepdims=False, correction=None):
    """z = √var(x);  δ_x = δ_z (x − x̄) / ((n − ddof) z)  (composed: sqrt of var)"""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction))


@accepts_torch_names
def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """z = Σ w x / Σ w (NumPy's weights: a's shape, or 1-D along one `axis`);  composed of ops, so
    both a and the weights (a Tensor) get gradients."""
    from autodiff.ops.reductions import mean as _mean
    from autodiff.ops.shape import broadcast_to
    from autodiff.tensor import as_tensor

    a = as_tensor(a)
    if weights is None:
        out = _mean(a, axis=axis, keepdims=keepdims)
        if returned:
            return out, Tensor(np.full(out.shape, a.size / max(out.size, 1), dtype=a.dtype))
        return out
    w = weights if isinstance(weights, Tensor) else as_tensor(np.asarray(weights, dtype=a.dtype))
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError(f"average: weights of shape {w.shape} differ from a's {a.shape}: give axis= and 1-D weights")
        ax = normalize_axis(axis, a.ndim, "average")
        if w.shape[0] != a.shape[ax]:
            raise ValueError(f"average: {w.shape[0]} weights for an axis of length {a.shape[ax]}")
        w = w.reshape(*[a.shape[ax] if i == ax else 1 for i in range(a.ndim)])
    total = _sum(w * a, axis=axis, keepdims=keepdims)
    scale = _sum(broadcast_to(w, a.shape) if w.shape != a.shape else w, axis=axis, keepdims=keepdims)
    if np.any(values(scale) == 0):
        raise ZeroDivisionError("average: the weights sum to zero")
    out = total / scale
    return (out, scale) if returned else out


@op
def vector_norm(x, ord=2, axis=None, keepdims=False):
    """z = (Σ |x|ᵖ)^(1/p);  δ_x = δ_z sign(x) |x|^(p−1) / z^(p−1)  (0 where z = 0, as PyTorch)

    p = ord: ∞ is max |x| (δ shared by the tied maxima), 0 the count of non-zeros (δ = 0)."""
    axes = normalize_axes(axis, x.ndim, "norm")
    a = np.abs(x)
    if ord == 2:
        out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
    elif ord == np.inf:
        out = np.max(a, axis=axes, keepdims=keepdims, initial=0.0)
    elif ord == -np.inf:
        out = np.min(a, axis=axes, keepdims=keepdims)
    elif ord == 0:
        out = np.sum(x != 0, axis=axes, keepdims=keepdims).astype(x.dtype)
    elif ord == 1:
        out = np.sum(a, axis=axes, keepdims=keepdims)
    else:
        out = np.sum(a**ord, axis=axes, keepdims=keepdims) ** (1 / ord)
    return out, (x, out, ord, axes, keepdims)


def _vector_norm(g, x, out, ord, axes, keepdims):
    shape = x.shape
    gk, zk = _unreduce(g, shape, axes, keepdims), _unreduce(out, shape, axes, keepdims)
    if ord == 0:
        zero = np.zeros(shape, dtype=x.dtype)  # a count of non-zeros is flat
        return zero if type(g) is np.ndarray else _const(zero)
    s = np.sign(values(x))
    if ord == 1:
        return gk * s
    if ord in (np.inf, -np.inf):
        hit = np.abs(values(x)) == values(zk)
        share = (hit / hit.sum(axis=axes, keepdims=True)).astype(x.dtype, copy=False)
        return gk * s * share
    zero = values(zk) == 0
    z_safe = np.where(zero, 1.0, zk) if zero.any() else zk
    if ord == 2:
        return gk * x / z_safe
    with np.errstate(divide="ignore", invalid="ignore"):
        return gk * s * np.abs(x) ** (ord - 1) / z_safe ** (ord - 1)


vector_norm.vjp(_vector_norm)
vector_norm.zero_safe_vjp(masked(lambda g, x, out, ord, axes, keepdims: _unreduce(g == 0, x.shape, axes, keepdims)))

_MATRIX_ORDS = ("fro", 1, -1, np.inf, -np.inf)


@accepts_torch_names
def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's `linalg.norm`: a vector norm over one axis (or all, for `axis=None` and `ord=None`),
    a matrix norm over two ('fro', 1, −1, ∞, −∞; 2, −2 and 'nuc' need singular values: ad.linalg)."""
    from autodiff.tensor import as_tensor

    x = as_tensor(x)
    if axis is None and ord is not None:
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D tensor or axis=, got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = normalize_axes(axis, x.ndim, "norm") if axis is not None else None
    if axes is None or len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is a matrix norm: give two axes")
        return vector_norm(x, 2 if ord is None else ord, axis, keepdims)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must name one or two axes, got {axis!r}")
    if ord is None or ord == "fro":
        return vector_norm(x, 2, axis, keepdims)
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"norm: matrix ord={ord!r} is not supported here (2, -2 and 'nuc' need singular values)")
    row, col = normalize_axis(axis[0], x.ndim, "norm"), normalize_axis(axis[1], x.ndim, "norm")
    # ord 1: the largest column sum of |x| (sum over rows); ∞: the largest row sum (sum over columns)
    summed, other = (row, col) if ord in (1, -1) else (col, row)
    sums = _sum(_abs(x), axis=summed, keepdims=True)
    pick = _max if ord in (1, np.inf) else _min
    out = pick(sums, axis=other, keepdims=True)
    return out if keepdims else out.reshape(*[n for i, n in enumerate(x.shape) if i not in (row, col)])


@op
def nansum(x, axis=None, keepdims=False):
    """z = Σ x over the elements that are not NaN;  δ_x = δ_z there, 0 at a NaN"""
    axes = normalize_axes(axis, x.ndim, "nansum")
    return np.nansum(x, axis=axes, keepdims=keepdims), (x, axes, keepdims)


nansum.vjp(lambda g, x, axes, keepdims: _expand(g, x.shape, axes, keepdims) * ~np.isnan(values(x)))


@op
def nanmean(x, axis=None, keepdims=False):
    """z = mean of the elements that are not NaN (NaN, with a warning, if there are none);  δ_x = δ_z / count there, 0 at a NaN"""
    axes = normalize_axes(axis, x.ndim, "nanmean")
    counted = ~np.isnan(x)
    count = counted.sum(axis=axes, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmean(x, axis=axes, keepdims=keepdims)
    if (count == 0).any():
        warnings.warn("nanmean: an axis holds only NaN (or nothing): its mean is NaN", RuntimeWarning, stacklevel=3)
    return out, (x, axes, keepdims, count)


def _nanmean(g, x, axes, keepdims, count):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _expand(g, x.shape, axes, keepdims) * (~np.isnan(values(x)) / np.maximum(count, 1)).astype(x.dtype)


nanmean.vjp(_nanmean)


# ---------------------------------------------------------------------- no gradient by nature
def _index_result(fn, x, axis, keepdims, name):
    data = values(x) if isinstance(x, Tensor) else np.asarray(x)
    if axis is not None:
        axis = normalize_axis(axis, data.ndim, name)
    return fn(data, axis=axis, keepdims=keepdims)


@accepts_torch_names
def argmax(x, axis=None, keepdims=False):
    """The index of the largest value (of the flattened input if `axis` is None): an integer
    ndarray, as NumPy gives; an index has no gradient (PyTorch's is a long tensor without grad)."""
    return _index_result(np.argmax, x, axis, keepdims, "argmax")


@accepts_torch_names
def argmin(x, axis=None, keepdims=False):
    """The index of the smallest value: an integer ndarray, with no gradient (see argmax)."""
    return _index_result(np.argmin, x, axis, keepdims, "argmin")


@accepts_torch_names
def all(x, axis=None, keepdims=False):
    """Whether every value is non-zero: a boolean ndarray (no gradient), as comparisons give."""
    data = values(x) if isinstance(x, Tensor) else np.asarray(x)
    return np.all(data, axis=None if axis is None else normalize_axes(axis, data.ndim, "all"), keepdims=keepdims)


@accepts_torch_names
def any(x, axis=None, keepdims=False):
    """Whether some value is non-zero: a boolean ndarray (no gradient), as comparisons give."""
    data = values(x) if isinstance(x, Tensor) else np.asarray(x)
    return np.any(data, axis=None if axis is None else normalize_axes(axis, data.ndim, "any"), keepdims=keepdims)
