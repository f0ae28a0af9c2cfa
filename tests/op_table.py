"""The op table: one row per public op, driving every property test in test_ops.py.

A row names the op, says how to call ours and NumPy's reference, and draws test cases (input
arrays and static arguments) from a value domain away from kinks and poles, so that central
differences are trustworthy. Adding an op is three steps: the op, its Tensor method, its row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad

MAX_SIDE = 4


@dataclass(frozen=True)
class Row:
    name: str
    ours: Callable[..., Any]  # (*tensors, **static) -> Tensor
    ref: Callable[..., Any]  # (*arrays, **static) -> ndarray
    cases: Callable[[Any], st.SearchStrategy]  # dtype -> strategy of (arrays, static kwargs)
    method: Callable[..., Any] | None = None  # the same op as a Tensor method or operator
    differentiable: tuple[int, ...] | None = None  # inputs to gradcheck (default: all)
    tol: dict = field(default_factory=dict)


# ------------------------------------------------------------------ value domains
def grid(lo: float, hi: float, step: float = 0.125, offset: float = 0.0):
    """Values k·step + offset in [lo, hi]: distinct grids never tie, and stay off kinks."""
    ks = range(int(np.ceil((lo - offset) / step)), int(np.floor((hi - offset) / step)) + 1)
    return st.sampled_from([k * step + offset for k in ks])


def reals(lo: float = -3.0, hi: float = 3.0):
    """Floats in [lo, hi], rounded to float32 so the same draws serve float32 and float64 arrays."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda v: float(np.float32(v)))


def signed(lo: float, hi: float):
    """Magnitudes in [lo, hi] with either sign: away from zero."""
    return st.tuples(reals(lo, hi), st.sampled_from([-1.0, 1.0])).map(lambda p: p[0] * p[1])


def array(shape, dtype, elements, unique=False):
    return hnp.arrays(dtype=dtype, shape=shape, elements=elements, unique=unique)


# ------------------------------------------------------------------ case strategies
def elementwise(*domains, min_dims=0):
    """Inputs of mutually broadcastable shapes, input i drawn from domains[i]."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shapes = d(
                hnp.mutually_broadcastable_shapes(
                    num_shapes=len(domains), min_dims=min_dims, max_dims=3, max_side=MAX_SIDE
                )
            ).input_shapes
            return [d(array(s, dtype, dom)) for s, dom in zip(shapes, domains)], {}

        return draw()

    return cases


def with_axis(domain, unique=False, single_axis=False):
    """One input of any shape and an axis (None, int or tuple; one int if `single_axis`) with keepdims."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=1 if single_axis else 0, max_dims=3, max_side=MAX_SIDE))
            x = d(array(shape, dtype, domain, unique=unique))
            ndim = len(shape)
            if single_axis:
                return [x], {"axis": d(st.integers(-ndim, ndim - 1))}
            axis = d(
                st.one_of(
                    st.none(),
                    st.integers(-ndim, ndim - 1) if ndim else st.none(),
                    hnp.valid_tuple_axes(ndim),
                )
            )
            return [x], {"axis": axis, "keepdims": d(st.booleans())}

        return draw()

    return cases


def matmul_cases(dtype):
    @st.composite
    def draw(d):
        m, k, n = (d(st.integers(1, MAX_SIDE)) for _ in range(3))
        batch_a, batch_b = d(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
        kind = d(st.sampled_from(["vv", "mv", "vm", "mm", "batched"]))
        a_shape = {"vv": (k,), "mv": (m, k), "vm": (k,), "mm": (m, k), "batched": (*batch_a, m, k)}[kind]
        b_shape = {"vv": (k,), "mv": (k,), "vm": (k, n), "mm": (k, n), "batched": (*batch_b, k, n)}[kind]
        return [d(array(a_shape, dtype, reals())), d(array(b_shape, dtype, reals()))], {}

    return draw()


def reshape_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
        size = int(np.prod(shape))
        target = d(st.sampled_from([(-1,), (1, -1), tuple(reversed(shape)), (size, 1), (size,)]))
        return [d(array(shape, dtype, reals()))], {"shape": target}

    return draw()


def transpose_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3))
        axes = d(st.one_of(st.just(None), st.permutations(range(len(shape))).map(tuple)))
        return [d(array(shape, dtype, reals()))], {"axes": axes}

    return draw()


def getitem_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=1, max_dims=3, max_side=MAX_SIDE))
        kind = d(st.sampled_from(["basic", "integer", "mask"]))
        if kind == "basic":
            index = d(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
        elif kind == "integer":
            # Repeated indices are likely here: their gradients must add up.
            index = d(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=5)))
        else:
            index = d(hnp.arrays(bool, shape))
        return [d(array(shape, dtype, reals()))], {"index": index}

    return draw()


def join_cases(stack: bool):
    def cases(dtype):
        @st.composite
        def draw(d):
            shape = list(d(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)))
            count = d(st.integers(1, 3))
            if stack:
                axis = d(st.integers(-len(shape) - 1, len(shape)))
                shapes = [shape] * count
            else:
                axis = d(st.integers(-len(shape), len(shape) - 1))
                k = axis % len(shape)
                shapes = [[*shape[:k], d(st.integers(1, 3)), *shape[k + 1:]] for _ in range(count)]
            return [d(array(tuple(s), dtype, reals())) for s in shapes], {"axis": axis}

        return draw()

    return cases


def where_cases(dtype):
    @st.composite
    def draw(d):
        sc, sa, sb = d(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=MAX_SIDE)).input_shapes
        cond = d(hnp.arrays(bool, sc))
        return [d(array(sa, dtype, reals())), d(array(sb, dtype, reals()))], {"cond": cond}

    return draw()


def clip_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
        bounds = d(st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None)]))
        # On a grid offset from every bound, so no element sits on a kink.
        return [d(array(shape, dtype, grid(-2.5, 2.5, 0.25, 0.1)))], {"lo": bounds[0], "hi": bounds[1]}

    return draw()


def with_static(domain, **choices):
    """One input of any shape from `domain`, and each static argument sampled from its choices."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
            return [d(array(shape, dtype, domain))], {k: d(st.sampled_from(v)) for k, v in choices.items()}

        return draw()

    return cases


def _np_erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def _np_softplus(x, beta, threshold):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(np.minimum(beta * x, threshold))) / beta)


def _np_gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return x * 0.5 * (1 + _np_erf(x / math.sqrt(2)))


def broadcast_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
        other = d(hnp.broadcastable_shapes(shape, max_dims=4, max_side=MAX_SIDE))
        return [d(array(shape, dtype, reals()))], {"shape": np.broadcast_shapes(shape, other)}

    return draw()


def scatter_cases(dtype):
    @st.composite
    def draw(d):
        [x], static = d(getitem_cases(dtype))
        index = static["index"]
        g = d(array(x[index].shape, dtype, reals()))
        return [g], {"shape": x.shape, "index": index, "repeats": True}

    return draw()


def _np_scatter(g, shape, index, repeats):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def astype_cases(dtype):
    # To the same dtype, so the float32 and float64 runs each keep theirs; float32 ↔ float64 is
    # tested on its own in test_ops.py.
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE), elements=reals()).map(
        lambda x: ([x], {"dtype": dtype})
    )


def _concat(*xs, axis):
    return ad.concatenate(list(xs), axis=axis)


def _stack(*xs, axis):
    return ad.stack(list(xs), axis=axis)


def _transpose_method(x, axes):
    return x.transpose(*(axes or ()))


def _reshape_method(x, shape):
    return x.reshape(*shape)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True) if x.size else 0
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))


def _np_getitem(x, index):
    return x[index]


UNIT = reals()
POSITIVE = reals(0.1, 3.0)
AWAY_FROM_ZERO = signed(0.1, 3.0)

ROWS = [
    # arithmetic
    Row("add", ad.add, np.add, elementwise(UNIT, UNIT), method=lambda a, b: a + b),
    Row("sub", ad.sub, np.subtract, elementwise(UNIT, UNIT), method=lambda a, b: a - b),
    Row("mul", ad.mul, np.multiply, elementwise(UNIT, UNIT), method=lambda a, b: a * b),
    Row("div", ad.div, np.divide, elementwise(UNIT, signed(0.5, 3.0)), method=lambda a, b: a / b),
    Row("pow", ad.pow, np.power, elementwise(reals(0.2, 2.0), reals(-2.0, 2.0)), method=lambda a, b: a**b),
    Row("neg", ad.neg, np.negative, elementwise(UNIT), method=lambda a: -a),
    Row("matmul", ad.matmul, np.matmul, matmul_cases, method=lambda a, b: a @ b),
    # elementwise
    Row("exp", ad.exp, np.exp, elementwise(UNIT), method=lambda x: x.exp()),
    Row("log", ad.log, np.log, elementwise(POSITIVE), method=lambda x: x.log()),
    Row("sqrt", ad.sqrt, np.sqrt, elementwise(POSITIVE), method=lambda x: x.sqrt()),
    Row("abs", ad.abs, np.abs, elementwise(AWAY_FROM_ZERO), method=lambda x: x.abs()),
    Row("tanh", ad.tanh, np.tanh, elementwise(UNIT), method=lambda x: x.tanh()),
    Row("sigmoid", ad.sigmoid, lambda x: 1 / (1 + np.exp(-x)), elementwise(reals(-8, 8)), method=lambda x: x.sigmoid()),
    Row("relu", ad.relu, lambda x: np.maximum(x, 0), elementwise(AWAY_FROM_ZERO), method=lambda x: x.relu()),
    Row("sin", ad.sin, np.sin, elementwise(UNIT), method=lambda x: x.sin()),
    Row("cos", ad.cos, np.cos, elementwise(UNIT), method=lambda x: x.cos()),
    Row("clip", ad.clip, lambda x, lo, hi: np.clip(x, lo, hi), clip_cases, method=lambda x, lo, hi: x.clip(lo, hi)),
    Row("maximum", ad.maximum, np.maximum, elementwise(grid(-3, 3), grid(-3, 3, offset=0.0625))),
    Row("minimum", ad.minimum, np.minimum, elementwise(grid(-3, 3), grid(-3, 3, offset=0.0625))),
    Row("erf", ad.erf, _np_erf, elementwise(UNIT), method=lambda x: x.erf()),
    # a grid offset from 0, so no element sits on the kink; softplus's threshold kink at βx = 1.5 likewise
    Row("leaky_relu", ad.leaky_relu, lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
        with_static(grid(-3, 3, 0.25, 0.1), negative_slope=[0.01, 0.2, -0.5]),
        method=lambda x, negative_slope: x.leaky_relu(negative_slope)),
    Row("softplus", ad.softplus, _np_softplus, with_static(grid(-3, 3, 0.25, 0.1), beta=[1.0, 2.0], threshold=[20.0, 1.5]),
        method=lambda x, beta, threshold: x.softplus(beta, threshold)),
    Row("gelu", ad.gelu, _np_gelu, with_static(UNIT, approximate=["none", "tanh"]),
        method=lambda x, approximate: x.gelu(approximate)),
    # reductions
    Row("sum", ad.sum, np.sum, with_axis(UNIT), method=lambda x, axis, keepdims: x.sum(axis, keepdims)),
    Row("mean", ad.mean, np.mean, with_axis(UNIT), method=lambda x, axis, keepdims: x.mean(axis, keepdims)),
    Row("max", ad.max, np.max, with_axis(grid(-3, 3, 0.0625), unique=True), method=lambda x, axis, keepdims: x.max(axis, keepdims)),
    Row("min", ad.min, np.min, with_axis(grid(-3, 3, 0.0625), unique=True), method=lambda x, axis, keepdims: x.min(axis, keepdims)),
    Row("logsumexp", ad.logsumexp, _np_logsumexp, with_axis(UNIT),
        method=lambda x, axis, keepdims: x.logsumexp(axis, keepdims)),
    # shape
    Row("reshape", lambda x, shape: ad.reshape(x, shape), lambda x, shape: np.reshape(x, shape), reshape_cases,
        method=_reshape_method),
    Row("transpose", lambda x, axes: ad.transpose(x, *(axes or ())), np.transpose, transpose_cases,
        method=_transpose_method),
    Row("getitem", ad.getitem, _np_getitem, getitem_cases, method=lambda x, index: x[index]),
    Row("broadcast_to", ad.broadcast_to, np.broadcast_to, broadcast_cases),
    Row("astype", ad.astype, lambda x, dtype: x.astype(dtype), astype_cases, method=lambda x, dtype: x.astype(dtype)),
    Row("scatter", ad.scatter, _np_scatter, scatter_cases),
    Row("concatenate", _concat, lambda *xs, axis: np.concatenate(xs, axis=axis), join_cases(stack=False)),
    Row("stack", _stack, lambda *xs, axis: np.stack(xs, axis=axis), join_cases(stack=True)),
    Row("where", lambda a, b, cond: ad.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b), where_cases),
    # neural
    Row("softmax", ad.softmax, _np_softmax, with_axis(UNIT, single_axis=True), method=lambda x, axis: x.softmax(axis)),
    Row("log_softmax", ad.log_softmax, lambda x, axis: np.log(_np_softmax(x, axis)),
        with_axis(UNIT, single_axis=True), method=lambda x, axis: x.log_softmax(axis)),
]


# shape, indexing and linear algebra (issue 24): their own file, appended here
from tests.op_rows_shape import NOT_PER_ELEMENT, NUMPY_SPELLINGS, SHAPE_ROWS  # noqa: E402, F401 (for the tests)

ROWS += SHAPE_ROWS

# elementwise, rounding, reductions and statistics (issue 24, the op surface): their own file, appended here
from tests.op_rows_math import MATH_ROWS  # noqa: E402

ROWS += MATH_ROWS

BY_NAME = {row.name: row for row in ROWS}
