"""ad.compile against the same code run eagerly: cases found in review."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autodiff as ad

EXACT = dict(rtol=1e-12, atol=1e-12)
rng = np.random.default_rng(0)


def T(a, rg=False):
    return ad.Tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def _grads(f, x):
    x.grad = None
    out = f(x)
    out.backward()
    g, x.grad = x.grad, None
    return out.data, g


def test_same_tensor_passed_twice_then_different_tensors():
    def fn(a, b):
        return (a * 2.0 + b).sum()

    f = ad.compile(fn)
    x = T(np.ones(3), True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # replayed, not run eagerly
        np.testing.assert_allclose(f(x, x).data, fn(x, x).data)
        y = T(np.full(3, 2.0), True)
        np.testing.assert_allclose(f(y, y).data, fn(y, y).data)
    a, b = T([1.0, 2, 3], True), T([10.0, 20, 30], True)
    np.testing.assert_allclose(f(a, b).data, fn(a, b).data)
    assert f.traces == 2


def test_same_array_passed_twice_then_different_arrays():
    W = T(np.ones(3), True)

    def fn(a, b):
        return (W * a * 2.0 + W * b).sum()

    f = ad.compile(fn)
    x = np.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(f(x, x).data, fn(x, x).data)
    a, b = np.array([1.0, 2, 3]), np.array([10.0, 20, 30])
    np.testing.assert_allclose(f(a, b).data, fn(a, b).data)


def test_detach_and_data_of_an_intermediate_are_read_per_call():
    def fn(x):
        h = x * 2.0
        return (x * h.detach() + x * h.data).sum()

    f = ad.compile(fn)
    f(T(np.ones(3), True))
    x = T([1.0, 2, 3], True)
    v1, g1 = _grads(f, x)
    v0, g0 = _grads(fn, x)
    np.testing.assert_allclose(v1, v0, **EXACT)
    np.testing.assert_allclose(g1, g0, **EXACT)


def test_parameter_first_read_under_no_grad_still_gets_its_gradient():
    W = T(rng.normal(size=(2, 3)), True)

    def fn(x):
        with ad.no_grad():
            scale = (W * W).sum()
        return (x @ W).sum() * scale

    f = ad.compile(fn)
    x = T(np.ones((4, 2)))
    for _ in range(2):
        W.grad = None
        fn(x).backward()
        eager, W.grad = W.grad, None
        f(x).backward()
        np.testing.assert_allclose(W.grad, eager, **EXACT)


def test_enable_grad_inside_records_under_an_outer_no_grad():
    W = T(rng.normal(size=3), True)

    def fn(x):
        with ad.enable_grad():
            return (x * W).tanh().sum()

    f = ad.compile(fn)
    x = T(np.ones(3))
    for _ in range(2):
        with ad.no_grad():
            eager, got = fn(x), f(x)
        assert got.requires_grad == eager.requires_grad
        eager.backward()
        g0, W.grad = W.grad, None
        got.backward()
        np.testing.assert_allclose(W.grad, g0, **EXACT)
        W.grad = None


def test_a_parameter_hook_runs_once_when_the_gradient_is_recorded():
    W = T(rng.normal(size=3), True)
    W.register_hook(lambda g: g * 2.0)

    def fn(x):
        return (x * W).tanh().sum()

    x = T(np.ones(3))
    (eager,) = ad.grad(fn(x), W, create_graph=True)
    f = ad.compile(fn)
    for _ in range(2):
        (got,) = ad.grad(f(x), W, create_graph=True)
        np.testing.assert_allclose(got.data, eager.data, **EXACT)


def test_a_trace_does_not_keep_the_trace_time_activations_alive(monkeypatch):
    import gc
    import weakref

    from autodiff.compiler.tracer import Tracer

    made = []
    record = Tracer.record

    def spy(self, op, out, *args, **kwargs):
        made.append(weakref.ref(out))
        return record(self, op, out, *args, **kwargs)

    monkeypatch.setattr(Tracer, "record", spy)
    W = T(rng.normal(size=(50, 50)), True)
    f = ad.compile(lambda x: (x @ W).tanh().sum())
    f(T(rng.normal(size=(100, 50))))
    gc.collect()
    assert f.traces == 1 and made
    assert [r for r in made if r() is not None] == []


def test_nan_and_negative_zero_scalar_arguments():
    fn = lambda x, s: (1.0 / (x * s)).sum()  # noqa: E731
    f = ad.compile(fn)
    x = T(np.ones(3), True)
    with np.errstate(all="ignore"):
        f(x, 0.0)
        np.testing.assert_array_equal(f(x, -0.0).data, fn(x, -0.0).data)
        for _ in range(5):
            f(x, float("nan"))
    assert f.traces == 3 and len(f._cache) == 3


def test_a_rebound_closure_array_traces_again():
    M = np.ones(3)

    def fn(x):
        return (x * M).sum()

    f = ad.compile(fn)
    x = T([1.0, 2.0, 3.0], True)
    f(x)
    M = np.full(3, 2.0)
    np.testing.assert_allclose(f(x).data, fn(x).data)
    assert f.traces == 2


def test_class_indices_in_a_float_tensor_are_read_per_call():
    import nn

    model = nn.Linear(2, 3, rng=np.random.default_rng(0))

    def fn(x, t):
        return nn.functional.cross_entropy(model(x), t)

    f = ad.compile(fn)
    X = T(rng.normal(size=(4, 2)))
    with pytest.warns(RuntimeWarning, match="argument 1"):
        f(X, ad.Tensor(np.array([0, 1, 2, 0])))  # a float64 Tensor, made integers inside
    t = ad.Tensor(np.array([2, 2, 1, 1]))
    np.testing.assert_allclose(f(X, t).data, fn(X, t).data, **EXACT)
