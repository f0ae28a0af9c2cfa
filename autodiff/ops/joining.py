"""Splitting and joining: split, array_split, chunk, vstack, hstack, dstack, column_stack, cat.

Composed of getitem (a split part is a slice; δ goes back into its place) and concatenate (δ of
each input is its slice of δ_z), so their derivatives are those ops' own.
"""

from __future__ import annotations

import numbers
from itertools import pairwise
from typing import Any

import numpy as np

from autodiff.op import accepts_torch_names
from autodiff.ops.movement import atleast_1d, atleast_2d, atleast_3d
from autodiff.ops.shape import concatenate, getitem, reshape
from autodiff.shapes import normalize_axis
from autodiff.tensor import Tensor, as_tensor


def _parts(x: Tensor, bounds: list[int], axis: int) -> list[Tensor]:
    lead = (slice(None),) * axis
    return [getitem(x, (*lead, slice(lo, hi))) for lo, hi in pairwise(bounds)]


@accepts_torch_names
def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """x cut along `axis` into `k` nearly equal parts (the first ones one longer), or at the given indices."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, "array_split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (numbers.Integral, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: number of sections must be positive, got {k}")
        each, extra = divmod(n, k)
        bounds = list(np.cumsum([0] + [each + 1] * extra + [each] * (k - extra)))
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]  # as NumPy: Python's slice rules
    return _parts(x, [int(b) for b in bounds], axis)


@accepts_torch_names
def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """np.split: x cut along `axis` into `k` equal parts (an error if they cannot be equal), or at indices.

    (PyTorch's `torch.split(x, split_size)` takes part sizes instead: use `chunk` or `array_split`.)"""
    x = as_tensor(x)
    if isinstance(indices_or_sections, (numbers.Integral, np.integer)):
        axis_n = x.shape[normalize_axis(axis, x.ndim, "split")]
        if indices_or_sections <= 0 or axis_n % int(indices_or_sections):
            raise ValueError(f"split: an axis of length {axis_n} does not split into {indices_or_sections} equal parts")
    return array_split(x, indices_or_sections, axis)


@accepts_torch_names
def chunk(x: Any, chunks: int, axis: int = 0) -> list[Tensor]:
    """PyTorch's chunk: x cut along `axis` into at most `chunks` parts of ceil(n / chunks) each."""
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, (numbers.Integral, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.shape[axis]
    size = -(-n // int(chunks)) if n else 0
    bounds = [*range(0, n, size), n] if size else [0, 0]
    return _parts(x, bounds, axis)


def _tensors(xs: Any, name: str) -> list[Tensor]:
    if isinstance(xs, Tensor) or not isinstance(xs, (list, tuple)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got {type(xs).__name__}")
    if not xs:
        raise ValueError(f"{name}: needs at least one tensor")
    return [as_tensor(x) for x in xs]


def _listed(out: Any) -> list[Tensor]:
    return out if isinstance(out, list) else [out]


def vstack(xs: Any) -> Tensor:
    """z = the tensors joined along axis 0, each 1-D one as a row."""
    return concatenate(_listed(atleast_2d(*_tensors(xs, "vstack"))), axis=0)


def hstack(xs: Any) -> Tensor:
    """z = the tensors joined along axis 1 (along axis 0 if they are 1-D)."""
    ts = _listed(atleast_1d(*_tensors(xs, "hstack")))
    return concatenate(ts, axis=0 if ts[0].ndim == 1 else 1)


def dstack(xs: Any) -> Tensor:
    """z = the tensors joined along axis 2 (depth), each made at least 3-D."""
    return concatenate(_listed(atleast_3d(*_tensors(xs, "dstack"))), axis=2)


def column_stack(xs: Any) -> Tensor:
    """z = 1-D tensors as columns (and 2-D ones as they are) joined along axis 1."""
    ts = [reshape(t, (-1, 1)) if t.ndim < 2 else t for t in _tensors(xs, "column_stack")]
    return concatenate(ts, axis=1)


@accepts_torch_names
def cat(xs: Any, axis: int = 0) -> Tensor:
    """PyTorch's name for concatenate."""
    return concatenate(xs, axis)
