"""Products and running totals: prod, cumsum, cumprod, exact where the input holds zeros.

The slope of a product in one factor is the product of the others. Dividing the product by that
factor (z / xᵢ) fails at a zero, so prod multiplies prefix and suffix products instead, and
cumprod's VJP treats each slice's first zero apart (PyTorch's algorithm): the gradient is exact
with one zero (the zero's slope is the product of the others) and with several (all 0).
Each VJP is written with indexing, `np.cumsum`/`np.cumprod`/`np.concatenate`/`np.where` and
operators, so one definition serves both backward passes (`op.vjp`)."""

from __future__ import annotations

import numpy as np

from autodiff.op import op, values
from autodiff.ops.reductions import _kept, _unreduce
from autodiff.shapes import normalize_axes, normalize_axis
from autodiff.zero_safe import masked


def _along(axis, ndim, part):
    """The index picking `part` (a slice) along `axis`, everything along the others."""
    return (slice(None),) * axis + (part,) + (slice(None),) * (ndim - axis - 1)


def _exclusive(x, axis, reverse=False):
    """Π of the elements strictly before each one along `axis` (after it, if `reverse`): 1 at the ends.

    For an ndarray or a Tensor x; no division, so zeros are exact."""
    n = x.shape[axis]
    if n <= 1:
        return np.ones(x.shape, dtype=x.dtype)
    ndim = x.ndim
    ones = np.ones(_kept(x.shape, (axis,)), dtype=x.dtype)
    if not reverse:
        run = np.cumprod(x[_along(axis, ndim, slice(0, n - 1))], axis=axis)
        return np.concatenate([ones, run], axis=axis)
    back = slice(None, None, -1)
    run = np.cumprod(x[_along(axis, ndim, slice(n - 1, 0, -1))], axis=axis)[_along(axis, ndim, back)]
    return np.concatenate([run, ones], axis=axis)


@op
def prod(x, axis=None, keepdims=False):
    """z = Π x;  δ_xᵢ = δ_z Π_{j≠i} xⱼ  (exact with zeros: prefix × suffix products)"""
    axes = normalize_axes(axis, x.ndim, "prod")
    return np.prod(x, axis=axes, keepdims=keepdims), (x, axes, keepdims)


def _prod(g, x, axes, keepdims):
    shape = x.shape
    # Move the reduced axes to the end and join them: the products run along one axis.
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = x.transpose(*rest, *axes) if x.ndim else x
    flat = moved.reshape(*[shape[i] for i in rest], int(np.prod([shape[i] for i in axes])))
    others = _exclusive(flat, flat.ndim - 1) * _exclusive(flat, flat.ndim - 1, reverse=True)
    back = others.reshape(moved.shape)
    if x.ndim:
        back = back.transpose(*np.argsort([*rest, *axes]))
    return _unreduce(g, shape, axes, keepdims) * back


def _prod_unused(g, x, axes, keepdims):
    return _unreduce(g == 0, x.shape, axes, keepdims)


prod.vjp(_prod)
prod.zero_safe_vjp(masked(_prod_unused))


def _flat_or_axis(x, axis, name):
    """NumPy's rule: axis None runs over the flattened input."""
    if axis is None:
        return x.reshape(-1), 0
    return x, normalize_axis(axis, x.ndim, name)


@op
def cumsum(x, axis=None):
    """zₖ = Σ_{i≤k} xᵢ along `axis` (flattened if None);  δ_xᵢ = Σ_{k≥i} δ_zₖ"""
    flat, ax = _flat_or_axis(x, axis, "cumsum")
    return np.cumsum(flat, axis=ax), (x.shape, ax)


def _reversed(a, axis):
    return a[_along(axis, a.ndim, slice(None, None, -1))]


cumsum.vjp(lambda g, shape, axis: _reversed(np.cumsum(_reversed(g, axis), axis=axis), axis).reshape(shape))


@op
def cumprod(x, axis=None):
    """zₖ = Π_{i≤k} xᵢ along `axis` (flattened if None);  δ_xᵢ = Σ_{k≥i} δ_zₖ Π_{j≤k, j≠i} xⱼ  (exact with zeros)"""
    flat, ax = _flat_or_axis(x, axis, "cumprod")
    out = np.cumprod(flat, axis=ax)
    return out, (x, out, ax)


def _cumprod(g, x, out, axis):
    shape = x.shape
    if x.ndim != out.ndim:  # flattened (axis None)
        x = x.reshape(-1)
    if x.shape[axis] == 0:
        return g.reshape(shape)
    zeros = values(x) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if not zeros.any():  # Σ_{k≥i} δ_zₖ zₖ / xᵢ
            grad = _quotient(_reversed(np.cumsum(_reversed(_finite_product(g, out), axis), axis=axis), axis), x)
        elif type(g) is np.ndarray:
            grad = _cumprod_zeros(g, x, out, axis, zeros)
        else:  # grad of grad through zeros: every product written out, so it differentiates exactly
            grad = _cumprod_pairs(g, x, axis)
    return grad.reshape(shape)


def _cumprod_zeros(g, x, out, axis, zeros):
    """The VJP on ndarrays when x holds zeros, in O(n): PyTorch's algorithm."""
    n = x.shape[axis]
    idx = np.arange(n).reshape([n if i == axis else 1 for i in range(x.ndim)])
    first = np.where(zeros.any(axis=axis, keepdims=True), zeros.argmax(axis=axis).reshape(_kept(x.shape, (axis,))), n)
    before, at = idx < first, idx == first
    # Before each slice's first zero: Σ_{k≥i} δ_zₖ zₖ / xᵢ, over k before that zero (later zₖ are 0).
    term = _finite_product(g, out, before)
    part_before = _quotient(_reversed(np.cumsum(_reversed(term, axis), axis=axis), axis), np.where(before, x, 1.0))
    # At the first zero: Σ_{k≥i} δ_zₖ Π_{j≤k, j≠i} xⱼ, the zero's own factor left out. After it: 0.
    q = np.cumprod(np.where(at, 1.0, x), axis=axis)
    part_at = _finite_product(g, q, ~before).sum(axis=axis, keepdims=True)
    return np.where(before, part_before, np.where(at, part_at, 0.0))


def _cumprod_pairs(g, x, axis):
    """δ_xᵢ = Σ_{k≥i} δ_zₖ Π_{j≤k, j≠i} xⱼ with each product computed (n² of them): for grad of grad
    when x holds zeros, where the O(n) rule's "0 after the first zero" has the right value but not
    the right derivative (δ_xᵢ = δ_z₁ x₀ at x₀ = 0 still moves with x₀)."""
    n, ndim = x.shape[axis], x.ndim
    order = [*(i for i in range(ndim) if i != axis), axis]
    back = [int(i) for i in np.argsort(order)]
    xm, gm = x.transpose(*order), g.transpose(*order)
    eye = np.eye(n, dtype=bool)
    others = np.cumprod(np.where(eye, 1.0, xm[..., None, :]), axis=-1)  # row i: x with xᵢ set to 1
    terms = _finite_product(gm[..., None, :], others, np.triu(np.ones((n, n), dtype=bool)))
    return terms.sum(axis=-1).transpose(*back)


def _finite_product(g, y, keep=None):
    """g ⊙ y where `keep` (everywhere if None), else 0; a term whose δ is 0 is 0 even where y is ∞ or
    NaN (below a `where`)."""
    yv, gv = values(y), values(g)
    drop = (gv == 0) & ~np.isfinite(yv)
    if keep is not None:
        drop = drop | ~keep
    if not drop.any():
        return g * y
    return np.where(drop, 0.0, g * np.where(drop, 0.0, y))


def _quotient(num, x):
    """num / x, with 0 where num is 0 and x is ∞ or NaN: δ_xᵢ does not depend on xᵢ itself, the
    division by it is only the way it is computed (and a zero δ stays zero below a `where`)."""
    drop = (values(num) == 0) & ~np.isfinite(values(x))
    if not drop.any():
        return num / x
    return np.where(drop, 0.0, num / np.where(drop, 1.0, x))


cumprod.vjp(_cumprod)
