"""Ops that move values without changing them: reshape, transpose, indexing, concatenate, stack, where.

Their VJPs route δ back to where each value came from; indexing with repeated integer indices
adds up every copy's δ. Each VJP serves grad of grad too, on Tensors (`op.vjp`), but getitem's.
"""

from __future__ import annotations

import numbers

import numpy as np

from autodiff.op import op, unbroadcast
from autodiff.shapes import normalize_axis


def _shape_arg(shape, name):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"{name}: sizes must be ints, got {shape!r}")
    return tuple(int(n) for n in shape)


@op
def reshape(x, *shape):
    """z = x viewed with a new shape (one size may be −1);  δ_x = δ_z reshaped back"""
    shape = _shape_arg(shape, "reshape")
    try:
        return x.reshape(shape), (x.shape,)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into {shape}") from None


reshape.vjp(lambda g, shape: g.reshape(shape))


@op
def transpose(x, *axes):
    """z = x with its axes permuted (reversed by default);  δ_x = δ_z permuted back"""
    if not axes or axes == (None,):
        axes = tuple(range(x.ndim))[::-1]
    else:
        axes = _shape_arg(axes, "transpose")
        if sorted(a % x.ndim if -x.ndim <= a < x.ndim else a for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of {x.shape}")
        axes = tuple(a % x.ndim for a in axes)
    return x.transpose(axes), (tuple(np.argsort(axes)),)


transpose.vjp(lambda g, inverse: g.transpose(inverse))


@op
def astype(x, dtype=None):
    """z = x in another floating-point dtype;  δ_x = δ_z in x's dtype"""
    from autodiff.dtypes import float_dtype

    return x.astype(float_dtype(dtype), copy=False), (x.dtype,)


astype.vjp(lambda g, dtype: g.astype(dtype, copy=False))


@op
def broadcast_to(x, shape=()):
    """z = x repeated to `shape` by broadcasting;  δ_x = δ_z summed over the repeats"""
    shape = _shape_arg((shape,) if isinstance(shape, (int, np.integer)) else shape, "broadcast_to")
    try:
        return np.broadcast_to(x, shape), (x.shape,)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None


broadcast_to.vjp(lambda g, shape: unbroadcast(g, shape))


class IndexTypeError(TypeError, IndexError):
    """An index of the wrong type: a TypeError, and an IndexError as NumPy and PyTorch raise."""


def _tensor_index(t):
    """The index array a Tensor stands for: a mask if it was made from bools, indices if from integers.

    Its values are floats either way, so a Tensor of computed floats is refused rather than guessed
    at: [1., 0., 1.] could mean either, and picking wrongly is a silent wrong answer.
    """
    kind = getattr(t, "_index_kind", None)
    a = t.data
    if kind == "b" and ((a == 0) | (a == 1)).all():
        return a != 0
    if kind == "i" and np.isfinite(a).all() and (a == np.round(a)).all():
        return a.astype(np.intp)
    made = {"b": "was made from bools but now holds other values", "i": "was made from integers but now holds fractions"}
    raise IndexTypeError(
        f"getitem: this index Tensor {made.get(kind, 'holds floats')}; a Tensor indexes as a mask only if made "
        "from bools and as indices only if made from integers (as PyTorch's bool and long tensors); pass a "
        "numpy bool or integer array instead, e.g. x[t.data > 0] or x[t.data.astype(int)]"
    )


def _index(index):
    """The index with Tensors and lists turned into arrays; whether it needs accumulation."""
    from autodiff.tensor import Tensor

    parts = index if isinstance(index, tuple) else (index,)
    out = []
    repeats = False
    for p in parts:
        if isinstance(p, Tensor):
            p = _tensor_index(p)
        elif isinstance(p, (list, tuple)):  # a tuple inside the index is a sequence of indices, as a list
            p = np.asarray(p)
            if p.size == 0:  # x[[]]: no indices (NumPy and PyTorch give shape (0, …)), not floats
                p = p.astype(np.intp)
        if isinstance(p, np.ndarray):
            if p.dtype.kind in "iu":
                repeats = True  # integer arrays may repeat an index: δ must be added, not assigned
            elif p.dtype.kind != "b":
                raise IndexTypeError(f"getitem: index arrays must hold integers or bools, not {p.dtype}")
        out.append(p)
    return (tuple(out) if isinstance(index, tuple) else out[0]), repeats


@op
def getitem(x, index=()):
    """z = x[index];  δ_x = δ_z scattered back, summed where an index repeats

    `index` is what NumPy takes (ints, slices, None, ..., integer or bool arrays and lists). A
    Tensor in it is a mask if it was made from bools and indices if made from integers; a Tensor
    of computed floats is an error (`IndexTypeError`, a TypeError and an IndexError).
    """
    index, repeats = _index(index)
    return x[index], (x.shape, index, repeats)


@getitem.vjp
def _getitem(g, shape, index, repeats):
    gx = np.zeros(shape, dtype=g.dtype)
    if repeats:
        np.add.at(gx, index, g)
    else:
        gx[index] = g
    return gx


# The VJP above adds into a fresh array in place (np.add.at), which a Tensor cannot: grad of grad
# goes through scatter, the op that is getitem's adjoint, instead.
getitem.graph_vjp(lambda g, z, xs, saved: scatter(g, *saved))


@op
def scatter(g, shape=(), index=(), repeats=True):
    """z = zeros(shape) with g added at `index` (the adjoint of indexing);  δ_g = δ_z[index]"""
    return _getitem(g, shape, index, repeats), (index,)


scatter.vjp(lambda gz, index: gz[index])


@op(variadic=True)
def concatenate(xs, axis=0):
    """z = [x₁, x₂, …] joined along `axis`;  δ_xᵢ = the slice of δ_z that xᵢ filled"""
    ndim = xs[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be joined; use stack")
    axis = normalize_axis(axis, ndim, "concatenate")
    try:
        out = np.concatenate(xs, axis=axis)
    except ValueError:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"concatenate: shapes {shapes} must match except along axis {axis}") from None
    ends = np.cumsum([x.shape[axis] for x in xs])
    return out, (axis, ends)


def _part(i, axis, ends):
    lo = ends[i - 1] if i else 0
    return (slice(None),) * axis + (slice(lo, ends[i]),)


concatenate.vjp(lambda i, g, axis, ends: g[_part(i, axis, ends)])


@op(variadic=True)
def stack(xs, axis=0):
    """z = [x₁, x₂, …] stacked along a new `axis`;  δ_xᵢ = δ_z[…, i, …] along that axis"""
    axis = normalize_axis(axis, xs[0].ndim + 1, "stack")
    if len({x.shape for x in xs}) > 1:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"stack: shapes {shapes} must all be equal")
    return np.stack(xs, axis=axis), (axis,)


stack.vjp(lambda i, g, axis: g[(slice(None),) * axis + (i,)])


@op(name="where", elementwise=True)
def _where(a, b, cond=None):
    """z = a where cond else b;  δ_a = δ_z where cond (0 elsewhere), δ_b = δ_z where not cond"""
    return np.where(cond, a, b), (cond,)


_where.vjp(lambda g, cond: np.where(cond, g, 0), lambda g, cond: np.where(cond, 0, g))
_where.op.selects = True


def where(cond, a, b):
    """z = a where `cond` is true, else b (all three broadcast together); cond gets no gradient."""
    from autodiff.tensor import Tensor

    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    if c.dtype.kind not in "biuf":
        raise TypeError(f"where: cond must be boolean or numeric, not {c.dtype}")
    return _where(a, b, cond=c.astype(bool, copy=False))


where.op = _where.op  # type: ignore[attr-defined]
