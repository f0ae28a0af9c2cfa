"""Reading elements by index: take, take_along_axis, gather, diagonal, diag, trace, tril, triu, sort.

Composed of getitem (δ added back at every index read, repeats summed), scatter (its adjoint, for
`diag` of a vector) and where (tril/triu keep x's values, never multiply them by a 0 mask, so an ∞
outside the kept triangle cannot turn into NaN).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from autodiff.op import accepts_torch_names, op
from autodiff.ops.movement import moveaxis
from autodiff.ops.shape import _tensor_index, getitem, reshape, scatter, where
from autodiff.shapes import normalize_axis
from autodiff.tensor import Tensor, as_tensor


def _indices(index: Any, name: str) -> np.ndarray:
    """An integer index array from an array, a list or a Tensor made from integers."""
    a = _tensor_index(index) if isinstance(index, Tensor) else np.asarray(index)
    if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and a.size == 0):
        raise TypeError(f"{name}: indices must be integers, got {a.dtype}")
    return a.astype(np.intp, copy=False)


def _in_range(idx: np.ndarray, n: int, name: str) -> None:
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{name}: index {idx.max() if idx.max() >= n else idx.min()} is out of range for an axis of length {n}")


@accepts_torch_names
def take(x: Any, indices: Any, axis: Any = None) -> Tensor:
    """z = x's elements at `indices` along `axis` (of the flattened x if None), as np.take;
    δ_x = δ_z added back at each index (repeated indices add up)."""
    x = as_tensor(x)
    idx = _indices(indices, "take")
    if axis is None:
        x, axis = reshape(x, -1), 0
    axis = normalize_axis(axis, x.ndim, "take")
    _in_range(idx, x.shape[axis], "take")
    return getitem(x, (slice(None),) * axis + (idx,))


def _along(x: Tensor, idx: np.ndarray, axis: int, shape: tuple[int, ...]) -> tuple:
    """The fancy index reading x[..., idx[...], ...] along `axis`, every other axis by position over `shape`."""
    nd = x.ndim
    return tuple(idx if d == axis else np.arange(shape[d]).reshape((-1,) + (1,) * (nd - 1 - d)) for d in range(nd))


@accepts_torch_names
def take_along_axis(x: Any, indices: Any, axis: Any = -1) -> Tensor:
    """z = np.take_along_axis(x, indices, axis): x read at `indices` along `axis` (the others broadcast);
    δ_x = δ_z added back where it was read."""
    x = as_tensor(x)
    idx = _indices(indices, "take_along_axis")
    if axis is None:
        x, axis = reshape(x, -1), 0
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} must have as many dimensions as x {x.shape}")
    axis = normalize_axis(axis, x.ndim, "take_along_axis")
    _in_range(idx, x.shape[axis], "take_along_axis")
    try:
        shape = np.broadcast_shapes(tuple(1 if d == axis else n for d, n in enumerate(x.shape)),
                                    tuple(1 if d == axis else n for d, n in enumerate(idx.shape)))
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast against x {x.shape}") from None
    del shape  # checked only: the other axes read x by position, broadcast against the indices
    return getitem(x, _along(x, idx, axis, x.shape))


@accepts_torch_names
def gather(x: Any, axis: int, index: Any) -> Tensor:
    """PyTorch's gather: z[i][j] = x[index[i][j]][j] for axis 0 (and so on); z has index's shape,
    which may be smaller than x's (not larger) in the other axes. δ_x = δ_z added back where read."""
    x = as_tensor(x)
    idx = _indices(index, "gather")
    axis = normalize_axis(axis, x.ndim, "gather")
    if idx.ndim != x.ndim or any(m > n for d, (m, n) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ValueError(f"gather: index of shape {idx.shape} must have x's {x.ndim} dimensions and be no larger than "
                         f"x {x.shape} outside axis {axis}")
    _in_range(idx, x.shape[axis], "gather")
    return getitem(x, _along(x, idx, axis, idx.shape))


def _diagonal_index(n: int, m: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    k = np.arange(length)
    return (k, k + offset) if offset >= 0 else (k - offset, k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, *, dim1: Any = None, dim2: Any = None) -> Tensor:
    """z = the `offset` diagonal of x over axes (axis1, axis2), as a last axis (np.diagonal;
    PyTorch's dim1=, dim2=); δ_x = δ_z on that diagonal, 0 elsewhere."""
    x = as_tensor(x)
    axis1, axis2 = (axis1 if dim1 is None else dim1), (axis2 if dim2 is None else dim2)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a, b = normalize_axis(axis1, x.ndim, "diagonal"), normalize_axis(axis2, x.ndim, "diagonal")
    if a == b:
        raise ValueError(f"diagonal: axis1 and axis2 are both {a}")
    moved = moveaxis(x, (a, b), (-2, -1))
    rows, cols = _diagonal_index(x.shape[a], x.shape[b], int(offset))
    return getitem(moved, (Ellipsis, rows, cols))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """z = Σ of the `offset` diagonal of x over (axis1, axis2) (np.trace);  δ_x = δ_z on that diagonal."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def diag(x: Any, k: int = 0) -> Tensor:
    """np.diag: of a 1-D x, the square matrix with x on its k-th diagonal (δ_x = δ_z read off that diagonal);
    of a 2-D x, its k-th diagonal."""
    x = as_tensor(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: needs a 1-D or 2-D tensor, got shape {x.shape}")
    n = x.shape[0] + abs(int(k))
    return scatter(x, (n, n), _diagonal_index(n, n, int(k)), False)


def _triangle(x: Any, k: Any, diagonal: Any, name: str, lower: bool) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: needs at least 2 dimensions, got shape {x.shape}")
    k = int(k if diagonal is None else diagonal)
    n, m = x.shape[-2:]
    keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return where(keep, x, 0.0)


def tril(x: Any, k: int = 0, *, diagonal: Any = None) -> Tensor:
    """z = x on and below its k-th diagonal (last two axes), 0 above (PyTorch: diagonal=);
    δ_x = δ_z on the kept triangle."""
    return _triangle(x, k, diagonal, "tril", lower=True)


def triu(x: Any, k: int = 0, *, diagonal: Any = None) -> Tensor:
    """z = x on and above its k-th diagonal (last two axes), 0 below (PyTorch: diagonal=);
    δ_x = δ_z on the kept triangle."""
    return _triangle(x, k, diagonal, "triu", lower=False)


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    return np.argsort(-x if descending else x, axis=axis, kind="stable")


@op(name="sort")
def sort_op(x, axis=-1, descending=False):
    """z = x's values sorted along `axis` (a permutation);  δ_x = δ_z permuted back (the inverse permutation)"""
    axis = normalize_axis(axis, x.ndim, "sort")
    order = _order(x, axis, descending)
    return np.take_along_axis(x, order, axis), (np.argsort(order, axis=axis), axis)


sort_op.vjp(lambda g, back, axis: np.take_along_axis(g, back, axis))


@accepts_torch_names
def sort(x: Any, axis: Any = -1, descending: bool = False) -> Tensor:
    """z = x's values sorted along `axis` (of the flattened x if None), as np.sort (PyTorch:
    descending=); δ_x = δ_z put back where each value came from. Ties keep their order (a stable
    sort), so each tied element gets the δ of one output position, as in PyTorch."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, -1), 0
    return sort_op(x, axis, descending)


sort.op = sort_op.op  # type: ignore[attr-defined]


def _indices_of_order(x: Tensor, axis: Any, descending: bool, name: str) -> tuple[Tensor, np.ndarray, int]:
    from autodiff.tracing import not_traceable

    not_traceable(f"{name} returns indices chosen by the values, which a replay would reuse")
    if axis is None:
        x, axis = reshape(x, -1), 0
    axis = normalize_axis(axis, x.ndim, name)
    return x, _order(x.data, axis, descending), axis


@accepts_torch_names
def argsort(x: Any, axis: Any = -1, descending: bool = False) -> np.ndarray:
    """The indices that sort x along `axis` (stable): an integer ndarray with no gradient, as argmax."""
    return _indices_of_order(as_tensor(x), axis, descending, "argsort")[1]


class Sorted(NamedTuple):
    """PyTorch's `Tensor.sort` result: the sorted values (differentiable) and their indices."""

    values: Tensor
    indices: np.ndarray


def sort_with_indices(x: Any, axis: Any = -1, descending: bool = False) -> Sorted:
    """(values, indices) of x sorted along `axis`: what PyTorch's Tensor.sort returns."""
    x, order, axis = _indices_of_order(as_tensor(x), axis, descending, "sort")
    return Sorted(sort_op(x, axis, descending), order)
