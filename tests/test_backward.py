"""The backward walk on the graph shapes that broke other small autograds, and its contract."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import autodiff as ad
from autodiff import Tensor


def test_diamond_sums_both_paths():
    # x feeds two branches that meet again: δ_x = Σ over both paths.
    x = Tensor(1.5, requires_grad=True)
    a = x.tanh()
    b = x * 3.0
    y = a * b
    y.backward()
    t = np.tanh(1.5)
    assert x.grad == pytest.approx((1 - t * t) * 3 * 1.5 + t * 3)


def test_reuse_of_the_same_tensor():
    a = Tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data**2)


def test_chain_of_100000_ops_needs_no_recursion():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_backward_twice_accumulates_into_leaves_only():
    w = Tensor([1.0, -2.0], requires_grad=True)
    h = w * 3.0
    y = (h * h).sum()
    y.backward()
    first = w.grad.copy()
    y.backward()
    np.testing.assert_allclose(w.grad, 2 * first)
    np.testing.assert_allclose(first, 18 * w.data)
    assert h.grad is None and y.grad is None  # intermediates keep no .grad


def test_leaf_grads_never_alias():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (a + b).backward(seed)
    a.grad *= 10  # writing into one .grad must not change another, nor the seed
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    c = Tensor([[1.0, 2.0]], requires_grad=True)
    c.reshape(2).backward(np.array([1.0, 1.0]))
    assert c.grad.base is None and c.grad.flags.writeable


def test_broadcast_gradient_is_summed_to_the_input_shape():
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    b = Tensor(np.zeros((1, 3)), requires_grad=True)
    s = Tensor(2.0, requires_grad=True)
    (x * s + b).backward(np.arange(12.0).reshape(4, 3))
    np.testing.assert_array_equal(b.grad, [[18.0, 22.0, 26.0]])
    assert s.grad.shape == () and s.grad == 66.0


def test_graph_is_freed_by_reference_counting():
    gc.collect()
    gc.disable()
    try:
        w = Tensor(np.ones((3, 3)), requires_grad=True)
        for _ in range(5):
            y = ((w @ w).tanh() * 2 + w).sum()
            y.backward()
            w.data -= 0.01 * w.grad
            w.grad = None
        del y
        assert gc.collect() == 0  # no reference cycles: nothing was left for the cyclic GC
    finally:
        gc.enable()


def test_requires_grad_propagates_and_detach_cuts():
    a = Tensor([1.0], requires_grad=True)
    c = Tensor([2.0])
    assert (a * c).requires_grad and not (c * c).requires_grad
    d = (a * 2).detach()
    assert not d.requires_grad and d.is_leaf
    e = a * 2
    assert np.shares_memory(e.detach().data, e.data)


def test_no_grad_context_and_decorator():
    a = Tensor([1.0], requires_grad=True)
    with ad.no_grad():
        assert not (a * 2).requires_grad
        with ad.enable_grad():
            assert (a * 2).requires_grad
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()

    @ad.no_grad()
    def f(x):
        return x * 2

    assert not f(a).requires_grad
    assert (a * 2).requires_grad


def test_no_grad_and_enable_grad_decorate_without_parentheses_too():
    a = Tensor([1.0], requires_grad=True)

    @ad.no_grad
    def doubled(x):
        """Twice x, unrecorded."""
        return x * 2, ad.is_grad_enabled()

    @ad.enable_grad
    def recorded(x):
        return x * 2

    out, enabled = doubled(a)
    assert not out.requires_grad and not enabled
    assert ad.is_grad_enabled()  # restored after the call
    assert doubled.__name__ == "doubled" and doubled.__doc__ == "Twice x, unrecorded."
    with ad.no_grad():
        assert recorded(a).requires_grad
    with pytest.raises(TypeError, match=r"no_grad\(\) takes no arguments, or a function to decorate; got int"):
        ad.no_grad(3)


def test_no_grad_is_per_thread():
    a = Tensor([1.0], requires_grad=True)
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def worker():
        with ad.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (a * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = (a * 2).requires_grad  # while the worker is inside no_grad
    release.set()
    t.join()
    assert seen == {"main": True, "worker": False}


def test_grad_function_leaves_dot_grad_untouched():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    z = Tensor([5.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw, gz = ad.grad(y, [x, w, z])
    np.testing.assert_array_equal(gx.data, w.data)
    np.testing.assert_array_equal(gw.data, x.data)
    np.testing.assert_array_equal(gz.data, [0.0])  # y does not depend on z
    assert x.grad is None and w.grad is None and z.grad is None


def test_grad_with_respect_to_an_intermediate():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    (gh,) = ad.grad(y, h)
    np.testing.assert_array_equal(gh.data, 2 * h.data)


def test_hooks_see_and_replace_the_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.data.copy()))
    h.register_hook(lambda g: g * 0)  # replaces: nothing reaches x
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    handle.remove()
    assert len(h._hooks) == 1


def test_float32_end_to_end():
    x = Tensor(np.ones((2, 3)), dtype=np.float32, requires_grad=True)
    w = Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    y = ((x @ w).tanh() * 0.5 + 1).log_softmax().mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
