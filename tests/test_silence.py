"""No silence (SPEC §8, issue 24): wherever an argument may hold Tensors, the result keeps the graph or
the call raises; it never comes back as a constant.

The sweep calls every public callable of `numpy` and `numpy.linalg` with a Tensor that requires grad
and with a list of two of them, and asserts each one raises, or returns Tensors that keep the graph,
or is one of the few whose answer has no gradient by nature (comparisons, indices, shapes, types). A
two-second alarm and a 2 × 2 input keep a stray constructor from hanging or eating memory.
"""

from __future__ import annotations

import inspect
import signal
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.numpy_api import NUMPY

# Answers without a gradient by nature: booleans, indices, shapes (the NumPy table's own rows), and
# the integer/boolean reductions, as NumPy gives them.
GRADIENT_FREE = {name for name, (ours, _, _) in NUMPY.items() if ours is None} | {
    "argmax", "argmin", "all", "any", "argsort",
}
# Answers about the object, not values a gradient could flow through: its type, its printout, whether
# it is iterable or a scalar; np.bmat returns None for anything but a string, list or ndarray; an
# exception class takes anything as its message.
ABOUT_THE_OBJECT = {"isscalar", "iterable", "dtype", "finfo", "str_", "bmat", "linalg.LinAlgError"}
# Results whose part has no gradient by nature: slogdet's sign (±1, piecewise constant).
CONSTANT_PARTS = {"linalg.slogdet": {0}}
# Callables that print, read or write files, change global state, or run NumPy's own test suite.
NOT_CALLED = {
    "test", "show_config", "show_runtime", "info", "set_printoptions", "seterr", "seterrcall", "setbufsize",
    "printoptions", "errstate", "get_include", "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt",
    "genfromtxt", "fromfile", "memmap", "lookfor", "source", "fromregex", "frompyfunc", "vectorize", "nditer",
    "nested_iters",
}


def _callables():
    found = []
    for prefix, module in (("", np), ("linalg.", np.linalg)):
        for name in sorted(n for n in dir(module) if not n.startswith("_")):
            f = getattr(module, name)
            if callable(f) and not inspect.ismodule(f) and name not in NOT_CALLED:
                found.append((prefix + name, f))
    return found


CALLABLES = _callables()


class _Slow(Exception):
    pass


def _alarm(*_):
    raise _Slow


def _call(f, arg):
    """('raised', error) or ('returned', value), within two seconds."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(2)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "returned", f(arg)
    except _Slow:
        pytest.fail(f"{f} did not answer within 2 s")
    except Exception as e:  # raising is an answer: it is not silent
        return "raised", e
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _graph_less(value):
    """The parts of a result that are not Tensors keeping the graph (a tuple's too, e.g. svd's)."""
    if isinstance(value, ad.Tensor):
        return [] if value.requires_grad else [value]
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, (ad.Tensor, tuple, list)) for v in value):
        return [p for v in value for p in _graph_less(v)]
    return [value]


def test_the_sweep_covers_numpy_and_linalg():
    names = {n for n, _ in CALLABLES}
    assert len(names) > 300 and {"mean", "prod", "asarray", "concatenate", "linalg.norm", "linalg.inv"} <= names


@pytest.mark.parametrize("form", ["tensor", "list of tensors"])
def test_no_numpy_callable_returns_a_graphless_value(form):
    silent = []
    for name, f in CALLABLES:
        t = ad.Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        arg = t if form == "tensor" else [t, t]
        kind, value = _call(f, arg)
        if kind == "raised" or name in ABOUT_THE_OBJECT or name in GRADIENT_FREE:
            continue
        if name in CONSTANT_PARTS:
            value = [v for i, v in enumerate(value) if i not in CONSTANT_PARTS[name]]
        lost = _graph_less(value)
        if lost:
            silent.append(f"{name}({form}) -> {type(lost[0]).__name__}")
    assert not silent, "graph dropped without a word: " + ", ".join(silent)


def test_the_gradient_free_answers_are_what_numpy_gives():
    t = ad.Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    assert np.argmax(t) == 2 and np.all(np.isfinite(t)) and np.shape(t) == (2, 2)
    assert not isinstance(np.argmin(t, axis=0), ad.Tensor)


# ---------------------------------------------------------------------- the cases reported in the issue
def _d(y, a):
    (g,) = ad.grad(y.sum(), a)
    return g.data


@pytest.mark.parametrize("make", [
    lambda c, a: c * [a, a], lambda c, a: [a, a] * c, lambda c, a: ad.add(c, [a, a]), lambda c, a: c - [a, a] + ad.mul(2.0, [a, a]),
    lambda c, a: ad.where(np.array([True, False]), [a, a], c) + ad.where(np.array([False, True]), c, [a, a]),
    lambda c, a: np.where(np.array([True, True]), [a, a], c), lambda c, a: np.concatenate([c[:0], [a, a]]),
    lambda c, a: ad.stack([c, [a, a]])[1], lambda c, a: ad.concatenate([c[:0], [a], (a,)]),
    lambda c, a: ad.maximum([a, a], c - 10), lambda c, a: np.add(c * 0, [a, a]), lambda c, a: ad.mul([a, a], 1.0),
    lambda c, a: ad.tanh([a, a]) * 0 + [a, a], lambda c, a: np.stack([c * 0, [a, [a]][:1] * 2]).sum(0) + a,
], ids=["c*[a,a]", "[a,a]*c", "c+[a,a]", "c-[a,a]+2*[a,a]", "ad.where", "np.where", "np.concatenate", "ad.stack",
        "ad.concatenate-tuple", "ad.maximum", "np.add", "ad.mul", "ad.tanh", "nested"])
def test_tensors_inside_lists_are_stacked_into_the_graph(make):
    c = ad.Tensor([3.0, 5.0], requires_grad=True)
    a = ad.Tensor(2.0, requires_grad=True)
    y = make(c, a)
    assert isinstance(y, ad.Tensor) and y.requires_grad
    g = _d(y, a)
    assert g != 0  # before: 0, the list's Tensors were constants
    eps = 1e-6
    with ad.no_grad():
        up = make(c, ad.Tensor(2.0 + eps)).data.sum()
        down = make(c, ad.Tensor(2.0 - eps)).data.sum()
    np.testing.assert_allclose(g, (up - down) / (2 * eps), rtol=1e-6)


def test_a_list_of_ragged_tensors_cannot_be_stacked_and_says_so():
    a = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="a list holding Tensors is stacked to keep the graph"):
        a * [a, a[:1]]


@pytest.mark.parametrize("call", [
    lambda x: np.asarray(x), lambda x: np.array(x), lambda x: np.array([x, x * x]), lambda x: np.asanyarray(x),
    lambda x: np.ascontiguousarray(x), lambda x: np.require(x), lambda x: np.r_[x, x], lambda x: np.c_[x, x],
    lambda x: np.mean([x, x + 2]), lambda x: np.prod([x + 1, x + 2]), lambda x: np.sum([x, x]),
    lambda x: np.asarray([[x]]), lambda x: np.float64(x[0]) + np.array([x[0]]),
], ids=["asarray", "array", "array-list", "asanyarray", "ascontiguousarray", "require", "r_", "c_", "mean-list",
        "prod-list", "sum-list", "asarray-nested", "array-scalar"])
def test_numpy_constructors_refuse_a_tensor_that_requires_grad(call):
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"drop its graph.*t\.detach\(\) or t\.data"):
        call(x)


def test_np_append_is_refused_by_name():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.append is not supported on Tensors"):
        np.append(x, x)


def test_asarray_gives_the_data_when_there_is_no_graph_to_drop():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    c = ad.Tensor([1.0, 2.0])
    assert np.asarray(c) is c.data
    np.testing.assert_array_equal(np.array([c, c * 2]), [[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])
    with ad.no_grad():
        np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])
        np.testing.assert_array_equal(ad.Tensor([x, x]).data, [[1.0, 2.0], [1.0, 2.0]])


def test_a_new_tensor_from_a_list_of_tensors_that_require_grad_is_refused():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"a new tensor is a leaf.*ad\.stack"):
        ad.Tensor([x, x])
    assert ad.Tensor([x.detach(), x.data]).shape == (2, 2)
