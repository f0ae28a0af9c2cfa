"""Making tensors: NumPy's and PyTorch's constructors, each with `dtype=` and `requires_grad=`.

Shapes are given as NumPy and PyTorch accept them: `zeros(2, 3)`, `zeros((2, 3))`, `zeros([2, 3])`
or `zeros(size=(2, 3))`. Values are floating point (float64 unless `dtype` says otherwise); the
integer constructors (`randint`, and `arange` of integers with no `dtype`) give tensors that
remember they hold integers, so they index as PyTorch's long tensors do. Random tensors draw
from `rng` if given, else from the engine's generator, which `ad.manual_seed(n)` resets.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from autodiff.dtypes import DEFAULT_DTYPE, float_dtype
from autodiff.random import default_rng
from autodiff.tensor import Tensor, _const
from autodiff.tracing import not_traceable

__all__ = [
    "arange", "empty", "eye", "full", "full_like", "linspace", "ones", "ones_like", "rand", "randint", "randn",
    "zeros", "zeros_like",
]


def _shape(name: str, shape: tuple, size: Any = None) -> tuple[int, ...]:
    """The shape from `f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(size=(2, 3))`, checked."""
    if size is not None:
        if shape:
            raise TypeError(f"{name}: give the shape positionally or as size=, not both")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if len(shape) == 1 and isinstance(shape[0], np.ndarray) and shape[0].ndim == 1:
        shape = tuple(shape[0].tolist())
    dims = []
    for n in shape:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"{name}: a shape holds integers, got {n!r} in {shape!r}")
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"{name}: negative dimension {n} in shape {shape!r}")
        dims.append(n)
    return tuple(dims)


def _dtype(dtype: Any, like: Any = None) -> np.dtype:
    if dtype is not None:
        return float_dtype(dtype)
    if like is not None and like.dtype.kind == "f":
        return like.dtype
    return DEFAULT_DTYPE


def _leaf(data: np.ndarray, requires_grad: bool, integers: bool = False) -> Tensor:
    # `data` is ours (just made), so it is taken without a copy.
    t = _const(data)
    t.requires_grad = bool(requires_grad)
    if integers:
        t._index_kind = "i"
    return t


def _array_of(x: Any, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{name}: expected a Tensor or an ndarray, got {type(x).__name__}")


def zeros(*shape: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`."""
    return _leaf(np.zeros(_shape("zeros", shape, size), _dtype(dtype)), requires_grad)


def ones(*shape: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`."""
    return _leaf(np.ones(_shape("ones", shape, size), _dtype(dtype)), requires_grad)


def empty(*shape: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever the memory held (fill it before reading it)."""
    return _leaf(np.empty(_shape("empty", shape, size), _dtype(dtype)), requires_grad)


def full(shape: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` holding `fill_value` everywhere."""
    shape = _shape("full", (shape,) if not isinstance(shape, (tuple, list)) else (tuple(shape),))
    return _leaf(np.full(shape, _fill(fill_value, "full"), _dtype(dtype)), requires_grad)


def _fill(value: Any, name: str) -> float:
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"{name}: fill_value must be one number, got a tensor of shape {value.shape}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: fill_value must be a real number, got {type(value).__name__}")
    return float(value)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of `x`'s shape and (floating) dtype."""
    a = _array_of(x, "zeros_like")
    return _leaf(np.zeros(a.shape, _dtype(dtype, a)), requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of `x`'s shape and (floating) dtype."""
    a = _array_of(x, "ones_like")
    return _leaf(np.ones(a.shape, _dtype(dtype, a)), requires_grad)


def full_like(x: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """`fill_value` everywhere, in `x`'s shape and (floating) dtype."""
    a = _array_of(x, "full_like")
    return _leaf(np.full(a.shape, _fill(fill_value, "full_like"), _dtype(dtype, a)), requires_grad)


def _number(value: Any, name: str, what: str) -> Any:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: {what} must be a real number, got {type(value).__name__} {value!r:.40}")
    return value


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop) (`arange(n)`: 0, 1, …, n − 1).

    All-integer arguments and no `dtype` give a tensor that indexes as integers (PyTorch's long)."""
    if stop is None:
        start, stop = 0, start
    for what, v in (("start", start), ("stop", stop), ("step", step)):
        _number(v, "arange", what)
    if step == 0:
        raise ValueError("arange: step must not be zero")
    integers = dtype is None and all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    data = np.arange(start, stop, step)
    return _leaf(data.astype(_dtype(dtype), copy=False), requires_grad, integers)


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True, dtype: Any = None,
             requires_grad: bool = False, *, steps: int | None = None) -> Tensor:
    """`num` evenly spaced values from start to stop (inclusive unless `endpoint=False`);
    PyTorch's `steps=` is `num`."""
    if steps is not None:
        num = steps
    _number(start, "linspace", "start")
    _number(stop, "linspace", "stop")
    if isinstance(num, bool) or not hasattr(num, "__index__") or operator.index(num) < 0:
        raise ValueError(f"linspace: num must be a non-negative integer, got {num!r}")
    return _leaf(np.linspace(start, stop, operator.index(num), endpoint=endpoint, dtype=_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The n × m identity (ones on diagonal `k`)."""
    n, m = _shape("eye", (n, n if m is None else m))
    return _leaf(np.eye(n, m, operator.index(k), dtype=_dtype(dtype)), requires_grad)


_FRESH = "it draws random values inside the function (ad.rand, randn, randint): a replay would repeat the first draw"


def _random(draw: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    not_traceable(_FRESH)
    # The generator draws float32 and float64 natively; other floats are drawn in float64.
    if dtype in (np.float32, np.float64):
        return draw(shape, dtype=dtype)
    return draw(shape).astype(dtype)


def rand(*shape: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
         rng: np.random.Generator | None = None) -> Tensor:
    """Uniform random values in [0, 1)."""
    rng = rng or default_rng()
    return _leaf(_random(rng.random, _shape("rand", shape, size), _dtype(dtype)), requires_grad)


def randn(*shape: Any, size: Any = None, dtype: Any = None, requires_grad: bool = False,
          rng: np.random.Generator | None = None) -> Tensor:
    """Standard normal random values (mean 0, variance 1)."""
    rng = rng or default_rng()
    return _leaf(_random(rng.standard_normal, _shape("randn", shape, size), _dtype(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None, requires_grad: bool = False,
            rng: np.random.Generator | None = None) -> Tensor:
    """Random integers in [low, high) (`randint(high, size)` draws from [0, high)), as PyTorch's.

    The values are floats (of `dtype`) in a tensor that indexes as integers. PyTorch's
    `randint(high, size)` form is taken when the second argument is a shape."""
    if isinstance(high, (tuple, list)):  # randint(10, (3,)): PyTorch's order
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    for what, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"randint: {what} must be an integer, got {v!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    not_traceable(_FRESH)
    rng = rng or default_rng()
    data = rng.integers(low, high, _shape("randint", (size,) if not isinstance(size, (tuple, list)) else (tuple(size),)))
    return _leaf(data.astype(_dtype(dtype)), requires_grad, integers=True)
