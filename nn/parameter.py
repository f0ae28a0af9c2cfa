"""`Parameter`: a Tensor that a Module owns and an optimizer updates; `Buffer`: one it owns and keeps, not learnt."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor


class Parameter(Tensor):
    """A learnable weight w: a leaf Tensor that always requires grad, so ∂E/∂w lands in `.grad`.

    >>> import nn
    >>> w = nn.Parameter([1.0, 2.0])
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Parameter(")
        dtype = "" if self.data.dtype == np.float64 else f", dtype={self.data.dtype}"
        name = "" if self.name is None else f", name={self.name!r}"
        return f"Parameter({body}{dtype}{name})"


class Buffer(Tensor):
    """State a Module keeps that is not learnt (BatchNorm's running statistics): a Tensor that needs
    no grad, saved and loaded with the parameters in `state_dict()`, never given to an optimizer."""

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        super().__init__(data, requires_grad=False, dtype=dtype, name=name)
