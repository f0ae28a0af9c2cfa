"""Property tests for every op in the table: forward against NumPy, gradient against central
differences (random upstream weights, every element), dtypes, and method/function agreement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
from autodiff.op import registry
from autodiff.testing import gradcheck, gradgradcheck
from tests.op_table import ROWS

rows = pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])


def _tensors(arrays, requires_grad=True):
    return [ad.Tensor(a, requires_grad=requires_grad) for a in arrays]


@rows
@given(data=st.data())
def test_forward_matches_numpy(row, data):
    arrays, static = data.draw(row.cases(np.float64))
    before = [a.copy() for a in arrays]
    out = row.ours(*_tensors(arrays), **static)
    expected = row.ref(*arrays, **static)
    assert isinstance(out, ad.Tensor) and isinstance(out.data, np.ndarray)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)  # inputs untouched
    if row.method is not None:
        np.testing.assert_array_equal(row.method(*_tensors(arrays), **static).data, out.data)


@rows
@given(data=st.data())
def test_gradient_matches_finite_differences(row, data):
    arrays, static = data.draw(row.cases(np.float64))
    assert gradcheck(lambda *ts: row.ours(*ts, **static), *_tensors(arrays))


@rows
@settings(max_examples=max(5, settings().max_examples // 3))
@given(data=st.data())
def test_second_derivatives_match_finite_differences(row, data):
    # Every op supports grad of grad: its graph VJP is checked against differences of itself.
    arrays, static = data.draw(row.cases(np.float64))
    assert gradgradcheck(lambda *ts: row.ours(*ts, **static), *_tensors(arrays))


@rows
@given(data=st.data())
def test_float32_stays_float32(row, data):
    arrays, static = data.draw(row.cases(np.float32))
    xs = _tensors(arrays)
    out = row.ours(*xs, **static)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for x in xs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


@rows
@given(data=st.data())
def test_no_graph_when_nothing_requires_grad(row, data):
    arrays, static = data.draw(row.cases(np.float64))
    out = row.ours(*_tensors(arrays, requires_grad=False), **static)
    assert not out.requires_grad and out.is_leaf
    with ad.no_grad():
        out = row.ours(*_tensors(arrays), **static)
    assert not out.requires_grad and out.is_leaf


def test_every_public_op_is_in_the_table():
    # every registered op has a row; functions composed of ops (flatten, sort, …) have rows too
    engine_ops = {name for name, o in registry.items() if o.forward.__module__.startswith("autodiff.")}
    assert engine_ops <= {row.name for row in ROWS}
    for name in ad.ops.__all__:
        assert getattr(ad, name) is getattr(ad.ops, name)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_stable_for_huge_logits(name):
    x = ad.Tensor([[1000.0, -1000.0, 999.0], [-1000.0, -1000.0, -1000.0]], requires_grad=True)
    out = getattr(ad, name)(x, axis=-1)
    assert np.all(np.isfinite(out.data))
    out.backward(np.ones(out.shape))
    assert np.all(np.isfinite(x.grad))
    shifted = x.data - x.data.max(axis=-1, keepdims=True)
    expected = {"softmax": np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True),
                "log_softmax": shifted - np.log(np.exp(shifted).sum(-1, keepdims=True)),
                "logsumexp": x.data.max(-1) + np.log(np.exp(shifted).sum(-1))}[name]
    np.testing.assert_allclose(out.data, expected)


@pytest.mark.parametrize("name", ["max", "min"])
def test_ties_share_the_gradient_equally(name):
    # The documented rule: tied extremes split δ evenly (what central differences see for a pair).
    x = ad.Tensor([[2.0, 2.0, -1.0], [-3.0, 0.5, -3.0]], requires_grad=True)
    getattr(ad, name)(x, axis=1).backward(np.array([1.0, 4.0]))
    expected = {"max": [[0.5, 0.5, 0.0], [0.0, 4.0, 0.0]], "min": [[0.0, 0.0, 1.0], [2.0, 0.0, 2.0]]}[name]
    np.testing.assert_array_equal(x.grad, expected)


def test_maximum_tie_splits():
    a = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ad.Tensor([1.0, 0.0, 5.0], requires_grad=True)
    ad.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])


def test_repeated_integer_indices_accumulate():
    x = ad.Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 0, 3, 0])].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [7.0, 0.0, 0.0, 3.0])


def test_boolean_mask_indexing():
    x = ad.Tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
    y = x[x.data > 0]
    np.testing.assert_array_equal(y.data, [1.0, 3.0])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0], [6.0, 0.0]])


def test_a_tensor_made_from_bools_indexes_as_a_mask_and_one_made_from_ints_as_indices():
    x = ad.Tensor([10.0, 20.0, 30.0], requires_grad=True)
    mask = ad.Tensor([True, False, True])
    assert mask.dtype == np.float64  # values stay floats; the tensor remembers it was made from bools
    y = x[mask]
    np.testing.assert_array_equal(y.data, [10.0, 30.0])
    y.backward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0])
    np.testing.assert_array_equal(x[ad.Tensor(np.array([True, True, False]))].data, [10.0, 20.0])
    np.testing.assert_array_equal(x[mask.detach()].data, [10.0, 30.0])
    np.testing.assert_array_equal(x[ad.Tensor(mask)].data, [10.0, 30.0])
    np.testing.assert_array_equal(x[ad.Tensor([2, 0, 2])].data, [30.0, 10.0, 30.0])
    np.testing.assert_array_equal(x[ad.Tensor(np.array([1], dtype=np.uint8))].data, [20.0])


@pytest.mark.parametrize(
    "index",
    [ad.Tensor([1.0, 0.0, 1.0]), ad.Tensor([0.5]), ad.Tensor([1.0, 0.0, 1.0]) * 1, ad.where(np.ones(3, bool), 1.0, 0.0)],
    ids=["floats", "fraction", "op-result", "where-result"],
)
def test_a_tensor_of_floats_is_refused_as_an_index_not_guessed(index):
    x = ad.Tensor([10.0, 20.0, 30.0])
    with pytest.raises(TypeError, match=r"getitem: this index Tensor holds floats.*pass a numpy bool or integer array"):
        x[index]
    with pytest.raises(IndexError):  # also what NumPy and PyTorch users catch
        x[index]


def test_a_bool_tensor_whose_values_were_overwritten_is_refused_as_an_index():
    mask = ad.Tensor([True, False, True])
    mask.data[0] = 0.5
    with pytest.raises(TypeError, match="made from bools but now holds other values"):
        ad.Tensor([1.0, 2.0, 3.0])[mask]


def test_python_scalars_do_not_upcast_float32():
    x = ad.Tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = 2 * x + 0.5 - np.pi / x ** 2 + np.sqrt(2.0) * x
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert (x + np.array([1, 2])).dtype == np.float32  # integer arrays take the tensor's dtype


def test_mixed_float_dtypes_promote_and_grads_keep_each_dtype():
    a = ad.Tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    b = ad.Tensor([3.0, 4.0], requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_astype_between_float32_and_float64_both_ways():
    x = ad.Tensor([1.5, -2.0], dtype=np.float32, requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad, [3.0, -4.0])
    with pytest.raises(TypeError, match="floating-point"):
        x.astype(np.int32)


def test_python_integers_too_big_for_int64_and_fractions_become_floats():
    from fractions import Fraction

    assert ad.Tensor(2**70).item() == float(2**70)
    assert ad.Tensor(Fraction(1, 4)).item() == 0.25
    assert (ad.Tensor([1.0]) * 2**70).item() == float(2**70)
    assert ad.Tensor(np.float32(2.0)).dtype == np.float32


def test_pow_slopes_at_base_zero_are_zero_not_nan():
    x = ad.Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    b = ad.Tensor(2.0, requires_grad=True)
    (ad.Tensor([0.0, 2.0]) ** b).sum().backward()
    assert b.grad == pytest.approx(4 * np.log(2))


def test_pow_slope_in_the_exponent_at_zero_to_the_zero_is_zero():
    # PyTorch and JAX: ∂(aᵇ)/∂b = 0 at a = 0, b = 0 (not aᵇ ln a = 1 · (−∞)); b < 0 stays −∞ as in PyTorch.
    a = ad.Tensor([0.0, 0.0, 2.0, 0.0], requires_grad=True)
    b = ad.Tensor([0.0, 1.5, 0.0, -1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (a**b).sum().backward()
        expected_b = [0.0, 0.0, np.log(2.0), -np.inf]
        np.testing.assert_array_equal(b.grad, expected_b)
        np.testing.assert_array_equal(a.grad[:3], [0.0, 0.0, 0.0])
        # the recorded (create_graph) VJPs agree
        _, gb = ad.grad((a**b).sum(), [a, b], create_graph=True)
        np.testing.assert_array_equal(gb.data, expected_b)
    c = ad.Tensor([0.0, 1.0], requires_grad=True)
    (ad.Tensor(0.0) ** c).sum().backward()  # 0^c for c = 0 and c > 0
    np.testing.assert_array_equal(c.grad, [0.0, 0.0])


def test_clip_bounds_are_weak_scalars_so_float32_stays_float32():
    x = ad.Tensor([0.1, 2.0], dtype=np.float32, requires_grad=True)
    y = x.clip(np.float64(0.5), np.int64(1))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.array([0.5, 1.0], np.float32))


def test_softmax_along_a_non_empty_axis_of_an_empty_tensor_is_empty():
    # only an empty softmax axis is an error; zero rows of three logits are fine, as in PyTorch
    x = ad.Tensor(np.ones((0, 3)), requires_grad=True)
    for fn in (ad.softmax, ad.log_softmax):
        y = fn(x, axis=-1)
        assert y.shape == (0, 3)
        (gx,) = ad.grad(y, x, np.ones((0, 3)))
        assert gx.shape == (0, 3)


def test_pow_slope_in_the_base_is_zero_wherever_the_exponent_is_zero():
    # x⁰ = 1 for every x: also at a tiny x whose x⁻¹ overflows (found by the fuzzer: 0 · ∞ = NaN there)
    x = ad.Tensor([5e-324, 0.0, -2.0, 3.0], requires_grad=True)
    e = ad.Tensor([0.0, 0.0, 0.0, 2.0])
    with np.errstate(all="ignore"):
        (x**e).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 6.0])
        (dx,) = ad.grad((x**0).sum(), x, create_graph=True)
        np.testing.assert_array_equal(dx.data, [0.0, 0.0, 0.0, 0.0])
        (d2x,) = ad.grad(dx.sum(), x)
        np.testing.assert_array_equal(d2x.data, [0.0, 0.0, 0.0, 0.0])
