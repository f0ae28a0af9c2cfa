"""Shape ops NumPy and PyTorch users reach for, composed of reshape, transpose, broadcast_to,
getitem and concatenate: their derivatives are those ops' own (values move, δ moves back).

flatten, ravel, view, squeeze, unsqueeze/expand_dims, expand, permute, swapaxes, moveaxis,
atleast_1d/2d/3d, flip, roll, tile, repeat. NumPy's names and semantics first; PyTorch's
spellings (`view`, `permute`, `expand`, `unsqueeze`, `flatten(start_dim, end_dim)`) where
people type them. `repeat` is NumPy's (each element repeated); PyTorch's `Tensor.repeat(*sizes)`
is NumPy's `tile` (see `Tensor.repeat` for the one spelling that would mean both).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from autodiff.op import accepts_torch_names
from autodiff.ops.shape import _shape_arg, broadcast_to, concatenate, getitem, reshape, transpose
from autodiff.shapes import normalize_axes, normalize_axis
from autodiff.tensor import Tensor, as_tensor


def _sizes(args: tuple, name: str) -> tuple[int, ...]:
    return _shape_arg(args, name)


def view(x: Any, *shape: Any) -> Tensor:
    """PyTorch's name for reshape: z = x with a new shape (one size may be −1)."""
    return reshape(x, *shape)


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """z = x with axes start_dim … end_dim merged into one (all of them by default, as ravel)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    lo, hi = normalize_axis(start_dim, x.ndim, "flatten"), normalize_axis(end_dim, x.ndim, "flatten")
    if lo > hi:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    s = x.shape
    return reshape(x, (*s[:lo], int(np.prod(s[lo:hi + 1])), *s[hi + 1:]))


def ravel(x: Any) -> Tensor:
    """z = x as one axis (C order)."""
    return reshape(x, -1)


@accepts_torch_names
def squeeze(x: Any, axis: Any = None) -> Tensor:
    """z = x without axes of length 1 (those in `axis`, each of which must have length 1, or all)."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "squeeze")
    if axis is None:
        axes = tuple(i for i in axes if x.shape[i] == 1)
    for i in axes:
        if x.shape[i] != 1:
            raise ValueError(f"squeeze: axis {i} of shape {x.shape} has length {x.shape[i]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


@accepts_torch_names
def expand_dims(x: Any, axis: Any = None) -> Tensor:
    """z = x with a new axis of length 1 at each position in `axis` (positions in the result)."""
    x = as_tensor(x)
    if axis is None:
        raise TypeError("expand_dims: needs axis= (or dim=): where the new axis goes")
    axes = normalize_axes(axis if isinstance(axis, (tuple, list)) else (axis,), x.ndim + len(np.atleast_1d(axis)),
                          "expand_dims")
    rest = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(rest) for i in range(x.ndim + len(axes))))


@accepts_torch_names
def unsqueeze(x: Any, axis: Any = None) -> Tensor:
    """PyTorch's name for expand_dims with one axis."""
    return expand_dims(x, axis)


def expand(x: Any, *sizes: Any) -> Tensor:
    """PyTorch's expand: x broadcast to `sizes`, where −1 keeps x's own size of that axis."""
    x = as_tensor(x)
    sizes = _sizes(sizes, "expand")
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}: give at least {x.ndim}")
    own = (None,) * (len(sizes) - x.ndim) + x.shape
    shape = []
    for n, m in zip(sizes, own):
        if n == -1:
            if m is None:
                raise ValueError(f"expand: −1 is not allowed for a new leading axis (sizes {sizes})")
            n = m
        shape.append(n)
    return broadcast_to(x, tuple(shape))


def permute(x: Any, *axes: Any) -> Tensor:
    """PyTorch's name for transpose with every axis given: z's axis i is x's axis axes[i]."""
    x = as_tensor(x)
    axes = _sizes(axes, "permute")
    if len(axes) != x.ndim:
        raise ValueError(f"permute: {len(axes)} axes {axes} for a tensor of {x.ndim} dimensions")
    return transpose(x, *axes)


@accepts_torch_names
def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """z = x with two axes exchanged (PyTorch: transpose(dim0, dim1))."""
    x = as_tensor(x)
    a, b = normalize_axis(axis1, x.ndim, "swapaxes"), normalize_axis(axis2, x.ndim, "swapaxes")
    order = list(range(x.ndim))
    order[a], order[b] = b, a
    return transpose(x, *order)


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    """z = x with the axes `source` moved to positions `destination`, the others in order."""
    x = as_tensor(x)
    src = [source] if isinstance(source, numbers.Integral) else list(source)
    dst = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length")
    src = [normalize_axis(a, x.ndim, "moveaxis") for a in src]
    dst = [normalize_axis(a, x.ndim, "moveaxis") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: source {source} or destination {destination} repeats an axis")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, *order)


def atleast_1d(*xs: Any) -> Any:
    """Each x with at least 1 dimension (a 0-d x becomes shape (1,)); one tensor or a list, as NumPy."""
    out = [reshape(t, 1) if t.ndim == 0 else t for t in map(as_tensor, xs)]
    return out[0] if len(out) == 1 else out


def atleast_2d(*xs: Any) -> Any:
    """Each x with at least 2 dimensions: (n,) becomes (1, n), as NumPy."""
    out = [reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t for t in map(as_tensor, xs)]
    return out[0] if len(out) == 1 else out


def atleast_3d(*xs: Any) -> Any:
    """Each x with at least 3 dimensions: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1), as NumPy."""
    def three(t: Tensor) -> Tensor:
        shape = {0: (1, 1, 1), 1: (1, *t.shape, 1), 2: (*t.shape, 1)}.get(t.ndim)
        return t if shape is None else reshape(t, shape)

    out = [three(t) for t in map(as_tensor, xs)]
    return out[0] if len(out) == 1 else out


@accepts_torch_names
def flip(x: Any, axis: Any = None) -> Tensor:
    """z = x with the order of elements along `axis` (all axes by default) reversed."""
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "flip")
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim)))


def fliplr(x: Any) -> Tensor:
    """z = x flipped along axis 1."""
    return flip(x, 1)


def flipud(x: Any) -> Tensor:
    """z = x flipped along axis 0."""
    return flip(x, 0)


@accepts_torch_names
def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    """z = x with elements shifted by `shift` along `axis` (cyclically; of the flattened x if None)."""
    x = as_tensor(x)
    if axis is None:
        return reshape(roll(reshape(x, -1), shift, 0), x.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    if shifts.dtype.kind not in "iu" or axes.dtype.kind not in "iu":
        raise TypeError(f"roll: shift and axis must be ints, got {shift!r} and {axis!r}")
    total: dict[int, int] = {}
    for s, a in zip(shifts.ravel(), axes.ravel()):
        a = normalize_axis(int(a), x.ndim, "roll")
        total[a] = total.get(a, 0) + int(s)
    out = x
    for a, s in total.items():
        n = x.shape[a]
        if n == 0 or s % n == 0:
            continue
        k = n - s % n
        lead = (slice(None),) * a
        out = concatenate([getitem(out, (*lead, slice(k, None))), getitem(out, (*lead, slice(None, k)))], axis=a)
    return out if out is not x else reshape(x, x.shape)


def tile(x: Any, reps: Any) -> Tensor:
    """z = x repeated as whole blocks `reps` times along each axis (np.tile; PyTorch's Tensor.repeat)."""
    x = as_tensor(x)
    reps = _sizes((reps,) if isinstance(reps, (numbers.Integral, np.integer)) else tuple(reps), "tile")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetitions {reps}")
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    shape = (1,) * (nd - x.ndim) + x.shape
    inter = tuple(v for n in shape for v in (1, n))
    spread = tuple(v for r, n in zip(reps, shape) for v in (r, n))
    return reshape(broadcast_to(reshape(x, inter), spread), tuple(r * n for r, n in zip(reps, shape)))


@accepts_torch_names
def repeat(x: Any, repeats: Any, axis: Any = None) -> Tensor:
    """z = each element of x repeated `repeats` times along `axis` (of the flattened x if None): np.repeat.

    δ_x = δ_z summed over each element's copies. (PyTorch's repeat_interleave.)"""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, -1), 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    r = np.asarray(repeats)
    if r.size == 0:
        r = r.astype(np.intp)
    if r.dtype.kind not in "iu" or (r < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    n = x.shape[axis]
    if r.ndim == 0 or r.size == 1:
        k = int(r.reshape(()))
        s = x.shape
        spread = broadcast_to(reshape(x, (*s[:axis + 1], 1, *s[axis + 1:])), (*s[:axis + 1], k, *s[axis + 1:]))
        return reshape(spread, (*s[:axis], n * k, *s[axis + 1:]))
    if r.shape != (n,):
        raise ValueError(f"repeat: {r.size} repeats for an axis of length {n}")
    return getitem(x, (slice(None),) * axis + (np.repeat(np.arange(n), r),))
