"""pad: NumPy's `np.pad(x, pad_width, mode, constant_values)`, differentiable.

One op for every mode. Constant padding's VJP cuts the padding off δ. The other modes (reflect,
symmetric, edge, wrap) copy values of x: each padded axis reads x at the positions NumPy's own pad
gives for `arange(n)`, so the VJP adds δ of every copy back where it was read from, axis by axis,
as getitem's VJP does (and as `scatter`, getitem's adjoint, does for grad of grad).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from autodiff.op import op

MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


def pad_widths(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """NumPy's forms of `pad_width` (n, (before, after), ((before, after),), one pair per axis)
    as one (before, after) pair per axis."""
    try:
        widths = np.asarray(pad_width)
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} is not an int, a pair or one pair per axis") from None
    if widths.dtype.kind not in "iu" and not (widths.dtype.kind == "O" and widths.size == 0):
        if widths.dtype.kind != "f" or not np.all(widths == np.round(widths)):
            raise TypeError(f"pad: pad_width must hold integers, got {pad_width!r}")
    try:
        widths = np.broadcast_to(widths.astype(np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of {ndim} dimensions") from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width {pad_width!r} holds a negative width")
    return tuple((int(b), int(a)) for b, a in widths)


@op(name="pad")
def pad_op(x, widths=(), mode="constant", constant_values=0.0):
    """z = x padded;  δ_x = δ_z with the padding cut off, plus δ of every copy (reflect, edge …) added back"""
    if mode == "constant":
        inner = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=constant_values), (inner, ())
    copies = []  # per padded axis: the shape before it, and where each position reads from
    shape = x.shape
    for axis, ((before, after), n) in enumerate(zip(widths, x.shape)):
        if before or after:
            if n == 0:
                raise ValueError(f"pad: cannot {mode}-pad axis {axis} of length 0 (shape {x.shape})")
            copies.append((shape, (slice(None),) * axis + (np.pad(np.arange(n), (before, after), mode=mode),)))
            shape = (*shape[:axis], n + before + after, *shape[axis + 1:])
    return np.pad(x, widths, mode=mode), ((), tuple(copies))


@pad_op.vjp
def _pad_vjp(g, inner, copies):
    return _cut(g, inner, copies, _add_back)


def _add_back(g, shape, index, repeats):
    from autodiff.ops.shape import _getitem

    return _getitem(g, shape, index, repeats)


def _cut(g, inner, copies, scatter):
    if inner:
        return g[inner]
    for shape, index in reversed(copies):  # each copied position's δ goes back where it was read from
        g = scatter(g, shape, index, True)
    return g


@pad_op.graph_vjp
def _(g, z, xs, saved):
    from autodiff.ops.shape import scatter

    return _cut(g, *saved, scatter)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0.0) -> Any:
    """x padded as `np.pad(x, pad_width, mode, constant_values=...)` does.

    `mode` is "constant" (`constant_values`: a number, or NumPy's per-axis pairs), "reflect",
    "symmetric", "edge" or "wrap". δ_x = δ_z cut back to x, plus δ of every copy of a value.

    >>> import autodiff as ad
    >>> ad.pad(ad.Tensor([1.0, 2.0, 3.0]), 2, mode="reflect").data
    array([3., 2., 1., 2., 3., 2., 1.])
    """
    from autodiff.tensor import as_tensor

    x = as_tensor(x)
    if mode not in MODES:
        raise ValueError(f"pad: mode {mode!r} is not one of {', '.join(MODES)}")
    widths = pad_widths(pad_width, x.ndim)
    if mode != "constant":
        return pad_op(x, widths, mode)
    if isinstance(constant_values, numbers.Real) or np.ndim(constant_values) == 0:
        constant_values = float(constant_values)  # weak: float32 stays float32
    return pad_op(x, widths, mode, constant_values)


pad.op = pad_op.op  # type: ignore[attr-defined]
