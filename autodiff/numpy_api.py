"""NumPy functions and ufuncs on Tensors: one table from NumPy's name to our op.

`np.tanh(t)`, `np.sum(t, axis=0)`, `np.concatenate([t, u])` reach `Tensor.__array_ufunc__` /
`__array_function__`, which look the NumPy callable up in `NUMPY` and call our op, so the result
is a Tensor that keeps the graph. Anything else raises `TypeError` naming the function, rather
than returning an ndarray that silently drops the graph; so do arguments we do not implement
(`out=`, `dtype=`, `where=`, ...), rather than being ignored.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

import autodiff.linalg as linalg
import autodiff.ops as ops
from autodiff.ops.einsum import numpy_einsum


def _splat(fn: Any) -> Any:
    """NumPy's `f(*arrays)` (atleast_1d …), whose arrays come here as one tuple."""
    return lambda arrays: fn(*arrays)


def _numpy_own(*names: str) -> tuple[None, tuple[str, ...], tuple[str, ...]]:
    """A row whose answer is NumPy's own on the data: booleans and shapes carry no gradient."""
    return None, names, ()


#: NumPy's name → (our op, NumPy's parameters passed to it positionally, those passed by
#: keyword). `"a_min|min"` takes either spelling; a positional one ending in `?` is None when not
#: given. Any other parameter given is refused. A ufunc row passes its inputs positionally and
#: takes no keywords. Our op `None`: NumPy computes it on the data (comparisons, `isfinite`,
#: `shape`: the result has no gradient by nature, as in PyTorch).
NUMPY: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    # ufuncs
    "add": (ops.add, (), ()),
    "subtract": (ops.sub, (), ()),
    "multiply": (ops.mul, (), ()),
    "divide": (ops.div, (), ()),
    "power": (ops.pow, (), ()),
    "matmul": (ops.matmul, (), ()),
    "negative": (ops.neg, (), ()),
    "exp": (ops.exp, (), ()),
    "log": (ops.log, (), ()),
    "sqrt": (ops.sqrt, (), ()),
    "absolute": (ops.abs, (), ()),
    "tanh": (ops.tanh, (), ()),
    "sin": (ops.sin, (), ()),
    "cos": (ops.cos, (), ()),
    "maximum": (ops.maximum, (), ()),
    "minimum": (ops.minimum, (), ()),
    "less": _numpy_own(),
    "less_equal": _numpy_own(),
    "greater": _numpy_own(),
    "greater_equal": _numpy_own(),
    "equal": _numpy_own(),
    "not_equal": _numpy_own(),
    "isfinite": _numpy_own(),
    "isnan": _numpy_own(),
    "isinf": _numpy_own(),
    # functions
    "sum": (ops.sum, ("a",), ("axis", "keepdims")),
    "mean": (ops.mean, ("a",), ("axis", "keepdims")),
    "max": (ops.max, ("a",), ("axis", "keepdims")),
    "amax": (ops.max, ("a",), ("axis", "keepdims")),
    "min": (ops.min, ("a",), ("axis", "keepdims")),
    "amin": (ops.min, ("a",), ("axis", "keepdims")),
    "reshape": (ops.reshape, ("a", "shape"), ()),
    "transpose": (ops.transpose, ("a", "axes?"), ()),
    "broadcast_to": (ops.broadcast_to, ("array",), ("shape",)),
    "concatenate": (ops.concatenate, ("arrays",), ("axis",)),
    "stack": (ops.stack, ("arrays",), ("axis",)),
    "where": (ops.where, ("condition", "x", "y"), ()),
    "clip": (ops.clip, ("a", "a_min|min?", "a_max|max?"), ()),
    "shape": _numpy_own("a"),
    "ndim": _numpy_own("a"),
    "size": _numpy_own("a", "axis?"),
    # shape, indexing, linear algebra (issue 24)
    "pad": (ops.pad, ("array", "pad_width"), ("mode", "constant_values")),
    "einsum": (numpy_einsum, ("operands",), ("optimize",)),
    "flip": (ops.flip, ("m",), ("axis",)),
    "fliplr": (ops.fliplr, ("m",), ()),
    "flipud": (ops.flipud, ("m",), ()),
    "roll": (ops.roll, ("a", "shift"), ("axis",)),
    "tile": (ops.tile, ("A", "reps"), ()),
    "repeat": (ops.repeat, ("a", "repeats"), ("axis",)),
    "squeeze": (ops.squeeze, ("a",), ("axis",)),
    "expand_dims": (ops.expand_dims, ("a", "axis"), ()),
    "ravel": (ops.ravel, ("a",), ()),
    "swapaxes": (ops.swapaxes, ("a", "axis1", "axis2"), ()),
    "moveaxis": (ops.moveaxis, ("a", "source", "destination"), ()),
    "atleast_1d": (_splat(ops.atleast_1d), ("arys",), ()),
    "atleast_2d": (_splat(ops.atleast_2d), ("arys",), ()),
    "atleast_3d": (_splat(ops.atleast_3d), ("arys",), ()),
    "split": (ops.split, ("ary", "indices_or_sections"), ("axis",)),
    "array_split": (ops.array_split, ("ary", "indices_or_sections"), ("axis",)),
    "vstack": (ops.vstack, ("tup",), ()),
    "hstack": (ops.hstack, ("tup",), ()),
    "dstack": (ops.dstack, ("tup",), ()),
    "column_stack": (ops.column_stack, ("tup",), ()),
    "take": (ops.take, ("a", "indices"), ("axis",)),
    "take_along_axis": (ops.take_along_axis, ("arr", "indices"), ("axis",)),
    "tril": (ops.tril, ("m",), ("k",)),
    "triu": (ops.triu, ("m",), ("k",)),
    "diag": (ops.diag, ("v",), ("k",)),
    "diagonal": (ops.diagonal, ("a",), ("offset", "axis1", "axis2")),
    "trace": (ops.trace, ("a",), ("offset", "axis1", "axis2")),
    "sort": (ops.sort, ("a",), ("axis",)),
    "argsort": (ops.argsort, ("a",), ("axis",)),
    "dot": (ops.dot, ("a", "b"), ()),
    "vdot": (ops.vdot, ("a", "b"), ()),
    "inner": (ops.inner, ("a", "b"), ()),
    "outer": (ops.outer, ("a", "b"), ()),
    "tensordot": (ops.tensordot, ("a", "b"), ("axes",)),
    "kron": (ops.kron, ("a", "b"), ()),
    "linalg.inv": (linalg.inv, ("a",), ()),
    "linalg.det": (linalg.det, ("a",), ()),
    "linalg.slogdet": (linalg.slogdet, ("a",), ()),
    "linalg.solve": (linalg.solve, ("a", "b"), ()),
    "linalg.cholesky": (linalg.cholesky, ("a",), ()),
    "linalg.eigh": (linalg.eigh, ("a",), ("UPLO",)),
    "linalg.eigvalsh": (linalg.eigvalsh, ("a",), ("UPLO",)),
    "linalg.svd": (linalg.svd, ("a",), ("full_matrices", "compute_uv")),
    "linalg.svdvals": (linalg.svdvals, ("x",), ()),
    "linalg.qr": (linalg.qr, ("a",), ("mode",)),
    "linalg.pinv": (linalg.pinv, ("a",), ()),
    "linalg.matrix_power": (linalg.matrix_power, ("a", "n"), ()),
    "linalg.multi_dot": (linalg.multi_dot, ("arrays",), ()),
    # elementwise, rounding, reductions and statistics (issue 24, the op surface)
    **{name: (getattr(ops, name), (), ()) for name in (
        "log1p", "expm1", "log2", "log10", "exp2", "logaddexp", "square", "reciprocal", "cbrt", "fabs", "hypot", "tan",
        "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "deg2rad", "rad2deg",
        "sign", "floor", "ceil", "trunc", "rint", "floor_divide", "remainder", "fmod",
    )},
    "radians": (ops.deg2rad, (), ()),
    "degrees": (ops.rad2deg, (), ()),
    "signbit": _numpy_own(),
    "sinc": (ops.sinc, ("x",), ()),
    "fix": (ops.trunc, ("x",), ()),
    "round": (ops.round, ("a",), ("decimals",)),
    "around": (ops.round, ("a",), ("decimals",)),
    "prod": (ops.prod, ("a",), ("axis", "keepdims")),
    "cumsum": (ops.cumsum, ("a",), ("axis",)),
    "cumprod": (ops.cumprod, ("a",), ("axis",)),
    "var": (ops.var, ("a",), ("axis", "ddof", "keepdims", "correction")),
    "std": (ops.std, ("a",), ("axis", "ddof", "keepdims", "correction")),
    "average": (ops.average, ("a",), ("axis", "weights", "returned", "keepdims")),
    "nansum": (ops.nansum, ("a",), ("axis", "keepdims")),
    "nanmean": (ops.nanmean, ("a",), ("axis", "keepdims")),
    "linalg.norm": (linalg.norm, ("x",), ("ord", "axis", "keepdims")),  # ops.norm, and 2, −2, nuc from svd
    "linalg.vector_norm": (ops.vector_norm, ("x",), ("ord", "axis", "keepdims")),
    # no gradient by nature: integer and boolean answers, as NumPy gives them
    "argmax": (ops.argmax, ("a",), ("axis", "keepdims")),
    "argmin": (ops.argmin, ("a",), ("axis", "keepdims")),
    "all": (ops.all, ("a",), ("axis", "keepdims")),
    "any": (ops.any, ("a",), ("axis", "keepdims")),
}

def _numpy_callable(name: str) -> Any:
    """np.<name>, for a dotted name too (linalg.norm)."""
    found: Any = np
    for part in name.split("."):
        found = getattr(found, part)
    return found


_BY_OBJECT = {_numpy_callable(name): (name, row) for name, row in NUMPY.items()}
# ndarray (op) Tensor comes through here: its common case in one lookup.
_UFUNC_OPS = {f: row[0] for f, (_, row) in _BY_OBJECT.items() if isinstance(f, np.ufunc) and row[0] is not None}
_SIGNATURES = {f: inspect.signature(f) for f in _BY_OBJECT if not isinstance(f, np.ufunc)}


def _qualname(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{func.__name__}"


def _refuse(what: str) -> TypeError:
    return TypeError(
        f"{what} is not supported on Tensors: its result would drop the graph (no gradient). Use an autodiff "
        "op, or apply it to t.data (np.asarray(t)) for a constant"
    )


def _data(x: Any) -> Any:
    from autodiff.tensor import Tensor

    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_data(v) for v in x)
    return x


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """`Tensor.__array_ufunc__`: a ufunc called on Tensors, dispatched through `NUMPY`."""
    if not kwargs and method == "__call__":
        ours = _UFUNC_OPS.get(ufunc)
        if ours is not None:
            return ours(*inputs)
    found = _BY_OBJECT.get(ufunc)
    if method != "__call__":
        raise _refuse(f"numpy.{ufunc.__name__}.{method}")
    if found is None:
        raise _refuse(f"numpy.{ufunc.__name__}")
    if kwargs:
        raise TypeError(f"numpy.{ufunc.__name__}: {', '.join(f'{k}=' for k in kwargs)} not supported on Tensors")
    ours = found[1][0]
    if ours is None:  # a comparison or test of values (np.greater, np.isnan): a boolean array, no graph
        from autodiff.grad_mode import state

        if state.tracer is not None:  # inside ad.compile's trace: the mask would be baked into it
            from autodiff.tracing import not_traceable

            not_traceable(f"it compares values (numpy.{ufunc.__name__}), and a replay would reuse the first call's result")
        return ufunc(*(_data(x) for x in inputs))
    return ours(*inputs)


def array_function(func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
    """`Tensor.__array_function__`: a NumPy function called on Tensors, dispatched through `NUMPY`."""
    from autodiff.tensor import Tensor

    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    found = _BY_OBJECT.get(func)
    if found is None:
        raise _refuse(_qualname(func))
    name, (ours, positional, keywords) = found
    try:
        given = dict(_SIGNATURES[func].bind(*args, **kwargs).arguments)
    except TypeError as e:
        raise TypeError(f"numpy.{name}: {e}") from None
    given.update(given.pop("kwargs", {}))  # np.clip's **kwargs
    pos = []
    for spelling in positional:
        names = spelling.rstrip("?").split("|")
        values = [given.pop(s) for s in names if s in given]
        if len(values) > 1:
            raise TypeError(f"numpy.{name}: {' and '.join(names)} both given")
        if not values and not spelling.endswith("?"):
            raise TypeError(f"numpy.{name} needs {names[0]} to be differentiable on Tensors")
        pos.append(values[0] if values else None)
    kw = {k: given.pop(k) for k in keywords if k in given}
    if given:
        raise TypeError(f"numpy.{name}: {', '.join(f'{k}=' for k in given)} not supported on Tensors")
    if ours is None:
        return func(*_data(pos), **kw)
    return ours(*pos, **kw)


#: What a Tensor compares with; anything else is NotImplemented (so `t == None` is False).
_VALUES = (int, float, complex, np.ndarray, np.generic, list, tuple)


def compare(ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """`a < b`, `a == b`, ... for a Tensor `a`: NumPy's comparison of the values, a boolean ndarray
    with no graph (as PyTorch's comparisons, which do not require grad); usable as `where`'s cond."""
    from autodiff.grad_mode import state
    from autodiff.tensor import Tensor

    if state.tracer is not None:  # inside ad.compile's trace: the mask would be baked into it
        from autodiff.tracing import not_traceable

        not_traceable("it compares values (x > 0, say), and a replay would reuse the first call's mask")
    if isinstance(b, Tensor):
        return ufunc(a.data, b.data)
    if isinstance(b, _VALUES):
        return ufunc(a.data, b)
    return NotImplemented
