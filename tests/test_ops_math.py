"""The elementwise, rounding, reduction and statistics ops of issue 24, beyond their op-table rows
(tests/op_rows_math.py drives the property tests): PyTorch float64 cross-checks of values and
gradients, the exact gradients of products with zeros, the composed ops (std, average, norm), the
answers without a gradient (argmax, all …), NaN-aware reductions, the operators, and the defects
fixed on the way, each with the case that failed before."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import tests.op_table  # noqa: F401  (first: it gathers the row files, which import it back)
from autodiff.testing import gradcheck, gradgradcheck
from tests.op_rows_math import MATH_ROWS, MATH_SPELLINGS, TORCH
from tests.op_table import BY_NAME


def _torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------- PyTorch float64 cross-checks
def _torch_call(name, xs, static):
    t = _torch()
    if name in TORCH:
        fn = getattr(t, TORCH[name])
        return fn(*xs, **static)
    axis, keepdims = static.get("axis"), static.get("keepdims", False)
    if axis == ():  # NumPy reduces over no axis (the identity), PyTorch's dim=() over all of them
        return None
    dims = {} if axis is None else {"dim": axis}
    x = xs[0]
    if name == "prod":
        return x.prod() if axis is None else x.prod(**dims, keepdim=keepdims) if isinstance(axis, int) else None
    if name in ("cumsum", "cumprod"):
        return getattr(t, name)(x.reshape(-1) if axis is None else x, dim=0 if axis is None else axis)
    if name == "var":
        return t.var(x, **dims, correction=static["ddof"], keepdim=keepdims)
    if name == "vector_norm":
        return t.linalg.vector_norm(x, ord=static["ord"], **dims, keepdim=keepdims)
    if name in ("nansum", "nanmean"):
        return getattr(t, name)(x, **dims, keepdim=keepdims) if axis is not None else getattr(t, name)(x)
    raise KeyError(name)


TORCH_ROWS = [r for r in MATH_ROWS if r.name in TORCH or r.name in
              ("prod", "cumsum", "cumprod", "var", "vector_norm", "nansum", "nanmean")]
NO_TORCH_GRADIENT = {"floor_divide"}  # PyTorch does not differentiate it; ours is 0, as for floor


@pytest.mark.parametrize("row", TORCH_ROWS, ids=[r.name for r in TORCH_ROWS])
@settings(max_examples=10)
@given(data=st.data())
def test_values_and_gradients_match_pytorch_float64(row, data):
    t = _torch()
    arrays, static = data.draw(row.cases(np.float64))
    theirs_in = [t.tensor(a, dtype=t.float64, requires_grad=True) for a in arrays]
    theirs = _torch_call(row.name, theirs_in, static)
    if theirs is None:  # no PyTorch spelling: prod over several dims, a reduction over axis=()
        return
    ours_in = [ad.Tensor(a, requires_grad=True) for a in arrays]
    ours = row.ours(*ours_in, **static)
    if tuple(theirs.shape) != ours.shape:  # a full reduction with keepdims: PyTorch's has no keepdim
        theirs = theirs.reshape(ours.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    if row.name in NO_TORCH_GRADIENT or not ours.size:
        return
    w = data.draw(st.integers(0, 2**16).map(lambda s: np.random.default_rng(s).uniform(-1, 1, ours.shape)))
    ours_grads = ad.grad(ours, ours_in, w)
    theirs_grads = t.autograd.grad(theirs, theirs_in, t.tensor(w), allow_unused=True)
    for a, b in zip(ours_grads, theirs_grads):
        expected = np.zeros_like(a.data) if b is None else b.numpy()
        # sinc: PyTorch computes (cos πx − sinc x) / x as it stands, which cancels near 0; ours uses its series
        tol = {"rtol": 1e-7, "atol": 1e-9} if row.name == "sinc" else {"rtol": 1e-9, "atol": 1e-12}
        np.testing.assert_allclose(a.data, expected, **tol)


# ---------------------------------------------------------------------- products with zeros
@pytest.mark.parametrize("x, expected", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),  # one zero: its slope is the product of the others
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: every slope holds a zero
    ([0.0], [1.0]),
])
def test_prod_gradient_is_exact_with_zeros(x, expected):
    t = ad.Tensor(x, requires_grad=True)
    t.prod().backward()
    np.testing.assert_array_equal(t.grad, expected)
    tt = _torch().tensor(x, dtype=_torch().float64, requires_grad=True)
    tt.prod().backward()
    np.testing.assert_array_equal(tt.grad.numpy(), expected)


def test_prod_second_derivatives_with_zeros():
    x = ad.Tensor([[0.0, 2.0, 0.0], [1.5, 0.0, -1.0]], requires_grad=True)
    for axis in (None, 0, 1, (0, 1)):
        assert gradgradcheck(lambda t, axis=axis: ad.prod(t, axis=axis), x)
    assert gradgradcheck(lambda t: ad.cumprod(t, axis=1), x)


def test_cumprod_gradient_with_zeros_matches_pytorch():
    t = _torch()
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.0, -2.0, 0.0, 4.0, 0.5], [1.0, 2.0, 3.0, 4.0, 0.0]])
    w = np.random.default_rng(0).uniform(-1, 1, x.shape)
    ours = ad.Tensor(x, requires_grad=True)
    ad.cumprod(ours, axis=1).backward(w)
    theirs = t.tensor(x, requires_grad=True)
    t.cumprod(theirs, dim=1).backward(t.tensor(w))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda v: ad.cumprod(v, axis=1), ad.Tensor(x, requires_grad=True))


# ---------------------------------------------------------------------- statistics
def test_var_and_std_take_ddof_and_correction():
    x = np.random.default_rng(1).normal(size=(3, 4))
    t = ad.Tensor(x, requires_grad=True)
    for kw, ddof in (({}, 0), ({"ddof": 1}, 1), ({"correction": 1}, 1), ({"correction": 0}, 0)):
        np.testing.assert_allclose(ad.var(t, axis=1, **kw).data, np.var(x, axis=1, ddof=ddof))
        np.testing.assert_allclose(t.std(dim=0, **kw).data, np.std(x, axis=0, ddof=ddof))
        assert gradcheck(lambda v, kw=kw: ad.std(v, axis=1, **kw), t)
    with pytest.raises(TypeError, match="var: give ddof= or correction="):
        ad.var(t, ddof=1, correction=0)
    tt = _torch().tensor(x, requires_grad=True)
    _torch().std(tt, dim=1).sum().backward()  # PyTorch's default: correction=1
    ad.std(t, axis=1, correction=1).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12)


def test_var_with_too_few_elements_is_nan_or_inf_with_numpys_warning():
    t = ad.Tensor([1.0], requires_grad=True)
    with pytest.warns(RuntimeWarning):
        v = ad.var(t, ddof=1)
    assert not np.isfinite(v.data)


def test_average_weights_get_gradients_too():
    a = ad.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], requires_grad=True)
    w = ad.Tensor([1.0, 2.0, 0.5], requires_grad=True)
    out = ad.average(a, axis=1, weights=w)
    np.testing.assert_allclose(out.data, np.average(a.data, axis=1, weights=w.data))
    assert gradcheck(lambda x, v: ad.average(x, axis=1, weights=v), a, w)
    np.testing.assert_allclose(np.average(a, axis=-1, weights=w).data, out.data)  # through NumPy
    np.testing.assert_allclose(ad.average(a).data, np.average(a.data))
    _, total = ad.average(a, axis=0, weights=np.ones((2, 3)), returned=True)
    np.testing.assert_allclose(total.data, [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="average: 2 weights for an axis of length 3"):
        ad.average(a, axis=1, weights=[1.0, 2.0])
    with pytest.raises(ZeroDivisionError, match="average: the weights sum to zero"):
        ad.average(a, axis=1, weights=[1.0, -1.0, 0.0])


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf])
def test_matrix_norms_match_numpy(ord):
    x = np.array([[1.0, -2.5, 0.3], [0.7, 4.0, -1.2]])
    t = ad.Tensor(x, requires_grad=True)
    np.testing.assert_allclose(ad.norm(t, ord).data, np.linalg.norm(x, ord))
    np.testing.assert_allclose(np.linalg.norm(t, ord, axis=(1, 0), keepdims=True).data,
                               np.linalg.norm(x, ord, axis=(1, 0), keepdims=True))
    assert gradcheck(lambda v: ad.norm(v, ord), t)


@pytest.mark.parametrize("ord", [2, 1, 3, np.inf, -np.inf, 0])
def test_vector_norms_match_numpy_and_the_zero_vector_has_slope_zero(ord):
    x = np.array([[3.0, -4.0, 0.5], [0.0, 0.0, 0.0]])
    t = ad.Tensor(x, requires_grad=True)
    np.testing.assert_allclose(t.norm(ord, dim=1).data, np.linalg.norm(x, ord, axis=1))
    t.norm(ord, axis=1).sum().backward()
    assert np.all(np.isfinite(t.grad)) and np.all(t.grad[1] == 0)  # PyTorch's convention at z = 0


def test_norm_refuses_what_needs_singular_values_and_bad_axes():
    t = ad.Tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match="2, -2 and 'nuc' need singular values"):
        ad.norm(t, "nuc")
    with pytest.raises(ValueError, match="is a matrix norm: give two axes"):
        ad.norm(t, "fro", axis=0)
    with pytest.raises(ValueError, match="needs a 1-D or 2-D tensor"):
        ad.norm(ad.Tensor(np.ones((2, 2, 2))), 1)


def test_nansum_and_nanmean_skip_nans_and_give_them_zero_gradient():
    x = ad.Tensor([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], requires_grad=True)
    np.testing.assert_array_equal(ad.nansum(x, axis=1).data, [4.0, 0.0])
    with pytest.warns(RuntimeWarning, match="nanmean: an axis holds only NaN"):
        m = x.nanmean(dim=1)
    np.testing.assert_array_equal(m.data, [2.0, np.nan])
    ad.nanmean(x[:1], axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


# ---------------------------------------------------------------------- no gradient by nature
def test_argmax_argmin_all_any_answer_with_numpy_arrays():
    x = ad.Tensor([[1.0, 5.0, 5.0], [-2.0, 0.0, -3.0]], requires_grad=True)
    for got, expected in (
        (x.argmax(), np.argmax(x.data)), (x.argmax(dim=1), [1, 1]), (ad.argmin(x, axis=0, keepdims=True), [[1, 1, 1]]),
        (np.argmax(x, axis=1), [1, 1]), (np.argmin(x), 5), (x.all(), False), (x.any(axis=1), [True, True]),
        (np.all(x > -5), True), (np.any(x, axis=0), [True, True, True]), (ad.all(x, dim=1), [True, False]),
    ):
        assert isinstance(got, (np.ndarray, np.generic)) and not isinstance(got, ad.Tensor)
        np.testing.assert_array_equal(got, expected)
    assert np.asarray(x.argmax()).dtype.kind == "i"
    np.testing.assert_array_equal(x[0][x.argmax(axis=1)[0]].data, 5.0)  # an index, usable as one
    with pytest.raises(ValueError, match="argmax: axis 2 is out of range"):
        x.argmax(axis=2)


@pytest.mark.parametrize("name", sorted(MATH_SPELLINGS))
def test_numpy_spellings_of_the_composed_and_gradient_free_entries(name):
    x = np.array([[1.0, -2.0, 3.5], [0.5, 4.0, -1.0]])
    t = ad.Tensor(x, requires_grad=True)
    f = np.linalg.norm if name == "linalg.norm" else np.linalg.vector_norm if name == "linalg.vector_norm" \
        else getattr(np, name)
    got, expected = f(t, axis=1), f(x, axis=1)
    np.testing.assert_allclose(np.asarray(got.data if isinstance(got, ad.Tensor) else got), expected)
    if name in ("argmax", "argmin", "all", "any"):
        assert not isinstance(got, ad.Tensor)
    else:
        assert got.requires_grad
        assert gradcheck(lambda v: f(v, axis=1), t)


# ---------------------------------------------------------------------- rounding and remainders
def test_operators_mod_and_floordiv_both_ways():
    a = ad.Tensor([5.5, -3.25, 7.0], requires_grad=True)
    b = ad.Tensor([2.0, 2.0, -3.0], requires_grad=True)
    np.testing.assert_array_equal((a % b).data, a.data % b.data)
    np.testing.assert_array_equal((a // b).data, a.data // b.data)
    np.testing.assert_array_equal((10.0 % a).data, 10.0 % a.data)
    np.testing.assert_array_equal((10.0 // a).data, 10.0 // a.data)
    np.testing.assert_array_equal((a % 2).data, np.remainder(a.data, 2))
    np.testing.assert_array_equal((np.ones(3) % a).data, np.ones(3) % a.data)
    (a % b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad, -np.floor(a.data / b.data))
    assert (ad.Tensor([1.5], dtype=np.float32) % 1.0).dtype == np.float32


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc", "rint"])
def test_piecewise_constant_ops_pass_a_zero_gradient_on(name):
    x = ad.Tensor([-1.7, 0.2, 2.5], requires_grad=True)
    y = getattr(ad, name)(x) * x  # product rule: d/dx = f(x) + 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, getattr(np, name)(x.data))
    (g,) = ad.grad(getattr(x, name)().sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, 0.0)


def test_round_to_decimals_and_pythons_round():
    x = ad.Tensor([1.234, -5.678], requires_grad=True)
    np.testing.assert_array_equal(x.round(2).data, [1.23, -5.68])
    np.testing.assert_array_equal(round(x).data, [1.0, -6.0])
    np.testing.assert_array_equal(np.around(x, 1).data, [1.2, -5.7])


def test_pytorch_names_are_the_same_ops():
    for torch_name, numpy_name in (("asin", "arcsin"), ("acos", "arccos"), ("atan", "arctan"), ("atan2", "arctan2"),
                                   ("asinh", "arcsinh"), ("acosh", "arccosh"), ("atanh", "arctanh")):
        assert getattr(ad, torch_name) is getattr(ad, numpy_name)
        x = ad.Tensor([1.5])
        args = (x,) if torch_name != "atan2" else (x, x)
        np.testing.assert_array_equal(getattr(x, torch_name)(*args[1:]).data, getattr(ad, numpy_name)(*args).data)


def test_sinc_slope_is_smooth_through_zero():
    x = ad.Tensor([0.0, 1e-9, -1e-5, 1e-3, 0.5], requires_grad=True)
    ad.sinc(x).sum().backward()
    expected = np.where(x.data == 0, 0.0, (np.cos(np.pi * x.data) - np.sinc(x.data)) / np.where(x.data == 0, 1, x.data))
    np.testing.assert_allclose(x.grad[3:], expected[3:], rtol=1e-6)
    np.testing.assert_allclose(x.grad[:3], -np.pi**2 * x.data[:3] / 3, atol=1e-12)
    assert gradgradcheck(ad.sinc, x)


# ---------------------------------------------------------------------- the defects, each as reported
def test_log_softmax_subtracts_the_max_first_so_float32_logits_near_1e6_stay_exact():
    logits = np.array([1e6, 1e6 + 0.4375, 1e6 - 1.5], dtype=np.float32)
    got = ad.log_softmax(ad.Tensor(logits)).data
    exact = np.asarray(logits, np.float64)
    exact = exact - exact.max() - np.log(np.exp(exact - exact.max()).sum())
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, atol=2e-6)  # before: off by up to half a float32 ulp of 1e6 (0.03)
    big = np.array([1e15, 1e15 + 0.25, 1e15 - 0.5])
    shifted = big - big.max()
    np.testing.assert_allclose(ad.log_softmax(ad.Tensor(big)).data, shifted - np.log(np.exp(shifted).sum()), atol=1e-12)


def test_zero_to_a_negative_power_has_slope_minus_infinity_with_a_number_base_too():
    b = ad.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (0.0 ** b).sum().backward()
        from_tensor = ad.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
        (ad.Tensor(0.0) ** from_tensor).sum().backward()
    np.testing.assert_array_equal(b.grad, [-np.inf, 0.0, 0.0])  # before: NaN at b = −1
    np.testing.assert_array_equal(b.grad, from_tensor.grad)
    t = _torch()
    tb = t.tensor([-1.0, 0.0, 2.0], dtype=t.float64, requires_grad=True)
    (0.0**tb).sum().backward()
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())


def test_clip_with_lo_above_hi_gives_hi_everywhere():
    x = ad.Tensor([-1.0, 2.0, 5.0], requires_grad=True)
    y = x.clip(3, 0)  # before: ValueError
    np.testing.assert_array_equal(y.data, np.clip(x.data, 3, 0))
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 0.0])
    y.sum().backward()
    t = _torch()
    tx = t.tensor([-1.0, 2.0, 5.0], dtype=t.float64, requires_grad=True)
    t.clamp(tx, 3, 0).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_axis_is_empty(name):
    x = ad.Tensor(np.ones((2, 0)), requires_grad=True)
    y = getattr(ad, name)(x, axis=-1)  # before: ValueError
    assert y.shape == (2, 0)
    (g,) = ad.grad(y, x, np.ones((2, 0)))
    assert g.shape == (2, 0)
    assert getattr(x, name)(dim=1).shape == (2, 0)


def test_mean_over_an_empty_axis_is_nan_with_numpys_warning():
    x = ad.Tensor(np.ones((3, 0)), requires_grad=True)
    with pytest.warns(RuntimeWarning):
        m = x.mean(axis=1)  # before: ValueError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.mean(np.ones((3, 0)), axis=1)
    np.testing.assert_array_equal(m.data, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # backward divides by nothing
        m.sum().backward()
    assert x.grad.shape == (3, 0)


def test_float32_stays_float32_through_the_composed_ops():
    x = ad.Tensor(np.array([[1.0, 2.0], [3.0, 5.0]], np.float32), requires_grad=True)
    for y in (x.std(), ad.average(x, axis=0, weights=[1, 3]), x.norm(1), x.norm(np.inf, axis=(0, 1)), x.var(ddof=1)):
        assert y.dtype == np.float32, y
        (g,) = ad.grad(y.sum(), x)
        assert g.dtype == np.float32


def test_every_op_of_this_family_has_a_row():
    assert {r.name for r in MATH_ROWS} <= set(BY_NAME)


THIRD = {  # f''' from a table of derivatives
    "log1p": lambda x: 2 / (1 + x) ** 3,
    "expm1": np.exp,
    "exp2": lambda x: np.log(2) ** 3 * 2**x,
    "log2": lambda x: 2 / (x**3 * np.log(2)),
    "tan": lambda x: 2 * (1 + np.tan(x) ** 2) * (1 + 3 * np.tan(x) ** 2),
    "arctan": lambda x: (6 * x**2 - 2) / (1 + x**2) ** 3,
    "sinh": np.cosh,
    "cosh": np.sinh,
    "square": lambda x: 0 * x,
    "reciprocal": lambda x: -6 / x**4,
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_match_the_table(name):
    x = np.array([0.3, 0.7, 1.2])
    t = ad.Tensor(x, requires_grad=True)
    d = getattr(ad, name)(t)
    for _ in range(3):
        (d,) = ad.grad(d.sum(), t, create_graph=True) if d.requires_grad else (ad.Tensor(np.zeros_like(x)),)
    np.testing.assert_allclose(d.data, THIRD[name](x), rtol=1e-10, atol=1e-12)
