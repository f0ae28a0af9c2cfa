"""The dtype rules, in one place: what becomes a tensor's array, and how operands are coerced.

- Values are floating point. float64 is the default; float16/32/64 arrays keep their dtype.
- Integer and bool input becomes the default float dtype (or the dtype asked for).
- Python scalars are "weak" (NumPy 2 / NEP 50): `x * 2.0` keeps float32 as float32, and so do
  NumPy scalars such as `np.pi` or `np.sqrt(2)`, which would otherwise upcast.
- Anything else (strings, None, objects, complex numbers, ragged lists) is a `TypeError`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.dtype(np.float64)
_FLOAT_KIND = "f"
_INTEGRAL_KINDS = "biu"
_REAL_KINDS = "biuf"
_NOT_REAL = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects (dtype object)"}


def _describe(data: Any) -> str:
    return type(data).__name__


def float_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype for `dtype`, which must be a floating-point type."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating-point type such as float32, got {dtype!r}") from None
    if dt.kind != _FLOAT_KIND:
        raise TypeError(f"dtype must be a floating-point type such as float32, got {dt}")
    return dt


def source_array(data: Any) -> np.ndarray:
    """The ndarray `data` (number, nested list, ndarray, Tensor) holds, before any dtype conversion.

    Its dtype says what the caller passed (bool, integer, float); `to_array` then makes it float.
    Anything that is not numbers is a `TypeError`.
    """
    from autodiff.tensor import Tensor

    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, numbers.Real) and not isinstance(data, np.generic):
        # A Python number (also 2**70 or a Fraction, which NumPy would make an object array).
        return np.asarray(float(data) if not isinstance(data, (int, float)) or abs(data) > 2**62 else data)
    if isinstance(data, (numbers.Real, np.bool_, list, tuple)):
        try:
            return np.asarray(data)
        except RuntimeError:  # Tensor.__array__: the list holds a Tensor that requires grad
            if not isinstance(data, (list, tuple)):
                raise
            raise TypeError(
                "cannot make a tensor from a list holding Tensors that require grad: a new tensor is a leaf, "
                "so their graph would be dropped. Stack them with ad.stack(...) to keep it, or detach() them"
            ) from None
        except (ValueError, TypeError):
            raise TypeError(
                f"cannot make a tensor from {_describe(data)} {data!r:.60}: "
                "nested lists must be rectangular and hold only numbers"
            ) from None
    raise TypeError(
        f"cannot make a tensor from {_describe(data)}: pass a number, a nested list of "
        "numbers, a numpy.ndarray or a Tensor"
    )


def not_real(dtype: np.dtype) -> str | None:
    """What a dtype holds if it is not real numbers (bool, integer, float): "complex numbers",
    "strings", …; None for a real dtype. The one test of "is this numeric data" there is."""
    if dtype.kind in _REAL_KINDS:
        return None
    return _NOT_REAL.get(dtype.kind, f"values of dtype {dtype}")


def to_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """Convert `data` (number, nested list, ndarray, Tensor) to a floating-point ndarray.

    With `copy=True` the result never shares memory with `data`, so later in-place changes to
    the caller's array (or the optimizer's to ours) cannot leak across.
    """
    arr = source_array(data)
    kind = arr.dtype.kind
    if kind == _FLOAT_KIND:
        target = arr.dtype if dtype is None else float_dtype(dtype)
    elif kind in _INTEGRAL_KINDS:
        target = DEFAULT_DTYPE if dtype is None else float_dtype(dtype)
    else:
        raise TypeError(f"tensors hold real floating-point values, not {not_real(arr.dtype)}")
    return np.array(arr, dtype=target, copy=True if copy else None)


def coerce_operand(x: Any, dtype: np.dtype) -> Any:
    """Make a non-Tensor operand of an op ready for NumPy next to a tensor of `dtype`.

    Python and NumPy scalars become Python floats (weak, so they never upcast); integer or bool
    arrays and lists take the tensor's dtype; float arrays keep theirs, as in NumPy.
    """
    if isinstance(x, (numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        return float(x)
    if isinstance(x, np.ndarray) and x.dtype.kind == _FLOAT_KIND:
        return x
    return to_array(x, dtype, copy=False)
