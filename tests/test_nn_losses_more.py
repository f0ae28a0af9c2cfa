"""nll_loss, cross_entropy with probability targets, kl_div, l1/smooth_l1/huber losses, their modules, and the
activations as functions and modules, against torch 2.13 in float64 (values and gradients of every
input, the target's too where torch gives one); gradcheck; bad input refused, nothing changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff.testing import gradcheck

F = nn.functional
torch = pytest.importorskip("torch")
TF = torch.nn.functional
RNG = np.random.default_rng(2025)


def against_torch(ours, theirs, *arrays, rtol=1e-12, atol=1e-12):
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    out = ours(*xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = theirs(*ts)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.normal(size=out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol, atol=atol)


def log_probs(shape, axis=1):
    x = RNG.normal(size=shape)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


W4 = RNG.uniform(0.5, 2.0, 4)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch_with_weights_and_ignored_targets(reduction, weighted):
    t = np.array([0, 3, -100, 2, 1, 3])
    w = W4 if weighted else None
    wt = None if w is None else torch.tensor(w)
    against_torch(lambda x: F.nll_loss(x, t, weight=w, reduction=reduction),
                  lambda x: TF.nll_loss(x, torch.tensor(t), weight=wt, reduction=reduction), log_probs((6, 4)))


def test_nll_loss_spatial_single_and_module():
    t = RNG.integers(0, 4, size=(2, 3, 2))
    t[0, 0, 0] = 1
    against_torch(lambda x: F.nll_loss(x, t, weight=W4, ignore_index=1),
                  lambda x: TF.nll_loss(x, torch.tensor(t), weight=torch.tensor(W4), ignore_index=1), log_probs((2, 4, 3, 2)))
    against_torch(lambda x: F.nll_loss(x, np.array(2)), lambda x: TF.nll_loss(x, torch.tensor(2)), log_probs((4,), 0))
    loss = nn.NLLLoss("sum", weight=W4, ignore_index=0)
    assert "weight" in dict(loss.named_buffers())
    x = log_probs((5, 4))
    t = np.array([0, 1, 2, 3, 0])
    np.testing.assert_allclose(loss(x, t).item(), TF.nll_loss(torch.tensor(x), torch.tensor(t), torch.tensor(W4),
                                                                ignore_index=0, reduction="sum").item(), rtol=1e-13)


def test_log_softmax_then_nll_is_cross_entropy():
    x, t = RNG.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, dim=1), t).item(), F.cross_entropy(x, t).item(), rtol=1e-14)


def test_nll_loss_of_all_ignored_targets_is_nan_as_torchs_and_an_ignored_minus_infinity_is_harmless():
    x = ad.Tensor(np.array([[-np.inf, 0.0], [-1.0, -2.0]]), requires_grad=True)
    loss = F.nll_loss(x, np.array([-100, 1]))
    loss.backward()
    assert loss.item() == 2.0 and np.all(np.isfinite(x.grad))
    assert np.isnan(F.nll_loss(np.zeros((2, 3)), np.array([-100, -100])).item())


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probability_targets_matches_torch(smoothing, weighted, reduction):
    w = W4 if weighted else None
    kwargs = dict(label_smoothing=smoothing, reduction=reduction)
    against_torch(lambda x, q: F.cross_entropy(x, q, weight=w, **kwargs),
                  lambda x, q: TF.cross_entropy(x, q, weight=None if w is None else torch.tensor(w), **kwargs),
                  RNG.normal(size=(5, 4)), RNG.dirichlet(np.ones(4), size=5))


def test_cross_entropy_probability_targets_spatial_and_module():
    q = RNG.dirichlet(np.ones(4), size=(2, 3, 2)).transpose(0, 3, 1, 2)
    against_torch(lambda x, q: F.cross_entropy(x, q, reduction="none"),
                  lambda x, q: TF.cross_entropy(x, q, reduction="none"), RNG.normal(size=(2, 4, 3, 2)), q)
    x, q = RNG.normal(size=(3, 4)), RNG.dirichlet(np.ones(4), size=3)
    np.testing.assert_allclose(nn.CrossEntropyLoss(label_smoothing=0.1)(x, q).item(),
                               TF.cross_entropy(torch.tensor(x), torch.tensor(q), label_smoothing=0.1).item(), rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    target = np.log(RNG.dirichlet(np.ones(4), size=5)) if log_target else RNG.dirichlet(np.ones(4), size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on 'mean'
        against_torch(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
                      lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target), log_probs((5, 4)), target)
    module = nn.KLDivLoss(reduction, log_target=log_target)
    assert module(log_probs((5, 4)), target).shape == (() if reduction != "none" else (5, 4))


def test_kl_div_takes_0_log_0_as_0():
    x, q = log_probs((2, 3)), np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])
    ours = ad.Tensor(q, requires_grad=True)
    loss = F.kl_div(x, ours, reduction="sum")
    np.testing.assert_allclose(loss.item(), TF.kl_div(torch.tensor(x), torch.tensor(q), reduction="sum").item(), rtol=1e-13)
    loss.backward()
    # t log t has slope −∞ at t = 0 (torch's gradient there is NaN): ours takes the 0 branch, so the
    # target's gradient there is −x, finite; elsewhere it is torch's
    assert np.all(np.isfinite(ours.grad))
    np.testing.assert_allclose(ours.grad[q == 0], -x[q == 0], rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda a, b, r: F.l1_loss(a, b, r), lambda a, b, r: TF.l1_loss(a, b, reduction=r)),
    (lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.7), lambda a, b, r: TF.smooth_l1_loss(a, b, reduction=r, beta=0.7)),
    (lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.0), lambda a, b, r: TF.smooth_l1_loss(a, b, reduction=r, beta=0.0)),
    (lambda a, b, r: F.huber_loss(a, b, r, delta=0.7), lambda a, b, r: TF.huber_loss(a, b, reduction=r, delta=0.7)),
], ids=["l1", "smooth-l1", "smooth-l1-beta-0", "huber"])
def test_robust_regression_losses_match_torch(ours, theirs, reduction):
    y, t = RNG.normal(size=(3, 4)) * 2, RNG.normal(size=(3, 4))
    y[0, 0] = t[0, 0]  # d = 0: sign(0) = 0 in both
    against_torch(lambda a, b: ours(a, b, reduction), lambda a, b: theirs(a, b, reduction), y, t)


def test_loss_modules_are_the_functions():
    y, t = RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2))
    assert nn.L1Loss()(y, t).item() == F.l1_loss(y, t).item()
    assert nn.SmoothL1Loss("sum", beta=0.5)(y, t).item() == F.smooth_l1_loss(y, t, "sum", 0.5).item()
    assert nn.HuberLoss(delta=2.0)(y, t).item() == F.huber_loss(y, t, delta=2.0).item()
    assert repr(nn.HuberLoss("sum")) == "HuberLoss(reduction='sum')"


@settings(max_examples=max(5, settings().max_examples // 2), deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.floats(0.1, 2.0))
def test_gradcheck_of_the_losses(n, c, beta):
    x = ad.Tensor(RNG.normal(size=(n, c)), requires_grad=True)
    y = ad.Tensor(RNG.normal(size=(n, c)), requires_grad=True)
    q = ad.Tensor(RNG.dirichlet(np.ones(c), size=n), requires_grad=True)
    t, w = RNG.integers(0, c, size=n), RNG.uniform(0.5, 1.5, c)
    assert gradcheck(lambda x, y: F.huber_loss(x, y, delta=beta), x, y)
    assert gradcheck(lambda x, y: F.smooth_l1_loss(x, y, beta=beta), x, y)
    assert gradcheck(lambda x: F.nll_loss(x, t, weight=w), x)
    assert gradcheck(lambda x, q: F.cross_entropy(x, q, label_smoothing=0.1), x, q)
    assert gradcheck(lambda x, q: F.kl_div(x, q, reduction="batchmean"), x, q)


BAD = [
    (lambda: F.nll_loss(np.zeros((2, 3)), [0, 3]), ValueError, "out of range"),
    (lambda: F.nll_loss(np.zeros((2, 3)), [0, 1], weight=[1.0, 2.0]), ValueError, "weight must have shape"),
    (lambda: F.nll_loss(np.zeros((2, 3)), [0.5, 1]), ValueError, "integer"),
    (lambda: F.nll_loss(np.zeros((2, 3)), [0, 1], reduction="avg"), ValueError, "reduction"),
    (lambda: F.kl_div(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, "shape"),
    (lambda: F.kl_div(np.zeros(2), np.zeros(2), reduction="batch"), ValueError, "reduction"),
    (lambda: F.huber_loss(np.zeros(2), np.zeros(2), delta=0.0), ValueError, "delta"),
    (lambda: F.smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0), ValueError, "beta"),
    (lambda: F.l1_loss(np.zeros(2), np.zeros(3)), ValueError, "shape"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.full((2, 3), 1 / 3), weight=[1.0]), ValueError, "weight"),
    (lambda: F.softmax(np.zeros(3)), ValueError, "dim"),
    (lambda: F.hardtanh(np.zeros(3), 1.0, -1.0), ValueError, "min_val"),
    (lambda: F.relu(np.zeros(3), inplace=True), ValueError, "inplace"),
    (lambda: nn.NLLLoss(weight=[[1.0]]), ValueError, "1-D"),
    (lambda: nn.HuberLoss(delta=-1.0), ValueError, "delta"),
]


@pytest.mark.parametrize(("make", "error", "words"), BAD)
def test_bad_input_is_refused(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_a_refused_loss_changes_nothing():
    x = ad.Tensor(log_probs((2, 3)), requires_grad=True)
    data = x.data.copy()
    with pytest.raises(ValueError):
        F.nll_loss(x, [0, 7])
    assert np.array_equal(x.data, data) and x.grad is None


# ---------------------------------------------------------------------- activations
Z = RNG.normal(size=(4, 5)) * 3
Z[0, :4] = [0.0, 6.0, -1.0, 3.0]  # kinks: torch's derivative there
ACTIVATIONS = [
    ("relu", {}), ("sigmoid", {}), ("tanh", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("leaky_relu", {"negative_slope": 0.2}), ("softplus", {"beta": 2.0, "threshold": 3.0}), ("elu", {"alpha": 0.5}),
    ("selu", {}), ("celu", {"alpha": 0.5}), ("silu", {}), ("mish", {}), ("hardtanh", {"min_val": -1.0, "max_val": 6.0}),
    ("relu6", {}), ("hardswish", {}), ("softsign", {}), ("logsigmoid", {}), ("softmax", {"dim": 1}),
    ("log_softmax", {"dim": 0}), ("softmin", {"dim": 1}), ("normalize", {}), ("normalize", {"p": 1.0, "dim": 0}),
]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS, ids=[f"{n}-{k}" for n, k in ACTIVATIONS])
def test_activation_functions_match_torch(name, kwargs):
    against_torch(lambda a: getattr(F, name)(a, **kwargs), lambda a: getattr(TF, name)(a, **kwargs), Z)


def test_where_torch_rounds_a_derivative_to_float32_we_do_not():
    # torch's hardsigmoid backward uses 1.0f/6.0f and celu's 1/alpha as float: off by ~1e-8 relative
    against_torch(lambda a: F.hardsigmoid(a), lambda a: TF.hardsigmoid(a), Z, rtol=1e-6)
    against_torch(lambda a: F.celu(a, 0.7), lambda a: TF.celu(a, 0.7), Z, rtol=1e-6)


def test_normalize_of_a_zero_row_and_logsigmoid_far_out():
    z = Z.copy()
    z[1] = 0.0
    against_torch(lambda a: F.normalize(a), lambda a: TF.normalize(a), z)
    against_torch(lambda a: F.logsigmoid(a), lambda a: TF.logsigmoid(a), np.array([-800.0, -30.0, 30.0, 800.0]))


MODULES = [
    (lambda: nn.ELU(0.5), lambda: torch.nn.ELU(0.5)), (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()), (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Hardtanh(-2.0, 1.0), lambda: torch.nn.Hardtanh(-2.0, 1.0)), (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.Softmax(dim=0), lambda: torch.nn.Softmax(dim=0)), (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.Softmin(dim=1), lambda: torch.nn.Softmin(dim=1)), (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()), (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.CELU(2.0), lambda: torch.nn.CELU(2.0)),
]


@pytest.mark.parametrize(("make", "make_torch"), MODULES, ids=[m[0]().__class__.__name__ for m in MODULES])
def test_activation_modules_match_torch(make, make_torch):
    against_torch(lambda a: make()(a), lambda a: make_torch()(a), Z)


def test_activation_module_repr_shows_settings():
    assert repr(nn.Hardtanh(-2.0, 1.0)) == "Hardtanh(min_val=-2.0, max_val=1.0)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


@pytest.mark.parametrize("name", ["elu", "selu", "silu", "mish", "logsigmoid", "softsign", "normalize", "hardswish"])
def test_gradcheck_and_gradgradcheck_of_the_composed_activations(name):
    x = ad.Tensor(RNG.normal(size=(3, 4)) + 0.05, requires_grad=True)  # away from the kinks
    assert gradcheck(getattr(F, name), x)
    assert ad.testing.gradgradcheck(getattr(F, name), x)


def test_float32_stays_float32_through_the_activations():
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    for name, kwargs in ACTIVATIONS:
        assert getattr(F, name)(x, **kwargs).dtype == np.float32, name
