"""The public testing helpers: gradcheck must catch wrong gradients, and strategies must generate
what they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
from autodiff.op import op
from autodiff.testing import GradcheckError, gradcheck, gradgradcheck, strategies


@op
def _square_forgets_g(x):
    """a deliberately wrong op: its VJP ignores the upstream gradient"""
    return x * x, (x,)


_square_forgets_g.vjp(lambda g, x: 2 * x)


@op
def _scale_mutates(x):
    """a deliberately bad op: its VJP writes into the gradient it was given"""
    return 3 * x, ()


def _bad_vjp(g):
    g *= 3
    return g


_scale_mutates.vjp(_bad_vjp)


def teardown_module():
    from autodiff.op import registry

    registry.pop("_square_forgets_g", None)
    registry.pop("_scale_mutates", None)
    registry.pop("_cube_flat_graph", None)


def test_gradcheck_passes_a_right_gradient_and_names_the_wrong_one():
    x = ad.Tensor([0.5, -1.0, 2.0], requires_grad=True, name="x")
    assert gradcheck(lambda x: x * x, x)
    with pytest.raises(GradcheckError, match=r"input 0 \('x'\) of shape \(3,\) is wrong at index"):
        gradcheck(_square_forgets_g, x)  # random upstream weights expose a VJP that ignores δ


def test_gradcheck_reports_both_values():
    x = ad.Tensor([2.0], requires_grad=True)
    with pytest.raises(GradcheckError, match=r"backward gives .* finite differences give"):
        gradcheck(lambda x: _square_forgets_g(x) * 5, x)


def test_gradcheck_catches_a_vjp_that_writes_into_its_input_gradient():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError, match="wrote into the upstream gradient"):
        gradcheck(_scale_mutates, x)
    with pytest.raises(GradcheckError, match="wrote into the upstream gradient"):
        gradcheck(lambda x: _scale_mutates(x).tanh() + x, x)  # also deep inside a graph


def test_gradcheck_catches_a_function_that_changes_its_input():
    def mutating(x):
        x.data[0] += 1.0
        return x * 1.0

    with pytest.raises(GradcheckError, match="changed an input"):
        gradcheck(mutating, ad.Tensor([1.0, 2.0], requires_grad=True))


def test_gradcheck_needs_something_to_check_and_leaves_inputs_alone():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, ad.Tensor([1.0]))
    x = ad.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    assert gradcheck(lambda x: x.exp(), x)
    assert x.grad is None and x.dtype == np.float32


@op
def _cube_flat_graph(x):
    """a deliberately wrong op: right first derivative, graph VJP that treats x as a constant"""
    return x**3, (x,)


_cube_flat_graph.vjp(lambda g, x: 3 * g * x * x)
_cube_flat_graph.graph_vjp(lambda g, z, xs, saved: 3 * g * saved[0] ** 2)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = ad.Tensor([0.3, -0.7], requires_grad=True)
    assert gradgradcheck(lambda x: x.tanh() * x.sin(), x)
    assert gradcheck(_cube_flat_graph, x)
    with pytest.raises(GradcheckError):
        gradgradcheck(_cube_flat_graph, x)


@given(strategies.tensors(shape=(3, 2)))
def test_tensors_strategy_shape_dtype_and_grad(x):
    assert isinstance(x, ad.Tensor) and x.shape == (3, 2) and x.dtype == np.float64 and x.requires_grad
    assert np.all(np.isfinite(x.data)) and np.all(np.abs(x.data) <= 3)


@given(strategies.tensors(shape=strategies.shapes(max_dims=2), dtype=np.float32, requires_grad=False))
def test_tensors_strategy_float32_and_shape_strategy(x):
    assert x.dtype == np.float32 and x.ndim <= 2 and not x.requires_grad


@given(strategies.broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)  # raises if they do not broadcast


@given(st.data())
def test_strategies_compose_with_gradcheck(data):
    a_shape, b_shape = data.draw(strategies.broadcastable_shapes())
    a = data.draw(strategies.tensors(shape=a_shape))
    b = data.draw(strategies.tensors(shape=b_shape))
    assert gradcheck(lambda a, b: (a * b).tanh(), a, b)
