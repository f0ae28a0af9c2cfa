"""Hypothesis strategies for tensors and shapes, built on `hypothesis.extra.numpy`.

>>> from hypothesis import given
>>> from autodiff.testing import gradcheck, strategies
>>> @given(strategies.tensors(shape=(3, 2)))
... def test_tanh(x):
...     assert gradcheck(lambda x: x.tanh(), x)
>>> test_tanh()
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.extras import require
from autodiff.tensor import Tensor

require(["hypothesis"], "testing", "autodiff.testing.strategies")  # a clear MissingExtra line, not a bare ModuleNotFoundError

from hypothesis import strategies as st  # noqa: E402 (after the check)
from hypothesis.extra import numpy as hnp  # noqa: E402

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Array shapes, small by default so that element-wise gradient checks stay fast."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Tuples of `num_shapes` shapes that broadcast together (some axes stretched from 1)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda bs: bs.input_shapes)


def elements(lo: float = -3.0, hi: float = 3.0, dtype: Any = np.float64) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi] representable in `dtype`."""
    width = np.dtype(dtype).itemsize * 8
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=width)


def tensors(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | None = None,
    requires_grad: bool = True,
) -> st.SearchStrategy[Tensor]:
    """Tensors of `shape` (a tuple or a strategy; default: small random shapes) and `dtype`."""
    elems = elements if elements is not None else globals()["elements"](dtype=dtype)
    return hnp.arrays(dtype=dtype, shape=shapes() if shape is None else shape, elements=elems).map(
        lambda a: Tensor(a, requires_grad=requires_grad)
    )
