"""NumPy on Tensors (SPEC §8): every entry of autodiff.numpy_api.NUMPY gives our op's value and
gradient when spelled the NumPy way; everything else is a TypeError naming it; comparisons give
boolean ndarrays that serve as `where` conditions and masks, and tensors still hash by identity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import tests.op_table  # noqa: F401  (first: it gathers the row files, which import it back)
from autodiff.numpy_api import NUMPY
from tests.op_rows_math import MATH_SPELLINGS
from tests.op_table import BY_NAME, NUMPY_SPELLINGS

# the shape, indexing and linear-algebra entries are spelled the NumPy way in tests/test_ops_shape.py
DIFFERENTIABLE = sorted(name for name, (ours, _, _) in NUMPY.items() if ours is not None
                        and name not in {*NUMPY_SPELLINGS, *MATH_SPELLINGS})


def _spelled(name, xs, static):
    """The NumPy spelling of a table entry, called on Tensors with the op table's static arguments."""
    f = getattr(np, name)
    if name in ("concatenate", "stack"):
        return f(xs, **static)
    if name == "where":
        return f(static["cond"], *xs)
    if name == "clip":
        return f(*xs, static["lo"], static["hi"])
    if name == "einsum":
        return f(static["subscripts"], *xs)
    return f(*xs, **static)


def _row(name):
    return BY_NAME[NUMPY[name][0].op.name]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_entry_has_an_op_table_row(name):
    assert _row(name).ours is not None


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=15)
@given(data=st.data())
def test_numpy_spelling_gives_our_value_and_gradient(name, data):
    row = _row(name)
    arrays, static = data.draw(row.cases(np.float64))
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    ys = [ad.Tensor(a, requires_grad=True) for a in arrays]
    theirs, ours = _spelled(name, xs, static), row.ours(*ys, **static)
    assert isinstance(theirs, ad.Tensor) and theirs.op == ours.op == NUMPY[name][0].op.name
    np.testing.assert_array_equal(theirs.data, ours.data)
    np.testing.assert_allclose(theirs.data, row.ref(*arrays, **static), rtol=1e-12, atol=1e-12)
    w = data.draw(hnp.arrays(np.float64, ours.shape, elements=st.floats(-2, 2)))
    for a, b in zip(ad.grad(theirs, xs, w), ad.grad(ours, ys, w)):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("name", ["abs", "max", "min", "divide"])
def test_aliases_reach_the_same_op(name):
    assert NUMPY[{"abs": "absolute", "max": "amax", "min": "amin", "divide": "divide"}[name]][0] is not None
    t = ad.Tensor([1.0, -2.0], requires_grad=True)
    f = getattr(np, name)
    out = f(t, t) if name == "divide" else f(t)
    assert isinstance(out, ad.Tensor) and out.requires_grad


def test_ndarray_on_the_left_gives_a_tensor_with_a_graph():
    t = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = np.array([2.0, 3.0, 4.0])
    for out in (a * t, a + t, a - t, a / t, a ** t, a @ t, np.float64(2.0) * t, np.ones((2, 3)) @ t):
        assert isinstance(out, ad.Tensor) and out.requires_grad
    (g,) = ad.grad((a * t).sum(), t)
    np.testing.assert_array_equal(g.data, a)


def test_asarray_gives_the_data():
    t = ad.Tensor([1.0, 2.0])  # one that requires grad is refused: tests/test_silence.py
    assert np.asarray(t) is t.data
    assert np.array(t).tolist() == [1.0, 2.0]
    assert np.shape(t) == (2,) and np.ndim(t) == 1 and np.size(t) == 2


REFUSED_ARGS = [
    ("sum", lambda t: np.sum(t, out=np.zeros(())), "out="),
    ("sum", lambda t: np.sum(t, dtype=np.float32), "dtype="),
    ("sum", lambda t: np.sum(t, where=np.array([True, False])), "where="),
    ("sum", lambda t: np.sum(t, 0, np.float32), "dtype="),
    ("max", lambda t: np.max(t, initial=5.0), "initial="),
    ("exp", lambda t: np.exp(t, out=np.zeros(2)), "out="),
    ("add", lambda t: np.add(t, 1.0, dtype=np.float32), "dtype="),
    ("multiply", lambda t: np.multiply(t, 2.0, where=np.array([True, False])), "where="),
    ("concatenate", lambda t: np.concatenate([t, t], dtype=np.float32), "dtype="),
    ("reshape", lambda t: np.reshape(t, (2, 1), order="F"), "order="),
    ("clip", lambda t: np.clip(t, 0, 1, out=np.zeros(2)), "out="),
    ("where", lambda t: np.where(np.array([True, False]), t), "needs y"),
]


@pytest.mark.parametrize("name, call, what", REFUSED_ARGS, ids=[f"{n}-{w}" for n, _, w in REFUSED_ARGS])
def test_arguments_we_do_not_implement_are_refused(name, call, what):
    t = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=f"numpy.{name}.*{what}"):
        call(t)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_ndarray_in_place_with_a_tensor_is_refused():
    a = np.zeros(2)
    with pytest.raises(TypeError, match=r"numpy\.add: out="):
        a += ad.Tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(a, [0.0, 0.0])


UNSUPPORTED = [
    ("numpy.linalg.eig", lambda t: np.linalg.eig(t.reshape(1, 2) * t.reshape(2, 1))),  # complex in general
    ("numpy.linalg.lstsq", lambda t: np.linalg.lstsq(t.reshape(2, 1), t)),
    ("numpy.fft.fft", lambda t: np.fft.fft(t)),
    ("numpy.convolve", lambda t: np.convolve(t, t)),
    ("numpy.unique", lambda t: np.unique(t)),
    ("numpy.interp", lambda t: np.interp(t, t, t)),
    ("numpy.add.reduce", lambda t: np.add.reduce(t)),
    ("numpy.multiply.outer", lambda t: np.multiply.outer(t, t)),
    ("numpy.allclose", lambda t: np.allclose(t, t)),
]


@pytest.mark.parametrize("name, call", UNSUPPORTED, ids=[n for n, _ in UNSUPPORTED])
def test_a_function_we_do_not_differentiate_is_a_type_error_naming_it(name, call):
    with pytest.raises(TypeError, match=f"^{name} is not supported on Tensors"):
        call(ad.Tensor([1.0, 2.0], requires_grad=True))


# ------------------------------------------------------------------ comparisons
COMPARISONS = {
    "<": (lambda a, b: a < b, np.less),
    "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater),
    ">=": (lambda a, b: a >= b, np.greater_equal),
    "==": (lambda a, b: a == b, np.equal),
    "!=": (lambda a, b: a != b, np.not_equal),
}


@pytest.mark.parametrize("symbol", COMPARISONS)
@settings(max_examples=20)
@given(data=st.data())
def test_comparisons_are_boolean_arrays_equal_to_numpys(symbol, data):
    spell, ufunc = COMPARISONS[symbol]
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    small = st.sampled_from([-1.0, 0.0, 0.5, 1.0])
    a, b = data.draw(hnp.arrays(np.float64, sa, elements=small)), data.draw(hnp.arrays(np.float64, sb, elements=small))
    ta, tb = ad.Tensor(a, requires_grad=True), ad.Tensor(b)
    expected = ufunc(a, b)
    for got in (spell(ta, tb), spell(ta, b), spell(a, tb), ufunc(ta, tb)):
        assert not isinstance(got, ad.Tensor) and np.asarray(got).dtype == bool
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(spell(ta, 0.5), ufunc(a, 0.5))
    np.testing.assert_array_equal(spell(0.5, ta), ufunc(0.5, a))


def test_comparisons_serve_as_where_conditions_and_masks():
    x = ad.Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = ad.where(x > 0, x, 0.0 * x).sum() + (x[x <= 0] ** 2).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [-2.0, 1.0, -6.0, 1.0])


def test_tensors_still_hash_by_identity_in_sets_and_dicts():
    ts = [ad.Tensor([1.0, 2.0]) for _ in range(200)]  # equal values, distinct tensors
    assert len(set(ts)) == 200
    d = {t: i for i, t in enumerate(ts)}
    assert [d[t] for t in ts] == list(range(200))
    assert ts[5] in set(ts) and ad.Tensor([1.0, 2.0]) not in set(ts)


def test_comparison_with_something_that_is_not_a_value():
    t = ad.Tensor([1.0, 2.0])
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert (t == "x") is False and (t == object()) is False
    with pytest.raises(TypeError):
        t < "x"  # noqa: B015
