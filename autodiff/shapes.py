"""Shape checks shared by the ops: axis normalisation and empty axes, with errors that name the op."""

from __future__ import annotations

from typing import Any

from numpy.exceptions import AxisError
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple


def normalize_axes(axis: Any, ndim: int, name: str) -> tuple[int, ...]:
    """`axis` (None, int or tuple of ints, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    try:
        return tuple(sorted(normalize_axis_tuple(axis, ndim)))
    except AxisError:
        raise ValueError(f"{name}: axis {axis} is out of range for a tensor with {ndim} dimensions") from None
    except ValueError:
        raise ValueError(f"{name}: axis {axis} repeats an axis") from None
    except TypeError:
        raise TypeError(f"{name}: axis must be None, an int or a tuple of ints, got {axis!r}") from None


def normalize_axis(axis: Any, ndim: int, name: str) -> int:
    """One `axis` (an int, negatives allowed) as a non-negative int."""
    if isinstance(axis, bool) or not hasattr(axis, "__index__"):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    try:
        return normalize_axis_index(int(axis), ndim)
    except AxisError:
        raise ValueError(f"{name}: axis {axis} is out of range for a tensor with {ndim} dimensions") from None


def require_nonempty(shape: tuple[int, ...], axes: tuple[int, ...], name: str, doing: str = "reduce") -> None:
    """Raise if one of `axes` has length 0: a max, a mean or a softmax over no values is undefined."""
    if any(shape[a] == 0 for a in axes):
        raise ValueError(f"{name}: cannot {doing} an empty axis of shape {shape}")
