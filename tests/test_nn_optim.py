"""Optimizers: trajectories against hand-written torch.optim update rules, weight decay as a regulariser, errors."""

import numpy as np
import pytest

import autodiff as ad
import nn

RNG = np.random.default_rng(0)
A = RNG.normal(size=(5, 3))
B = RNG.normal(size=5)
W0 = RNG.normal(size=3)
STEPS = 6


def loss_and_grad(w):
    """E = Σ sin(A w − b)² (not quadratic, so every step sees a different curvature) and ∂E/∂w."""
    r = np.sin(A @ w - B)
    return np.sum(r * r), A.T @ (2 * r * np.cos(A @ w - B))


def ad_loss(w):
    r = (ad.Tensor(A) @ w - B).sin()
    return (r * r).sum()


def run(make_opt, steps=STEPS, dtype=np.float64):
    w = nn.Parameter(W0, dtype=dtype)
    opt = make_opt([w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        ad_loss(w).backward()
        opt.step()
        path.append(w.data.copy())
    return np.array(path)


def sgd_reference(lr, momentum=0.0, weight_decay=0.0, nesterov=False, w0=W0, grad=lambda w, k: loss_and_grad(w)[1]):
    """torch.optim.SGD's documented algorithm (dampening 0), by hand; `grad(w, k)` is step k's gradient."""
    w, buf, path = w0.copy(), None, []
    for k in range(STEPS):
        g = grad(w, k)
        if weight_decay:
            g = g + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
        path.append(w)
    return np.array(path)


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, w0=W0, grad=lambda w, k: loss_and_grad(w)[1]):
    """torch.optim.Adam's documented algorithm, by hand, with bias correction; `grad(w, k)` is step k's gradient."""
    (b1, b2), w, path = betas, w0.copy(), []
    m, v = np.zeros_like(w), np.zeros_like(w)
    for k in range(1, STEPS + 1):
        g = grad(w, k - 1)
        if weight_decay:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**k), v / (1 - b2**k)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(w)
    return np.array(path)


def test_autodiff_loss_matches_the_hand_written_gradient():
    w = nn.Parameter(W0)
    loss = ad_loss(w)
    loss.backward()
    value, g = loss_and_grad(W0)
    assert loss.item() == pytest.approx(value)
    np.testing.assert_allclose(w.grad, g, rtol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.1},
        {"lr": 0.05, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "weight_decay": 0.3},
        {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True},
    ],
)
def test_sgd_follows_torchs_update_rule(kw):
    np.testing.assert_allclose(run(lambda p: nn.SGD(p, **kw)), sgd_reference(**kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kw",
    [
        {"lr": 0.1},
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
        {"lr": 0.05, "weight_decay": 0.2},
    ],
)
def test_adam_follows_torchs_update_rule_with_bias_correction(kw):
    np.testing.assert_allclose(run(lambda p: nn.Adam(p, **kw)), adam_reference(**kw), rtol=1e-12, atol=1e-14)


# A parameter above 256 KB is updated in blocks through a small scratch buffer: 300 × 150 float64
# is 360 KB, one full block and a partial one. Its transpose is not C-contiguous (updated whole).
BIG_W0 = RNG.normal(size=(300, 150))
BIG_GRADS = RNG.normal(size=(STEPS, 300, 150))


@pytest.mark.parametrize("layout", ["C", "transposed"])
@pytest.mark.parametrize(
    "make, reference, kw",
    [
        (nn.SGD, sgd_reference, {"lr": 0.1}),
        (nn.SGD, sgd_reference, {"lr": 0.05, "momentum": 0.9}),
        (nn.SGD, sgd_reference, {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True}),
        (nn.SGD, sgd_reference, {"lr": 0.1, "weight_decay": 0.3}),
        (nn.Adam, adam_reference, {"lr": 0.01}),
        (nn.Adam, adam_reference, {"lr": 0.05, "weight_decay": 0.2}),
    ],
)
def test_a_large_parameter_follows_the_same_rule(make, reference, kw, layout):
    w0, grads = (BIG_W0, BIG_GRADS) if layout == "C" else (BIG_W0.T, BIG_GRADS.transpose(0, 2, 1))
    w = nn.Parameter(w0)
    if layout != "C":
        w.data = np.array(w0, order="F")  # a copy whose array is not C-contiguous
    assert w.data.nbytes > 256 * 1024 and w.data.flags.c_contiguous == (layout == "C")
    opt = make([w], **kw)
    path = []
    for k in range(STEPS):
        w.grad = grads[k].copy()
        opt.step()
        path.append(w.data.copy())
    np.testing.assert_allclose(np.array(path), reference(**kw, w0=w0, grad=lambda _, k: grads[k]), rtol=1e-12, atol=1e-14)


def test_adams_first_step_moves_every_weight_by_lr():
    # With bias correction m̂ = g and v̂ = g², so the first step is −lr·sign(g) (up to ε).
    w = nn.Parameter(W0)
    opt = nn.Adam([w], lr=0.01)
    ad_loss(w).backward()
    opt.step()
    np.testing.assert_allclose(W0 - w.data, 0.01 * np.sign(loss_and_grad(W0)[1]), rtol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_weight_decay_is_the_gradient_of_the_l2_regulariser(momentum):
    lam = 0.25
    decayed = run(lambda p: nn.SGD(p, lr=0.05, momentum=momentum, weight_decay=lam))
    w = nn.Parameter(W0)
    opt = nn.SGD([w], lr=0.05, momentum=momentum)
    regularised = []
    for _ in range(STEPS):
        opt.zero_grad()
        (ad_loss(w) + lam / 2 * (w * w).sum()).backward()
        opt.step()
        regularised.append(w.data.copy())
    np.testing.assert_allclose(decayed, np.array(regularised), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [lambda p: nn.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
                                  lambda p: nn.Adam(p, lr=0.1, weight_decay=0.1)])
def test_float32_parameters_stay_float32_and_are_updated_in_place(make):
    w = nn.Parameter(W0, dtype=np.float32)
    data = w.data
    opt = make([w])
    for _ in range(3):
        opt.zero_grad()
        ad_loss(w).backward()
        opt.step()
    assert w.data is data and w.dtype == np.float32
    expected = run(make)[2]
    np.testing.assert_allclose(w.data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda p: nn.SGD(p, lr=0.1, momentum=0.9), lambda p: nn.Adam(p, lr=0.1)])
def test_parameters_without_a_gradient_are_skipped(make):
    used, unused = nn.Parameter([1.0, 2.0]), nn.Parameter([3.0, 4.0])
    opt = make([used, unused])
    for _ in range(3):
        opt.zero_grad()
        (used * used).sum().backward()
        opt.step()
    assert unused.data.tolist() == [3.0, 4.0] and unused.grad is None
    assert not np.allclose(used.data, [1.0, 2.0])
    # When it finally gets a gradient it starts from fresh state: Adam's first step is lr·sign(g).
    if isinstance(opt, nn.Adam):
        opt.zero_grad()
        unused.sum().backward()
        opt.step()
        np.testing.assert_allclose(unused.data, [2.9, 3.9])


def test_zero_grad_forgets_gradients_and_shared_parameters_are_updated_once():
    w = nn.Parameter([1.0])
    opt = nn.SGD([w, w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.data.tolist() == [0.0]
    opt.zero_grad()
    assert w.grad is None


def test_optimizers_accept_model_parameters_generator():
    model = nn.Sequential(nn.Linear(2, 3, rng=RNG), nn.Tanh(), nn.Linear(3, 1, rng=RNG))
    before = [p.data.copy() for p in model.parameters()]
    opt = nn.SGD(model.parameters(), lr=0.1)
    assert len(opt.params) == 4
    nn.functional.mse_loss(model(np.ones((4, 2))), np.zeros((4, 1))).backward()
    opt.step()
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda p: nn.SGD(p, lr=-0.1), ValueError, "SGD: lr must be"),
        (lambda p: nn.SGD(p, lr=float("nan")), ValueError, "SGD: lr must be"),
        (lambda p: nn.SGD(p, lr=0.1, momentum=-1), ValueError, "momentum"),
        (lambda p: nn.SGD(p, lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
        (lambda p: nn.SGD(p, lr=0.1, nesterov=True), ValueError, "nesterov"),
        (lambda p: nn.SGD(p, lr="fast"), TypeError, "lr must be a number"),
        (lambda p: nn.Adam(p, lr=-1e-3), ValueError, "Adam: lr"),
        (lambda p: nn.Adam(p, betas=(0.9, 1.0)), ValueError, "betas"),
        (lambda p: nn.Adam(p, betas=0.9), TypeError, "betas"),
        (lambda p: nn.Adam(p, eps=-1), ValueError, "eps"),
        (lambda p: nn.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda p: nn.Adam(iter([]), lr=0.1), ValueError, "empty parameter list"),
        (lambda p: nn.SGD(p[0], lr=0.1), TypeError, "iterable of Parameters"),
        (lambda p: nn.SGD([np.zeros(2)], lr=0.1), TypeError, "ndarray"),
        (lambda p: nn.SGD([p[0] * 2], lr=0.1), ValueError, "leaf"),
    ],
)
def test_bad_optimizer_arguments_raise_and_change_nothing(make, error, words):
    w = nn.Parameter([1.0, 2.0])
    w.grad = np.array([0.5, 0.5])
    with pytest.raises(error, match=words):
        make([w])
    assert w.data.tolist() == [1.0, 2.0] and w.grad.tolist() == [0.5, 0.5]


def test_lr_can_be_changed_between_steps():
    w = nn.Parameter([1.0])
    opt = nn.SGD([w], lr=1.0)
    opt.lr = 0.5
    w.grad = np.array([1.0])
    opt.step()
    assert w.data.tolist() == [0.5]
    assert "lr=0.5" in repr(opt)


def test_against_pytorch_when_available():
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05, weight_decay=0.1)
    path = []
    for _ in range(STEPS):
        opt.zero_grad()
        (torch.sin(torch.tensor(A) @ w - torch.tensor(B)) ** 2).sum().backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    np.testing.assert_allclose(run(lambda p: nn.Adam(p, lr=0.05, weight_decay=0.1)), np.array(path), rtol=1e-10)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), lambda ps: nn.Adam(ps, lr=0.1)])
def test_a_gradient_of_the_wrong_shape_moves_no_parameter(make):
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Linear(3, 1, rng=np.random.default_rng(1)))
    params = list(model.parameters())
    opt = make(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    params[-1].grad = np.ones(5)
    before = [p.data.copy() for p in params]
    with pytest.raises(ValueError, match=r"parameter 3 of shape \(1,\) has a .grad of shape \(5,\)"):
        opt.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize("new_shape", [(300, 150), (4, 3), (7,)])
def test_a_parameter_replaced_by_another_shape_or_dtype_is_still_updated_by_the_rule(new_shape):
    # The scratch buffer was fitted to the old array; it must be fitted again, not reused wrongly.
    w = nn.Parameter(RNG.normal(size=(5, 2)))
    opt = nn.SGD([w], lr=0.1)
    w.data = RNG.normal(size=new_shape).astype(np.float32)
    w0, g = w.data.copy(), RNG.normal(size=new_shape).astype(np.float32)
    w.grad = g.copy()
    opt.step()
    assert w.data.dtype == np.float32
    np.testing.assert_allclose(w.data, w0 - np.float32(0.1) * g, rtol=1e-6)


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), lambda ps: nn.Adam(ps, lr=0.1)],
                         ids=["SGD", "Adam"])
@pytest.mark.parametrize(
    "bad, says",
    [
        (np.ones(3, complex), "complex numbers"),
        (np.array([1.0, object(), 2.0], dtype=object), r"Python objects \(dtype object\)"),
        (np.array(["a", "b", "c"]), "strings"),
        ([1.0, 2.0, 3.0], "a list, not a numpy array"),
    ],
    ids=["complex", "object", "str", "list"],
)
def test_a_gradient_that_is_not_real_numbers_moves_no_parameter(make, bad, says):
    # The first parameter's gradient is fine; the second one's must stop the step before the first moves.
    params = [nn.Parameter(np.ones((2, 2))), nn.Parameter(np.ones(3))]
    opt = make(params)
    params[0].grad = np.full((2, 2), 0.5)
    params[1].grad = bad
    before = [p.data.copy() for p in params]
    with pytest.raises(TypeError, match=rf"step: parameter 1 has a \.grad (of|that is) {says}.*nothing was updated"):
        opt.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    params[1].grad = np.ones(3, np.int64)  # integers are numbers: the step goes ahead
    opt.step()
    assert not np.array_equal(params[0].data, before[0])
