"""Losses: value and gradient against hand-written NumPy formulas and gradcheck; validation errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import autodiff.testing.strategies as strategies  # `from autodiff.testing import strategies` recurses (engine bug)
import nn
from autodiff.testing import gradcheck
from nn import functional as F

REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _np_log_softmax(a):
    z = a - a.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _grad_of(loss_fn, *arrays):
    """Value and gradients of loss_fn (seeded with ones), for the arrays turned into Tensors."""
    ts = [ad.Tensor(a, requires_grad=True) for a in arrays]
    out = loss_fn(*ts)
    out.backward(np.ones(out.shape))
    return out.data, [t.grad for t in ts]


@st.composite
def logits_and_targets(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=strategies.elements(-5, 5)))
    target = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, target


# ---------------------------------------------------------------------- cross-entropy
@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_matches_numpy_value_and_gradient(data, reduction):
    a, t = data
    n, c = a.shape
    value, (g,) = _grad_of(lambda x: F.cross_entropy(x, t, reduction=reduction), a)
    losses = -_np_log_softmax(a)[np.arange(n), t]
    np.testing.assert_allclose(value, REDUCE[reduction](losses), rtol=1e-12, atol=1e-12)
    p = np.exp(_np_log_softmax(a))
    expected = p - np.eye(c)[t]
    if reduction == "mean":
        expected /= n
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_gradcheck(data, reduction):
    a, t = data
    x = ad.Tensor(a, requires_grad=True)
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction), x)


def test_cross_entropy_one_sample_of_shape_c():
    a = np.array([0.5, -1.0, 2.0])
    value, (g,) = _grad_of(lambda x: F.cross_entropy(x, 2), a)
    assert value == pytest.approx(-_np_log_softmax(a)[2])
    np.testing.assert_allclose(g, np.exp(_np_log_softmax(a)) - np.eye(3)[2])


def test_cross_entropy_is_stable_for_huge_logits():
    a = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 0.0]])
    value, (g,) = _grad_of(lambda x: F.cross_entropy(x, [1, 1], reduction="none"), a)
    np.testing.assert_allclose(value, [2000.0, 0.0])
    assert np.all(np.isfinite(g))


def test_cross_entropy_keeps_float32_and_accepts_integral_floats():
    x = ad.Tensor(np.zeros((4, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0.0, 1.0, 2.0, 1.0]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    assert loss.item() == pytest.approx(np.log(3), rel=1e-6)


def test_cross_entropy_is_one_fused_node():
    x = ad.Tensor(np.zeros((2, 3)), requires_grad=True)
    loss = F.cross_entropy(x, [0, 1])
    assert loss.op == "cross_entropy"
    assert loss._ctx[1] == (x,)


@pytest.mark.parametrize(
    ("target", "error", "words"),
    [
        (np.array([0, 1, 2]), ValueError, "shape (2,)"),  # one target too many
        (np.array([[0], [1]]), ValueError, "shape (2,)"),  # column instead of vector
        (np.array([0.5, 1.0]), ValueError, "integer"),
        (np.array([0, 3]), ValueError, "out of range"),
        (np.array([-1, 0]), ValueError, "out of range"),
        (np.array([True, False]), TypeError, "integer"),
        (np.array(["a", "b"]), TypeError, "integer"),
        (np.array([0, np.nan]), ValueError, "integer"),
    ],
)
def test_cross_entropy_rejects_bad_targets_and_changes_nothing(target, error, words):
    data = np.arange(6.0).reshape(2, 3)
    x = ad.Tensor(data, requires_grad=True)
    with pytest.raises(error, match="cross_entropy") as info:
        F.cross_entropy(x, target)
    assert words in str(info.value)
    np.testing.assert_array_equal(x.data, data)
    assert x.grad is None


def test_cross_entropy_rejects_bad_logits_shape():
    x = ad.Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\)"):
        F.cross_entropy(x, np.zeros((2, 4), int))
    assert x.grad is None


# ---------------------------------------------------------------------- mean squared error
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(strategies.tensors(shape=s), strategies.tensors(shape=s))
), st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss_value_gradient_and_gradcheck(pair, reduction):
    y, t = pair
    value, (gy, gt) = _grad_of(lambda y, t: F.mse_loss(y, t, reduction=reduction), y.data, t.data)
    d = y.data - t.data
    np.testing.assert_allclose(value, REDUCE[reduction](d * d), rtol=1e-12)
    scale = 2 / d.size if reduction == "mean" else 2
    np.testing.assert_allclose(gy, scale * d, rtol=1e-12)
    np.testing.assert_allclose(gt, -scale * d, rtol=1e-12)
    assert gradcheck(lambda y, t: F.mse_loss(y, t, reduction=reduction), y, t)


def test_mse_loss_with_a_plain_array_target_and_float32():
    y = ad.Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    loss = nn.MSELoss()(y, np.array([1.0, 4.0], np.float32))
    loss.backward()
    assert loss.item() == 2.0 and loss.dtype == np.float32
    np.testing.assert_array_equal(y.grad, np.array([0.0, -2.0], np.float32))


def test_mse_loss_refuses_to_broadcast_and_changes_nothing():
    y = ad.Tensor(np.zeros((4, 1)), requires_grad=True)
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(4, 1\) but target has shape \(4,\)"):
        F.mse_loss(y, np.zeros(4))
    assert y.grad is None and not y.data.any()


# ---------------------------------------------------------------------- binary cross-entropy
def _np_bce(y, t):
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(y), -100) + (1 - t) * np.maximum(np.log(1 - y), -100))


@given(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_binary_cross_entropy_value_gradient_and_gradcheck(shape, reduction, data):
    y = data.draw(hnp.arrays(np.float64, shape, elements=strategies.elements(0.05, 0.95)))
    t = data.draw(hnp.arrays(np.float64, shape, elements=strategies.elements(0, 1)))
    value, (gy, gt) = _grad_of(lambda y, t: F.binary_cross_entropy(y, t, reduction=reduction), y, t)
    np.testing.assert_allclose(value, REDUCE[reduction](_np_bce(y, t)), rtol=1e-12)
    scale = 1 / y.size if reduction == "mean" else 1
    np.testing.assert_allclose(gy, scale * (y - t) / (y * (1 - y)), rtol=1e-10)
    np.testing.assert_allclose(gt, scale * (np.log(1 - y) - np.log(y)), rtol=1e-10, atol=1e-12)
    yt, tt = ad.Tensor(y, requires_grad=True), ad.Tensor(t, requires_grad=True)
    assert gradcheck(lambda y, t: F.binary_cross_entropy(y, t, reduction=reduction), yt, tt)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    value, (g,) = _grad_of(lambda y: F.binary_cross_entropy(y, np.array([1.0, 0.0, 1.0]), reduction="none"),
                           np.array([0.0, 1.0, 1.0]))
    np.testing.assert_array_equal(value, [100.0, 100.0, 0.0])
    assert np.all(np.isfinite(g))


def test_binary_cross_entropy_rejects_values_outside_0_1():
    y = ad.Tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input must be a probability in \[0, 1\]"):
        F.binary_cross_entropy(y, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="target has shape"):
        F.binary_cross_entropy(y, np.array([0.0]))
    assert y.grad is None and y.data.tolist() == [0.5, 1.5]


@given(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), st.sampled_from(["mean", "sum", "none"]), st.data())
def test_bce_with_logits_value_gradient_and_gradcheck(shape, reduction, data):
    a = data.draw(hnp.arrays(np.float64, shape, elements=strategies.elements(-6, 6)))
    t = data.draw(hnp.arrays(np.float64, shape, elements=strategies.elements(0, 1)))
    value, (ga, gt) = _grad_of(lambda a, t: F.binary_cross_entropy_with_logits(a, t, reduction=reduction), a, t)
    s = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(value, REDUCE[reduction](-(t * np.log(s) + (1 - t) * np.log(1 - s))), rtol=1e-9)
    scale = 1 / a.size if reduction == "mean" else 1
    np.testing.assert_allclose(ga, scale * (s - t), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(gt, -scale * a, rtol=1e-12)
    at, tt = ad.Tensor(a, requires_grad=True), ad.Tensor(t, requires_grad=True)
    assert gradcheck(lambda a, t: F.binary_cross_entropy_with_logits(a, t, reduction=reduction), at, tt)


def test_bce_with_logits_is_stable_for_huge_logits():
    a = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    value, (g,) = _grad_of(lambda a: F.binary_cross_entropy_with_logits(a, t, reduction="none"), a)
    np.testing.assert_allclose(value, [1000.0, 1000.0, 0.0, 0.0])
    np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 0.0])


# ---------------------------------------------------------------------- modules and reductions
@pytest.mark.parametrize(
    ("module", "fn", "y", "t"),
    [
        (nn.MSELoss, F.mse_loss, [[0.2, 0.7]], [[0.0, 1.0]]),
        (nn.CrossEntropyLoss, F.cross_entropy, [[0.2, 0.7]], [1]),
        (nn.BCELoss, F.binary_cross_entropy, [[0.2, 0.7]], [[0.0, 1.0]]),
        (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits, [[0.2, 0.7]], [[0.0, 1.0]]),
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_modules_equal_their_functions(module, fn, y, t, reduction):
    y = ad.Tensor(y)
    assert module(reduction=reduction)(y, np.array(t)).item() == fn(y, np.array(t), reduction=reduction).item()


@pytest.mark.parametrize("module", [nn.MSELoss, nn.CrossEntropyLoss, nn.BCELoss, nn.BCEWithLogitsLoss])
def test_loss_modules_reject_unknown_reductions(module):
    with pytest.raises(ValueError, match=f"{module.__name__}: reduction must be one of"):
        module(reduction="average")
    assert repr(module(reduction="sum")) == f"{module.__name__}(reduction='sum')"


def test_functional_losses_reject_unknown_reductions():
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        F.mse_loss(ad.Tensor([1.0]), ad.Tensor([1.0]), reduction="max")


def test_against_pytorch_when_available():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, t = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    x = ad.Tensor(a, requires_grad=True)
    F.cross_entropy(x, t).backward()
    xt = torch.tensor(a, requires_grad=True)
    torch.nn.functional.cross_entropy(xt, torch.tensor(t)).backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------- second derivatives
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_can_be_differentiated_twice(reduction):
    from autodiff.testing import gradgradcheck

    rng = np.random.default_rng(5)
    a = ad.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    y = ad.Tensor(rng.uniform(0.2, 0.8, size=(3, 4)), requires_grad=True)
    t = ad.Tensor(rng.uniform(0, 1, size=(3, 4)), requires_grad=True)
    labels = np.array([0, 3, 1])
    assert gradgradcheck(lambda a: F.cross_entropy(a, labels, reduction=reduction), a)
    assert gradgradcheck(lambda y, t: F.mse_loss(y, t, reduction=reduction), y, t)
    assert gradgradcheck(lambda y, t: F.binary_cross_entropy(y, t, reduction=reduction), y, t)
    assert gradgradcheck(lambda a, t: F.binary_cross_entropy_with_logits(a, t, reduction=reduction), a, t)
    assert gradgradcheck(lambda y: F.mse_loss(y, t.data, reduction=reduction), y)


def test_hessian_of_a_network_loss_through_linear():
    rng = np.random.default_rng(6)
    layer = nn.Linear(3, 2, rng=rng)
    x = rng.normal(size=(4, 3))
    labels = np.array([0, 1, 1, 0])
    w = ad.Tensor(layer.weight.data.copy(), requires_grad=True)

    def loss(w):  # the fused op a Linear runs, with w in place of its weight
        return F.cross_entropy(nn.layers._linear(x, w, layer.bias), labels)

    h = ad.functional.hessian(loss)(w)
    assert h.shape == (2, 3, 2, 3)
    # for a linear model the cross-entropy Hessian is Σ_n (diag(p) − p pᵀ) ⊗ x xᵀ / N
    p = np.exp(_np_log_softmax(x @ w.data.T + layer.bias.data))
    expected = sum(np.einsum("jk,i,l->jikl", np.diag(pn) - np.outer(pn, pn), xn, xn) for pn, xn in zip(p, x)) / 4
    np.testing.assert_allclose(h.data, expected, rtol=1e-8, atol=1e-12)
