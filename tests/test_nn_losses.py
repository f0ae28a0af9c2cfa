"""Losses: value and gradient against hand-written NumPy formulas, gradcheck and PyTorch (when installed); validation errors."""

import numpy as np
import pytest
from hypothesis import assume, given
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
    for shape in [(), (0,), (2, 0, 3)]:
        x = ad.Tensor(np.zeros(shape), requires_grad=True)
        with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(C,\), \(N, C\) or \(N, C, d1, ...\)"):
            F.cross_entropy(x, np.zeros((2, 3), int))
        assert x.grad is None


# ---------------------------------------------------------------------- cross-entropy: N-D, weight, ignore_index, smoothing
def _np_cross_entropy(a, t, reduction="mean", weight=None, ignore_index=-100, label_smoothing=0.0):
    """PyTorch's definition written out: classes moved last, one explicit target distribution q per
    sample. Returns the loss and its gradient for an upstream δ of ones."""
    one = np.ndim(a) == 1
    a, t = np.atleast_2d(a), np.atleast_1d(t)  # (C,) is one sample
    a = np.moveaxis(a, 1, -1)  # (N, d₁, …, C)
    c = a.shape[-1]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    keep = t != ignore_index
    tt = np.where(keep, t, 0)
    q = ((1 - label_smoothing) * np.eye(c)[tt] * w[tt][..., None] + label_smoothing / c * w) * keep[..., None]
    logp = _np_log_softmax(a)
    losses = np.where(keep, -(q * logp).sum(-1), 0.0)
    grad = q.sum(-1, keepdims=True) * np.exp(logp) - q
    if reduction == "mean":
        total = (w[tt] * keep).sum()
        losses, grad = (losses.sum() / total, grad / total) if losses.size else (0.0, grad)
    elif reduction == "sum":
        losses = losses.sum()
    elif one:
        losses = losses[0]
    grad = np.moveaxis(grad, -1, 1)
    return losses, grad[0] if one else grad


@st.composite
def ce_problems(draw):
    """Logits (C,), (N, C) or (N, C, d₁, …), targets with some ignored, a random set of options, a reduction."""
    ndim, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rest = draw(st.lists(st.integers(1, 3), min_size=max(ndim - 2, 0), max_size=max(ndim - 2, 0)))
    shape = (c,) if ndim == 1 else (draw(st.integers(1, 3)), c, *rest)
    logits = draw(hnp.arrays(np.float64, shape, elements=strategies.elements(-5, 5)))
    ignore_index = draw(st.sampled_from([-100, -1, 0, c - 1]))  # also one of the classes
    target_shape = () if ndim == 1 else shape[:1] + shape[2:]
    target = draw(hnp.arrays(np.int64, target_shape, elements=st.integers(0, c - 1) | st.just(ignore_index)))
    options = {"ignore_index": ignore_index}
    if draw(st.booleans()):
        options["weight"] = draw(hnp.arrays(np.float64, (c,), elements=strategies.elements(0.1, 2)))
    if draw(st.booleans()):
        options["label_smoothing"] = draw(st.sampled_from([0.0, 1.0]) | strategies.elements(0, 1))
    return logits, target, options, draw(st.sampled_from(["mean", "sum", "none"]))


def _counts_something(target, options, reduction):
    """False for a mean over targets that are all ignored (NaN: tested on its own)."""
    return reduction != "mean" or bool(np.any(target != options["ignore_index"]))


@given(ce_problems())
def test_cross_entropy_with_options_matches_numpy_value_and_gradient(problem):
    a, t, options, reduction = problem
    assume(_counts_something(t, options, reduction))
    value, (g,) = _grad_of(lambda x: F.cross_entropy(x, t, reduction, **options), a)
    expected, expected_grad = _np_cross_entropy(a, t, reduction, **options)
    assert value.shape == np.shape(expected) == (t.shape if reduction == "none" else ())
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, expected_grad, rtol=1e-10, atol=1e-12)


@given(ce_problems())
def test_cross_entropy_with_options_gradcheck(problem):
    a, t, options, reduction = problem
    assume(_counts_something(t, options, reduction))
    x = ad.Tensor(a, requires_grad=True)
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction, **options), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_options_can_be_differentiated_twice(reduction):
    from autodiff.testing import gradgradcheck

    rng = np.random.default_rng(7)
    a = ad.Tensor(rng.normal(size=(3, 4, 2)), requires_grad=True)
    t = np.array([[0, 3], [-100, 1], [2, -100]])
    for options in [{}, {"weight": rng.uniform(0.5, 2, 4)}, {"label_smoothing": 0.3},
                    {"weight": rng.uniform(0.5, 2, 4), "label_smoothing": 0.7}]:
        assert gradgradcheck(lambda a, options=options: F.cross_entropy(a, t, reduction, **options), a)
        # the differentiable gradient is the gradient (gradgradcheck cannot tell: q is a constant in it)
        loss = F.cross_entropy(a, t, reduction, **options)
        upstream = rng.normal(size=loss.shape)
        (plain,), (graph,) = ad.grad(loss, a, upstream), ad.grad(loss, a, upstream, create_graph=True)
        np.testing.assert_allclose(graph.data, plain.data, rtol=1e-12, atol=1e-15)
    one = ad.Tensor(rng.normal(size=4), requires_grad=True)
    assert gradgradcheck(lambda x: F.cross_entropy(x, 2, reduction, weight=[1, 2, 3, 4], label_smoothing=0.2), one)


def test_cross_entropy_with_options_is_one_fused_node_and_keeps_float32():
    x = ad.Tensor(np.zeros((2, 3, 5), np.float32), requires_grad=True)
    t = np.array([[0, 1, 2, -100, 1], [2, 2, 0, 1, 1]])
    loss = F.cross_entropy(x, t, weight=np.array([1.0, 2.0, 3.0]), label_smoothing=0.1)
    assert loss.op == "cross_entropy" and loss._ctx[1] == (x,)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    for reduction in ["none", "sum"]:
        assert F.cross_entropy(x, t, reduction, weight=np.ones(3), label_smoothing=0.5).dtype == np.float32
    # uniform logits: Σₙ αₙ log C / Σₙ w_{tₙ}, with αₙ = Σₖ qₙₖ = 0.9 w_{tₙ} + (0.1 / 3)·6 over the 9 counted targets
    # whose weights add up to 19 (PyTorch's mean divides by the weights alone, also with smoothing)
    np.testing.assert_allclose(loss.item(), np.log(3) * (0.9 * 19 + 0.2 * 9) / 19, rtol=1e-6)
    assert F.cross_entropy(x, t, label_smoothing=0.1).item() == pytest.approx(np.log(3), rel=1e-6)  # no weights: log C


def test_cross_entropy_all_ignored_is_nan_for_the_mean_as_in_pytorch():
    x = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    t = np.array([-100, -100])
    for options in [{}, {"label_smoothing": 0.2}, {"weight": np.ones(3)}]:
        loss = F.cross_entropy(x, t, **options)
        assert np.isnan(loss.item())
        (g,) = ad.grad(loss, x)
        np.testing.assert_array_equal(g.data, np.zeros((2, 3)))  # ignored samples pass on nothing
        assert F.cross_entropy(x, t, "sum", **options).item() == 0.0
        np.testing.assert_array_equal(F.cross_entropy(x, t, "none", **options).data, [0.0, 0.0])
    # weights adding up to 0 over the counted targets: NaN too, and the counted samples' gradients NaN
    loss = F.cross_entropy(x, [0, -100], weight=[0.0, 1.0, 1.0])
    (g,) = ad.grad(loss, x)
    assert np.isnan(loss.item()) and np.isnan(g.data[0]).all() and not g.data[1].any()
    # no samples at all: 0, as for every loss here (PyTorch: NaN)
    assert F.cross_entropy(ad.Tensor(np.zeros((0, 3))), np.zeros(0, int), weight=np.ones(3)).item() == 0.0


def test_cross_entropy_ignores_whatever_an_ignored_sample_holds():
    a = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, 0.0]])  # an ignored sample's class 0 logit is −∞
    x = ad.Tensor(a, requires_grad=True)
    loss = F.cross_entropy(x, [-100, 0], "none", label_smoothing=0.1)
    loss.backward(np.array([np.nan, 1.0]))  # and its upstream δ is NaN
    assert loss.data[0] == 0.0 and np.isinf(loss.data[1])  # a −∞ logit under smoothing: ∞, as in PyTorch
    np.testing.assert_array_equal(x.grad[0], 0.0)
    assert np.isfinite(x.grad).all()


def test_cross_entropy_ignore_index_may_be_a_class():
    a = np.random.default_rng(3).normal(size=(4, 3))
    t = np.array([0, 1, 0, 2])
    value = F.cross_entropy(ad.Tensor(a), t, ignore_index=0).item()
    assert value == pytest.approx(-(_np_log_softmax(a)[[1, 3], [1, 2]]).mean(), rel=1e-12)
    # the fast path (nothing ignored) and the general one give the same numbers
    for reduction in ["mean", "sum", "none"]:
        np.testing.assert_allclose(F.cross_entropy(ad.Tensor(a), t, reduction, ignore_index=-1).data,
                                   F.cross_entropy(ad.Tensor(a), t, reduction, label_smoothing=0.0, weight=np.ones(3)).data,
                                   rtol=1e-13)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"weight": np.ones(2)}, ValueError,
         r"weight must have shape \(3,\), one weight per class, for logits of shape \(2, 3\), got shape \(2,\)"),
        ({"weight": np.ones((1, 3))}, ValueError, r"weight must be a 1-D array, one weight per class, got shape \(1, 3\)"),
        ({"weight": ["a", "b", "c"]}, TypeError, r"weight must hold real numbers, got dtype <U1"),
        ({"weight": ad.Tensor(np.ones(3), requires_grad=True)}, RuntimeError, r"weight requires grad.*weight.detach\(\)"),
        ({"label_smoothing": -0.1}, ValueError, r"label_smoothing must be a number in \[0, 1\], got -0.1"),
        ({"label_smoothing": 1.5}, ValueError, r"label_smoothing must be a number in \[0, 1\], got 1.5"),
        ({"label_smoothing": float("nan")}, ValueError, r"label_smoothing must be a number in \[0, 1\], got nan"),
        ({"label_smoothing": "0.1"}, TypeError, r"label_smoothing must be a number in \[0, 1\], got str"),
        ({"label_smoothing": True}, TypeError, r"label_smoothing must be a number"),
        ({"ignore_index": 1.0}, TypeError, r"ignore_index must be an int, got float 1.0"),
        ({"ignore_index": -1}, ValueError, r"class index -100 is out of range for 3 classes \(0..2\) and is not ignore_index \(-1\)"),
    ],
)
def test_cross_entropy_rejects_bad_options_and_changes_nothing(options, error, pattern):
    data = np.arange(6.0).reshape(2, 3)
    x = ad.Tensor(data, requires_grad=True)
    with pytest.raises(error, match="cross_entropy: " + pattern):
        F.cross_entropy(x, np.array([1, -100]), **options)
    np.testing.assert_array_equal(x.data, data)
    assert x.grad is None


@pytest.mark.parametrize(
    ("shape", "target", "words"),
    [
        ((2, 3, 4), np.zeros((2,), int), "shape (2, 4) for logits of shape (2, 3, 4), got shape (2,)"),
        ((2, 3, 4), np.zeros((2, 3), int), "shape (2, 4) for logits of shape (2, 3, 4), got shape (2, 3)"),
        ((2, 3, 4, 5), np.zeros((2, 4), int), "shape (2, 4, 5) for logits of shape (2, 3, 4, 5)"),
        ((2, 3, 4), np.full((2, 4), 3), "class index 3 is out of range for 3 classes (0..2)"),
        ((3,), np.array([1]), "shape () for logits of shape (3,), got shape (1,)"),
    ],
)
def test_cross_entropy_rejects_targets_that_do_not_fit_nd_logits(shape, target, words):
    x = ad.Tensor(np.zeros(shape), requires_grad=True)
    with pytest.raises(ValueError, match="cross_entropy") as info:
        F.cross_entropy(x, target, weight=np.ones(shape[1 if len(shape) > 1 else 0]))
    assert words in str(info.value) and x.grad is None


def test_cross_entropy_loss_module_takes_the_options():
    w = np.array([1.0, 2.0, 0.5])
    loss_fn = nn.CrossEntropyLoss("sum", weight=w, ignore_index=0, label_smoothing=0.1)
    w[0] = 100.0  # the module keeps its own copy
    x = ad.Tensor(np.random.default_rng(4).normal(size=(4, 3, 2)))
    t = np.array([[0, 1], [2, 2], [1, 0], [0, 0]])
    expected = F.cross_entropy(x, t, "sum", weight=[1.0, 2.0, 0.5], ignore_index=0, label_smoothing=0.1)
    assert loss_fn(x, t).item() == expected.item()
    assert repr(loss_fn) == "CrossEntropyLoss(reduction='sum', weight=[1. , 2. , 0.5], ignore_index=0, label_smoothing=0.1)"
    assert list(loss_fn.state_dict()) == ["weight"] and list(loss_fn.parameters()) == []  # a buffer, as in PyTorch
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()" and nn.CrossEntropyLoss().state_dict() == {}
    for options, pattern in [({"weight": np.ones((2, 2))}, "weight must be a 1-D array"),
                             ({"label_smoothing": 2.0}, r"label_smoothing must be a number in \[0, 1\]"),
                             ({"ignore_index": "none"}, "ignore_index must be an int")]:
        with pytest.raises((ValueError, TypeError), match="CrossEntropyLoss: " + pattern):
            nn.CrossEntropyLoss(**options)


def _torch_configs(rng, count):
    """Random cross-entropy problems: shapes (C,) to (N, C, d₁, d₂), ignored targets, weights, smoothing."""
    for _ in range(count):
        ndim, c = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        shape = (c,) if ndim == 1 else (int(rng.integers(1, 5)), c, *map(int, rng.integers(1, 4, ndim - 2)))
        target_shape = () if ndim == 1 else shape[:1] + shape[2:]
        ignore_index = int(rng.choice([-100, -1, 0, c - 1]))
        t = rng.integers(0, c, target_shape)
        if rng.random() < 0.6:
            t = np.where(rng.random(target_shape) < 0.3, ignore_index, t)
        options = {"ignore_index": ignore_index}
        if rng.random() < 0.5:
            options["weight"] = rng.uniform(0, 2, c)
        if rng.random() < 0.5:
            options["label_smoothing"] = float(rng.choice([0.0, 1.0, rng.uniform()]))
        yield rng.normal(size=shape) * 3, t, options, str(rng.choice(["mean", "sum", "none"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_with_options_against_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2024)
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    nans = 0
    for a, t, options, reduction in _torch_configs(rng, 500):
        a = a.astype(dtype)
        x = ad.Tensor(a, requires_grad=True)
        loss = F.cross_entropy(x, t, reduction, **options)
        upstream = rng.normal(size=loss.shape)
        loss.backward(upstream.astype(dtype))
        xt = torch.tensor(a, requires_grad=True)
        kw = {k: torch.tensor(v.astype(dtype)) if k == "weight" else v for k, v in options.items()}
        expected = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction, **kw)
        expected.backward(torch.tensor(upstream.astype(dtype)))
        where = f"logits {a.shape}, target {t.tolist()}, {options}, reduction={reduction!r}"
        assert loss.dtype == dtype and x.grad.dtype == dtype, where
        np.testing.assert_allclose(loss.data, expected.detach().numpy(), **tol, err_msg=where)
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), **tol, err_msg=where)
        nans += bool(np.isnan(loss.data).any())
    assert nans  # some configurations were all ignored (or weighed 0): NaN, as PyTorch's


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
        return F.cross_entropy(nn.modules.linear._linear(x, w, layer.bias), labels)

    h = ad.functional.hessian(loss)(w)
    assert h.shape == (2, 3, 2, 3)
    # for a linear model the cross-entropy Hessian is Σ_n (diag(p) − p pᵀ) ⊗ x xᵀ / N
    p = np.exp(_np_log_softmax(x @ w.data.T + layer.bias.data))
    expected = sum(np.einsum("jk,i,l->jikl", np.diag(pn) - np.outer(pn, pn), xn, xn) for pn, xn in zip(p, x)) / 4
    np.testing.assert_allclose(h.data, expected, rtol=1e-8, atol=1e-12)
