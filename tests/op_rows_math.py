"""Op-table rows for the elementwise, rounding, reduction and statistics ops of issue 24 (the op
surface): appended to tests/op_table.ROWS, so every property test in test_ops.py, the where-safety
sweep and the higher-order checks cover them.

Domains keep central differences honest: away from poles (log, reciprocal, arctanh), branch ends
(arcsin, arccosh) and the jumps of the piecewise-constant ops (grids offset from the integers).
Reductions draw zero-size axes and negative axes; prod and cumprod draw zeros, often several."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from tests.op_table import MAX_SIDE, Row, array, elementwise, grid, reals, signed

UNIT = reals()
POSITIVE = reals(0.1, 3.0)
AWAY_FROM_ZERO = signed(0.1, 3.0)
# k/4 + 0.1: never an integer nor a half, so floor, ceil, round, trunc and rint stay off their jumps
OFF_THE_JUMPS = grid(-3, 3, 0.25, 0.1)
WITH_ZEROS = grid(-2, 2, 0.5)  # 0 is a likely draw, often more than once in a slice


def reduce_cases(domain, min_side=0, unique=False, **extra):
    """One input (zero-size axes allowed), an axis (None, an int or a tuple, negatives too) and keepdims;
    each of `extra`'s static arguments sampled from its choices."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=0, max_dims=3, min_side=min_side, max_side=MAX_SIDE))
            x = d(array(shape, dtype, domain, unique=unique))
            ndim = len(shape)
            axis = d(st.one_of(st.none(), st.integers(-ndim, ndim - 1) if ndim else st.none(), hnp.valid_tuple_axes(ndim)))
            return [x], {"axis": axis, "keepdims": d(st.booleans()), **{k: d(st.sampled_from(v)) for k, v in extra.items()}}

        return draw()

    return cases


def running_cases(domain):
    """One input (zero-size axes allowed) and the axis of a running total: None (flattened) or an int."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=MAX_SIDE))
            ndim = len(shape)
            axis = d(st.one_of(st.none(), st.integers(-ndim, ndim - 1) if ndim else st.none()))
            return [d(array(shape, dtype, domain))], {"axis": axis}

        return draw()

    return cases


def var_cases(dtype):
    @st.composite
    def draw(d):
        [x], static = d(reduce_cases(UNIT, min_side=1)(dtype))
        axis = static["axis"]
        axes = range(x.ndim) if axis is None else [a % x.ndim for a in np.atleast_1d(axis)]
        n = int(np.prod([x.shape[a] for a in axes]))
        static["ddof"] = d(st.sampled_from([0, 1])) if n > 1 else 0
        return [x], static

    return draw()


def norm_cases(dtype):
    # |x| never ties (the offset grid holds no x and −x both) and is never 0, so ∞-norms have one winner
    @st.composite
    def draw(d):
        [x], static = d(reduce_cases(grid(-3, 3, 0.0625, 0.03), min_side=1, unique=True)(dtype))
        static["ord"] = d(st.sampled_from([2, 1, 3, 0.5, np.inf, -np.inf, 0]))
        return [x], static

    return draw()


def round_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=0, max_dims=3, max_side=MAX_SIDE))
        # k/4 + 0.02 sits off the jumps at both 0 and 1 decimals (x.5 and x.x5)
        return [d(array(shape, dtype, grid(-3, 3, 0.25, 0.02)))], {"decimals": d(st.sampled_from([0, 1]))}

    return draw()


def _np_vector_norm(x, ord, axis, keepdims):
    return np.linalg.vector_norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _np_var(x, axis, keepdims, ddof):
    return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


def _unary(name, domain, ref=None):
    fn = getattr(ad, name)
    return Row(name, fn, ref or getattr(np, name), elementwise(domain), method=lambda x: getattr(x, name)())


def _binary(name, a, b, ref=None, method=None):
    fn = getattr(ad, name)
    return Row(name, fn, ref or getattr(np, name), elementwise(a, b), method=method or (lambda x, y: getattr(x, name)(y)))


MATH_ROWS = [
    # logarithms and exponentials
    _unary("log1p", reals(-0.5, 3.0)),
    _unary("expm1", UNIT),
    _unary("log2", POSITIVE),
    _unary("log10", POSITIVE),
    _unary("exp2", UNIT),
    _binary("logaddexp", UNIT, UNIT),
    # powers and magnitudes
    _unary("square", UNIT),
    _unary("reciprocal", signed(0.5, 3.0)),
    _unary("cbrt", signed(0.2, 3.0)),
    Row("fabs", ad.fabs, np.fabs, elementwise(AWAY_FROM_ZERO)),
    _binary("hypot", signed(0.2, 3.0), signed(0.2, 3.0)),
    # trigonometric and hyperbolic
    _unary("tan", reals(-1.2, 1.2)),
    _unary("arcsin", reals(-0.9, 0.9)),
    _unary("arccos", reals(-0.9, 0.9)),
    _unary("arctan", UNIT),
    _binary("arctan2", signed(0.2, 3.0), signed(0.2, 3.0)),
    _unary("sinh", UNIT),
    _unary("cosh", UNIT),
    _unary("arcsinh", UNIT),
    _unary("arccosh", reals(1.2, 4.0)),
    _unary("arctanh", reals(-0.9, 0.9)),
    _unary("sinc", st.one_of(UNIT, reals(-1e-3, 1e-3), st.just(0.0))),
    _unary("deg2rad", reals(-200.0, 200.0)),
    _unary("rad2deg", UNIT),
    # piecewise constant (slope 0) and the remainders
    _unary("sign", AWAY_FROM_ZERO),
    _unary("floor", OFF_THE_JUMPS),
    _unary("ceil", OFF_THE_JUMPS),
    _unary("trunc", OFF_THE_JUMPS),
    _unary("rint", OFF_THE_JUMPS),
    Row("round", ad.round, lambda x, decimals: np.round(x, decimals), round_cases,
        method=lambda x, decimals: x.round(decimals)),
    _binary("floor_divide", OFF_THE_JUMPS, grid(-3, 3, 1.0, 0.5), method=lambda a, b: a // b),
    _binary("remainder", OFF_THE_JUMPS, grid(-3, 3, 1.0, 0.5), method=lambda a, b: a % b),
    _binary("fmod", OFF_THE_JUMPS, grid(-3, 3, 1.0, 0.5)),
    # reductions and statistics
    Row("prod", ad.prod, np.prod, reduce_cases(WITH_ZEROS), method=lambda x, axis, keepdims: x.prod(axis, keepdims)),
    Row("cumsum", ad.cumsum, np.cumsum, running_cases(UNIT), method=lambda x, axis: x.cumsum(axis)),
    Row("cumprod", ad.cumprod, np.cumprod, running_cases(WITH_ZEROS), method=lambda x, axis: x.cumprod(axis)),
    Row("var", ad.var, _np_var, var_cases, method=lambda x, axis, keepdims, ddof: x.var(axis, ddof, keepdims)),
    Row("vector_norm", ad.vector_norm, _np_vector_norm, norm_cases),
    Row("nansum", ad.nansum, np.nansum, reduce_cases(UNIT), method=lambda x, axis, keepdims: x.nansum(axis, keepdims)),
    Row("nanmean", ad.nanmean, np.nanmean, reduce_cases(UNIT, min_side=1),
        method=lambda x, axis, keepdims: x.nanmean(axis, keepdims)),
]

#: PyTorch's name for each row's op, where PyTorch has it (for the float64 cross-check).
TORCH = {
    "log1p": "log1p", "expm1": "expm1", "log2": "log2", "log10": "log10", "exp2": "exp2", "logaddexp": "logaddexp",
    "square": "square", "reciprocal": "reciprocal", "hypot": "hypot", "tan": "tan", "arcsin": "asin",
    "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "sinh": "sinh", "cosh": "cosh", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "sinc": "sinc", "deg2rad": "deg2rad", "rad2deg": "rad2deg",
    "sign": "sign", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "round": "round",
    "remainder": "remainder", "fmod": "fmod", "floor_divide": "floor_divide", "fabs": "abs",
}

#: NumPy entries whose op is composed (no single op of its own, so no op-table row) or answers without a
#: gradient, or whose name is dotted: their NumPy spelling is tested in tests/test_ops_math.py.
MATH_SPELLINGS = {"std", "average", "linalg.norm", "linalg.vector_norm", "argmax", "argmin", "all", "any"}
