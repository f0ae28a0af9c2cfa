"""Beyond first derivatives: grad of grad, the functional transforms, hooks in graph mode,
anomaly detection, the NaN-safe where, and the SciPy bridge."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
from autodiff import Tensor
from autodiff.functional import grad, hessian, hvp, jacobian, value_and_grad

# op, f', f'', f''' as functions of x (analytic, from a table of derivatives)
_s = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
ANALYTIC = {
    "exp": (np.exp, np.exp, np.exp),
    "log": (lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
    "sqrt": (lambda x: 0.5 * x**-0.5, lambda x: -0.25 * x**-1.5, lambda x: 0.375 * x**-2.5),
    "tanh": (lambda x: 1 - np.tanh(x) ** 2,
             lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
             lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2)),
    "sigmoid": (lambda x: _s(x) * (1 - _s(x)),
                lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x)),
                lambda x: _s(x) * (1 - _s(x)) * (1 - 6 * _s(x) + 6 * _s(x) ** 2)),
    "sin": (np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "cos": (lambda x: -np.sin(x), lambda x: -np.cos(x), np.sin),
    "abs": (np.sign, lambda x: 0 * x, lambda x: 0 * x),
    "relu": (lambda x: (x > 0) * 1.0, lambda x: 0 * x, lambda x: 0 * x),
    "neg": (lambda x: -1 + 0 * x, lambda x: 0 * x, lambda x: 0 * x),
}


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_first_second_third_derivatives_of_elementwise_ops(name):
    x = np.array([0.3, 1.7, 2.5]) if name in ("log", "sqrt") else np.array([-1.3, -0.4, 0.6, 2.1])
    t = Tensor(x, requires_grad=True)
    d = getattr(ad, name)(t)
    for k, expected in enumerate(ANALYTIC[name]):
        if d.requires_grad:
            (d,) = ad.grad(d.sum(), t, create_graph=True)
        else:  # the previous derivative was constant in x (piecewise linear ops)
            d = Tensor(np.zeros_like(x))
        np.testing.assert_allclose(d.data, expected(x), rtol=1e-10, atol=1e-12, err_msg=f"order {k + 1}")


def test_higher_order_powers():
    x = Tensor(2.0, requires_grad=True)
    y = x**5
    derivs = []
    for _ in range(5):
        (y,) = ad.grad(y, x, create_graph=True)
        derivs.append(y.item())
    assert derivs == [80.0, 160.0, 240.0, 240.0, 120.0]


def _numeric_hessian(f, x, eps=1e-5):
    n = x.size
    H = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        gp = grad(f)(Tensor(x + e.reshape(x.shape))).data.ravel()
        gm = grad(f)(Tensor(x - e.reshape(x.shape))).data.ravel()
        H[:, j] = (gp - gm) / (2 * eps)
    return H


FUNCTIONS = {
    "rosenbrock": lambda x: ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum(),
    "logsumexp": lambda x: (x * x).logsumexp() + x.sin().sum(),
    "softmax-ce": lambda x: -(x.log_softmax()[1]) + (x.tanh() @ x) * 0.5,
    "matrix": lambda x: (x.reshape(2, 2) @ x.reshape(2, 2).T).sigmoid().mean(),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@given(x=st.lists(st.floats(-1.5, 1.5), min_size=4, max_size=4).map(np.array))
def test_hessian_matches_differences_of_our_gradient(name, x):
    f = FUNCTIONS[name]
    H = hessian(f)(x).data
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H, H.T, atol=1e-8)
    np.testing.assert_allclose(H, _numeric_hessian(f, x), rtol=1e-4, atol=1e-5)


def _mlp_loss(X, t):
    def loss(w):
        W1 = w[:12].reshape(4, 3)
        b1 = w[12:16]
        W2 = w[16:20].reshape(1, 4)
        y = (X @ W1.T + b1).tanh() @ W2.T
        return 0.5 * ((y - t) ** 2).mean()

    return loss


def test_hvp_of_an_mlp_loss_equals_hessian_columns():
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    w = rng.normal(size=20)
    f = _mlp_loss(X, t)
    H = np.stack([hvp(f, w, e).data for e in np.eye(20)], axis=1)  # column by column
    np.testing.assert_allclose(H, hessian(f)(w).data, rtol=1e-10, atol=1e-12)
    v = rng.normal(size=20)
    np.testing.assert_allclose(hvp(f, w, v).data, H @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, _numeric_hessian(f, w), rtol=1e-4, atol=1e-6)


def test_functional_grad_value_and_grad_and_argnums():
    f = lambda a, b: (a * b * b).sum()  # noqa: E731
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_array_equal(grad(f)(a, b).data, b * b)
    value, (ga, gb) = value_and_grad(f, argnums=(0, 1))(a, b)
    assert value.item() == 11.0
    np.testing.assert_array_equal(ga.data, b * b)
    np.testing.assert_array_equal(gb.data, 2 * a * b)
    assert np.array_equal(a, [1.0, 2.0])  # the arguments are not changed
    with pytest.raises(ValueError, match="one-element"):
        grad(lambda x: x * 2)(a)
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        grad(f, argnums=2)(a, b)


def test_jacobian_shape_and_values():
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    J = jacobian(lambda x: x.softmax(axis=1))(x).data
    assert J.shape == (2, 3, 2, 3)
    s = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    for i in range(2):
        np.testing.assert_allclose(J[i, :, i, :], np.diag(s[i]) - np.outer(s[i], s[i]))
        np.testing.assert_allclose(J[i, :, 1 - i, :], 0)


def test_grad_of_grad_keeps_leaf_grads_untouched():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (g,) = ad.grad((x**3).sum(), x, create_graph=True)
    (h,) = ad.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, 6 * x.data)
    assert x.grad is None
    g.sum().backward()  # a differentiable gradient can also be back-propagated into .grad
    np.testing.assert_array_equal(x.grad, 6 * x.data)


def test_hooks_run_in_graph_mode_and_can_replace():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.register_hook(lambda g: g * 2)
    (g,) = ad.grad(h.sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, 4 * x.data)
    (gg,) = ad.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.data, [4.0, 4.0])


def _line_of(marker, source_lines, start):
    return start + next(i for i, line in enumerate(source_lines) if marker in line)


def test_anomaly_names_the_op_and_line_in_forward():
    x = Tensor([0.0, 1.0], requires_grad=True)
    lines, start = inspect.getsourcelines(test_anomaly_names_the_op_and_line_in_forward)
    with pytest.raises(FloatingPointError) as info, np.errstate(all="ignore"), ad.detect_anomaly():
        y = x * 2
        y.log()  # MARK-FORWARD
    message = str(info.value)
    assert "log" in message and "forward" in message
    assert f"test_higher_order.py:{_line_of('MARK-FORWARD', lines, start)}" in message


def test_anomaly_names_the_op_and_line_in_backward():
    x = Tensor([0.0, 4.0], requires_grad=True)
    lines, start = inspect.getsourcelines(test_anomaly_names_the_op_and_line_in_backward)
    with np.errstate(all="ignore"), ad.detect_anomaly():
        y = x.sqrt()  # MARK-BACKWARD
        z = (y * 3).sum()
        with pytest.raises(FloatingPointError) as info:
            z.backward()
    message = str(info.value)
    assert "backward of sqrt" in message and "infinity" in message
    assert f"test_higher_order.py:{_line_of('MARK-BACKWARD', lines, start)}" in message
    assert x.grad is None


def test_anomaly_with_create_graph_blames_the_op_whose_backward_failed_at_its_own_line():
    # The recorded gradient of sqrt at 0 divides by 2√0: that division is sqrt's backward, not a
    # "div" of the user's, and it happened at the sqrt's line, not at the ad.grad line.
    x = Tensor([0.0, 4.0], requires_grad=True)
    lines, start = inspect.getsourcelines(test_anomaly_with_create_graph_blames_the_op_whose_backward_failed_at_its_own_line)
    with np.errstate(all="ignore"), ad.detect_anomaly():
        y = x.sqrt()  # MARK-SQRT
        with pytest.raises(FloatingPointError) as info:
            ad.grad((y * 3).sum(), x, create_graph=True)  # MARK-GRAD
    message = str(info.value)
    assert "the backward of sqrt produced infinity in the gradient of its input 0" in message, message
    assert f"test_higher_order.py:{_line_of('MARK-SQRT', lines, start)}" in message
    assert "MARK-GRAD" not in message


def test_anomaly_in_a_second_derivative_names_the_op_and_its_line_and_passes_through_replaced_infinities():
    x = Tensor([0.0, 4.0], requires_grad=True)
    lines, start = inspect.getsourcelines(
        test_anomaly_in_a_second_derivative_names_the_op_and_its_line_and_passes_through_replaced_infinities
    )
    with np.errstate(all="ignore"), ad.detect_anomaly():
        y = (x**1.5).sum()  # MARK-POW
        (dx,) = ad.grad(y, x, create_graph=True)  # 1.5 √x: finite, though its graph meets 0^(−0.5) = ∞ at x = 0
        np.testing.assert_allclose(dx.data, [0.0, 3.0])
        with pytest.raises(FloatingPointError) as info:
            ad.grad(dx.sum(), x)  # 0.75 / √x: infinite at 0
    message = str(info.value)
    assert "the backward of pow produced infinity" in message, message
    assert f"test_higher_order.py:{_line_of('MARK-POW', lines, start)}" in message
    assert "(in the backward of pow)" in message


def test_anomaly_off_again_and_silent_on_finite_values():
    from autodiff import op

    plain = op._node
    with ad.detect_anomaly():
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x.tanh() * x).sum().backward()
    assert op._node is plain
    np.testing.assert_allclose(x.grad, np.tanh([1.0, 2.0]) + [1.0, 2.0] * (1 - np.tanh([1.0, 2.0]) ** 2))


@pytest.mark.parametrize("create_graph", [False, True])
def test_where_does_not_leak_nan_from_the_unselected_branch(create_graph):
    # The trap: where(x > 0, sqrt(x), 0) has a NaN/∞ local derivative at x <= 0 in the branch
    # that was not selected; 0 · ∞ must stay 0 there.
    x = Tensor([-1.0, 0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = ad.where(x.data > 0, x.sqrt() * 3 + x.log(), x * 2).sum()
        (g,) = ad.grad(y, x, create_graph=create_graph)
    np.testing.assert_allclose(g.data, [2.0, 2.0, 3 / (2 * 2.0) + 1 / 4.0])


def test_nan_in_a_selected_branch_still_shows():
    x = Tensor([-1.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = ad.where([True, True], x.sqrt(), 0.0).sum()
        y.backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 0.25


def _sine_problem():
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, size=(40, 1))
    t = np.sin(x)
    rng = np.random.default_rng(2)
    params = [
        Tensor(rng.normal(size=(1, 20)), requires_grad=True),
        Tensor(rng.normal(size=20) * 0.5, requires_grad=True),
        Tensor(rng.normal(size=(20, 1)) / np.sqrt(20), requires_grad=True),
        Tensor(np.zeros(1), requires_grad=True),
    ]

    def loss():
        w1, b1, w2, b2 = params
        return 0.5 * (((x @ w1 + b1).tanh() @ w2 + b2 - t) ** 2).mean()

    return params, loss


def test_newton_cg_beats_1000_sgd_steps_on_the_lecture_network():
    pytest.importorskip("scipy")
    from autodiff.optimize import minimize

    params, loss = _sine_problem()
    for _ in range(1000):
        E = loss()
        for p, g in zip(params, ad.grad(E, params)):
            p.data -= 0.1 * g.data
    sgd = loss().item()

    params, loss = _sine_problem()
    result = minimize(loss, params, method="Newton-CG", options={"maxiter": 100})
    assert result.fun == pytest.approx(loss().item())
    assert loss().item() < sgd / 10, (loss().item(), sgd)


@pytest.mark.parametrize("method", ["L-BFGS-B", "BFGS", "CG", "trust-ncg"])
def test_minimize_methods_find_a_quadratic_minimum(method):
    pytest.importorskip("scipy")
    from autodiff.optimize import minimize

    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    w = Tensor([5.0, -5.0], requires_grad=True)
    minimize(lambda: 0.5 * (w @ (Tensor(A) @ w)) - w.sum(), [w], method=method)
    np.testing.assert_allclose(w.data, np.linalg.solve(A, [1.0, 1.0]), atol=1e-4)


def test_minimize_errors_leave_params_alone():
    pytest.importorskip("scipy")
    from autodiff.optimize import minimize

    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        minimize(lambda: w * 2, [w])
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        minimize(lambda: w.sum(), [])
    with pytest.raises(TypeError, match="requires_grad"):
        minimize(lambda: w.sum(), [Tensor([1.0])])


@pytest.mark.parametrize("k", [2, 3])
def test_where_over_a_matmul_keeps_zero_times_infinity_zero(k):
    # Row 0 of A @ B is not selected; A's row 0 holds ∞, which only meets that row's zero δ.
    rows = np.array([[False], [True]])
    A = Tensor([[np.inf] + [1.0] * (k - 1), list(np.arange(2.0, 2.0 + k))], requires_grad=True)
    B = Tensor(np.ones((k, 2)), requires_grad=True)
    with np.errstate(all="ignore"):
        ad.where(rows, A @ B, 0.0).sum().backward()
    np.testing.assert_array_equal(B.grad, np.repeat(A.data[1][:, None], 2, axis=1))
    np.testing.assert_array_equal(A.grad, [[0.0] * k, [2.0] * k])


@pytest.mark.parametrize(
    "f",
    [lambda x: x.max(), lambda x: (2**x).sum(), lambda x: ad.maximum(x, 1.5).sum(), lambda x: (x.tanh() * x).sum(),
     lambda x: x.logsumexp(), lambda x: (x ** x).sum()],
)
def test_grad_of_grad_keeps_float32(f):
    x = Tensor([1.0, 2.0, 3.0], dtype=np.float32, requires_grad=True)
    (g,) = ad.grad(f(x), x, create_graph=True)
    assert g.dtype == np.float32
    (h,) = ad.grad(g.sum(), x) if g.requires_grad else (g,)
    assert h.dtype == np.float32
    assert hessian(f)(x).dtype == np.float32
    assert hvp(f, x, np.ones(3, dtype=np.float32)).dtype == np.float32


def test_jacobian_of_an_empty_output():
    assert jacobian(lambda x: x[0:0])(np.ones(3)).shape == (0, 3)


def test_minimize_takes_a_single_tensor():
    pytest.importorskip("scipy")
    from autodiff.optimize import minimize

    w = Tensor([3.0, -2.0], requires_grad=True)
    assert minimize(lambda: ((w - 1.0) ** 2).sum(), w).success
    np.testing.assert_allclose(w.data, [1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("method", ["dogleg", "trust-exact"])
def test_minimize_methods_that_need_the_whole_hessian(method):
    pytest.importorskip("scipy")
    from autodiff.optimize import minimize

    w = Tensor([3.0, -2.0], requires_grad=True)
    result = minimize(lambda: ((w - 1.0) ** 2).sum() + 0.01 * (w**4).sum(), [w], method=method)
    assert result.success
    np.testing.assert_allclose(w.data, [0.981113, 0.981113], atol=1e-4)


def test_detect_anomaly_in_one_thread_does_not_check_another():
    import threading

    inside, release = threading.Event(), threading.Event()

    def checker():
        with ad.detect_anomaly():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=checker)
    t.start()
    inside.wait(5)
    try:
        with np.errstate(all="ignore"):
            y = Tensor([0.0, 1.0], requires_grad=True).log()  # fine here: this thread asked for no checks
        assert np.isneginf(y.data[0])
    finally:
        release.set()
        t.join()
