"""PyTorch's `dim=` / `keepdim=` wherever NumPy's `axis=` / `keepdims=` is taken (SPEC §1), renamed in
one place (autodiff.op.TORCH_NAMES): every registered op with an `axis` parameter gets it."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import autodiff as ad
from autodiff.op import accepts_torch_names, registry

AXIS_OPS = sorted(
    name for name, o in registry.items()
    if o.forward.__module__.startswith("autodiff.") and "axis" in inspect.signature(o.forward).parameters
)


def _call(name, x, **kw):
    fn = getattr(ad, name)
    if registry[name].forward.__code__.co_varnames[0] == "xs":  # variadic: concatenate, stack
        return fn([x, x], **kw)
    return fn(x, **kw)


def test_the_ops_that_take_an_axis_are_found():
    assert {"sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax", "concatenate", "stack"} <= set(AXIS_OPS)


@pytest.mark.parametrize("name", AXIS_OPS)
def test_dim_is_axis_for_every_op_that_takes_an_axis(name):
    x = ad.Tensor(np.random.default_rng(0).normal(size=(2, 3)), requires_grad=True)
    try:
        expected = _call(name, x, axis=1)
    except (TypeError, ValueError) as e:  # an op whose axis needs other arguments too
        pytest.skip(f"{name}(x, axis=1) needs more: {e}")
    got = _call(name, x, dim=1)
    np.testing.assert_array_equal(got.data, expected.data)
    assert got.op == expected.op
    with pytest.raises(TypeError, match=f"{name}: got both axis=1 and dim=0"):
        _call(name, x, axis=1, dim=0)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp"])
def test_methods_take_dim_and_keepdim(name):
    x = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    method = getattr(x, name)
    np.testing.assert_array_equal(method(dim=1, keepdim=True).data, method(axis=1, keepdims=True).data)
    np.testing.assert_array_equal(method(dim=(0, 1)).data, method(axis=(0, 1)).data)
    np.testing.assert_array_equal(getattr(ad, name)(x, dim=-1, keepdim=True).data, method(-1, True).data)
    with pytest.raises(TypeError, match="got both"):
        method(0, dim=1)
    with pytest.raises(TypeError, match="dimm"):
        method(dimm=1)


def test_softmax_method_takes_dim_with_its_own_default():
    x = ad.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.softmax(dim=0).data, x.softmax(0).data)
    np.testing.assert_array_equal(x.log_softmax(dim=-1).data, x.log_softmax().data)


def test_a_gradient_through_dim_is_the_gradient_through_axis():
    x = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (g1,) = ad.grad((x.max(dim=0) * ad.Tensor([1.0, 2.0, 3.0])).sum(), x)
    (g2,) = ad.grad((x.max(axis=0) * ad.Tensor([1.0, 2.0, 3.0])).sum(), x)
    np.testing.assert_array_equal(g1.data, g2.data)


def test_a_composed_function_gets_the_same_rule():
    @accepts_torch_names
    def total(x, axis=None, keepdims=False):
        return ad.sum(x, axis=axis, keepdims=keepdims)

    x = ad.Tensor(np.ones((2, 3)))
    assert total(x, dim=0, keepdim=True).shape == (1, 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        total(x, dims=0)
