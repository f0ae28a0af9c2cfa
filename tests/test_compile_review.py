"""Review of ad.compile: each test compares a compiled function against the same code run eagerly."""

from __future__ import annotations

import numpy as np

import autodiff as ad

EXACT = dict(rtol=1e-12, atol=1e-12)
rng = np.random.default_rng(0)


def T(a, rg=False):
    return ad.Tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)

def test_same_tensor_passed_twice_then_different_tensors():
    def fn(a, b):
        return (a * 2.0 + b).sum()

    f = ad.compile(fn)
    x = T(np.ones(3), True)
    f(x, x)
    a, b = T([1.0, 2, 3], True), T([10.0, 20, 30], True)
    np.testing.assert_allclose(f(a, b).data, fn(a, b).data)


def test_same_array_passed_twice_then_different_arrays():
    W = T(np.ones(3), True)

    def fn(a, b):
        return (W * a * 2.0 + W * b).sum()

    f = ad.compile(fn)
    x = np.ones(3)
    f(x, x)
    a, b = np.array([1.0, 2, 3]), np.array([10.0, 20, 30])
    np.testing.assert_allclose(f(a, b).data, fn(a, b).data)
