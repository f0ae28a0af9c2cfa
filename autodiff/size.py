"""`Tensor.size`: the number of elements, an int as NumPy's `a.size` is, that says so when called.

PyTorch users type `t.size()` (the shape, in PyTorch); here, as in NumPy, `size` is an attribute,
so calling it raises a TypeError naming `.size` and `.shape` instead of "'int' object is not callable".
"""

from __future__ import annotations

from typing import Any


class Size(int):
    """An int (the element count) whose call explains the NumPy convention.

    >>> import autodiff as ad
    >>> t = ad.zeros((2, 3))
    >>> t.size, t.shape
    (6, (2, 3))
    >>> t.size()
    Traceback (most recent call last):
    ...
    TypeError: Tensor.size is an attribute, not a method, as NumPy's a.size is: ... use t.shape, and t.shape[d] for t.size(d)
    """

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Tensor.size is an attribute, not a method, as NumPy's a.size is: the number of elements, {int(self)}. "
                        "For PyTorch's t.size() use t.shape, and t.shape[d] for t.size(d)")

    def __repr__(self) -> str:
        return int.__repr__(self)
