"""The minimal cases the differential fuzzer of `opt.compile_step` (tests/test_compile_step_fuzz.py,
tests/test_compile_step_fuzz_models.py) found, each as a plain regression test.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn


# ---------------------------------------------------------------------- found by the fuzzer
def test_a_loss_that_is_a_view_of_a_parameter_is_the_eager_loss():
    def make():
        W = ad.Tensor(np.array([0.0]), requires_grad=True)
        return nn.SGD([W], lr=0.1), lambda: W.reshape(())

    (opt, fn), (opt0, fn0) = make(), make()
    step = opt.compile_step(fn)
    E = step()
    opt0.zero_grad()
    E0 = fn0()
    E0.backward()
    opt0.step()
    np.testing.assert_array_equal(E.data, E0.data)


def test_a_parameter_whose_data_became_a_numpy_scalar_is_moved_or_refused():
    W = ad.Tensor(np.array(1.0), requires_grad=True)
    W.data = W.data - 0.5  # np.float64, not a 0-d array
    opt = nn.SGD([W], lr=0.1)
    (W * 2.0).backward()
    try:
        opt.step()
    except (TypeError, ValueError) as e:  # refused, loudly, naming what is wrong: fine too
        assert "data" in str(e)
        return
    assert float(W.data) == 0.5 - 0.1 * 2.0


def test_what_a_called_function_reads_is_watched():
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    cfg = {"scale": 1.0}

    def helper(x):
        return ((x @ W) * cfg["scale"]).sum()

    def fn(x):
        return helper(x)

    f = ad.compile(fn)
    x = ad.Tensor(np.ones((4, 3)))
    assert f(x).item() == fn(x).item() == 24.0
    cfg["scale"] = 3.0
    assert f(x).item() == fn(x).item() == 72.0  # the replay returns 24.0


def test_what_a_called_function_reads_is_watched_by_the_compiled_step():
    def make():
        W = ad.Tensor(np.zeros((3, 2)), requires_grad=True)
        cfg = {"scale": 1.0}

        def helper(x):
            return ((x @ W) * cfg["scale"]).sum()

        return cfg, (lambda x: helper(x)), nn.SGD([W], lr=0.1)

    (cfg, fn, opt), (cfg0, fn0, opt0) = make(), make()
    step = opt.compile_step(fn)
    x = ad.Tensor(np.ones((4, 3)))
    for i in range(3):
        if i == 2:
            cfg["scale"] = cfg0["scale"] = 3.0
        E = step(x)
        opt0.zero_grad()
        E0 = fn0(x)
        E0.backward()
        opt0.step()
        np.testing.assert_array_equal(E.data, E0.data)  # step 2: -19.2 compiled, -57.6 eagerly


@pytest.mark.parametrize("make_opt", [lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.01),
                                      lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                                      lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3)],
                         ids=["adam+decay", "nesterov+decay", "dampening"])
def test_a_parameter_cast_and_cast_back_steps_as_eagerly(make_opt):
    def make():
        W = ad.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        return W, make_opt([W]), lambda: (W * W).sum()

    (W, opt, fn), (W0, opt0, fn0) = make(), make()
    step = opt.compile_step(fn)
    for dtype in (None, np.float32, np.float64):
        if dtype is not None:
            W.data, W0.data = W.data.astype(dtype), W0.data.astype(dtype)
        step()
        opt0.zero_grad()
        fn0().backward()
        opt0.step()
        np.testing.assert_array_equal(W.data, W0.data)
