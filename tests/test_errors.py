"""Every bad input gets a clear error and leaves every tensor and gradient exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff import Tensor


@pytest.mark.parametrize(
    "data, match",
    [
        ("abc", "str"),
        (None, "NoneType"),
        ({"a": 1}, "dict"),
        ([[1.0], [2.0, 3.0]], "rectangular"),
        ([1.0, "x"], "strings"),
        (1 + 2j, "complex"),
        (np.array([1 + 1j]), "complex"),
        (np.array([object()]), "dtype object"),
        (np.array(["a"]), "strings"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    ],
)
def test_non_numeric_data_is_a_type_error(data, match):
    with pytest.raises(TypeError, match=match):
        Tensor(data)


def _state(*ts):
    return [(t.data.copy(), None if t.grad is None else t.grad.copy()) for t in ts]


def _unchanged(ts, before):
    for t, (d, g) in zip(ts, before):
        np.testing.assert_array_equal(t.data, d)
        if g is None:
            assert t.grad is None
        else:
            np.testing.assert_array_equal(t.grad, g)


def _pair(sa, sb):
    a = Tensor(np.ones(sa), requires_grad=True)
    b = Tensor(np.ones(sb), requires_grad=True)
    a.grad = np.full(sa, 0.5)
    return a, b


BAD_CALLS = [
    ("add", lambda a, b: a + b, (3,), (4,), ValueError, r"add: shapes \(3,\) and \(4,\) cannot be broadcast"),
    ("sub", lambda a, b: a - b, (2, 3), (3, 2), ValueError, r"sub: shapes \(2, 3\) and \(3, 2\)"),
    ("mul", lambda a, b: a * b, (2,), (3,), ValueError, r"mul: shapes \(2,\) and \(3,\)"),
    ("div", lambda a, b: a / b, (2,), (3,), ValueError, r"div: shapes"),
    ("pow", lambda a, b: a**b, (2,), (3,), ValueError, r"pow: shapes"),
    ("maximum", ad.maximum, (2,), (3,), ValueError, r"maximum: shapes"),
    ("minimum", ad.minimum, (2,), (3,), ValueError, r"minimum: shapes"),
    ("matmul", lambda a, b: a @ b, (3, 4), (5, 2), ValueError, r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"),
    ("where", lambda a, b: ad.where(np.ones(5, bool), a, b), (2,), (2,), ValueError, r"where: shapes"),
    ("concatenate", lambda a, b: ad.concatenate([a, b], axis=0), (2, 3), (2, 4), ValueError,
     r"concatenate: shapes \(2, 3\), \(2, 4\) must match"),
    ("stack", lambda a, b: ad.stack([a, b]), (2,), (3,), ValueError, r"stack: shapes \(2,\), \(3,\) must all be equal"),
    ("reshape", lambda a, b: a.reshape(4), (2, 3), (1,), ValueError, r"reshape: cannot reshape .* \(2, 3\) into \(4,\)"),
    ("transpose", lambda a, b: a.transpose(0, 0), (2, 3), (1,), ValueError, "transpose: axes"),
    ("sum axis", lambda a, b: a.sum(axis=2), (2, 3), (1,), ValueError, "sum: axis 2 is out of range"),
    ("mean axis", lambda a, b: a.mean(axis=(0, 0)), (2, 3), (1,), ValueError, "mean: axis .* repeats"),
    ("max axis", lambda a, b: a.max(axis="0"), (2, 3), (1,), TypeError, "max: axis must be"),
    ("max empty", lambda a, b: a.max(axis=0), (0, 3), (1,), ValueError, "max: cannot reduce an empty axis"),
    ("softmax axis", lambda a, b: a.softmax(axis=3), (2, 3), (1,), ValueError, "softmax: axis 3 is out of range"),
    ("clip bounds", lambda a, b: a.clip(1.0, -1.0), (2,), (1,), ValueError, "clip: lo"),
    ("clip none", lambda a, b: a.clip(), (2,), (1,), ValueError, "clip: give lo, hi"),
    ("getitem", lambda a, b: a[5], (2,), (1,), IndexError, "out of bounds"),
    ("getitem float", lambda a, b: a[np.array([0.5])], (2,), (1,), IndexError, "integers or bools"),
    ("concatenate none", lambda a, b: ad.concatenate([]), (2,), (1,), ValueError, "at least one"),
    ("concatenate type", lambda a, b: ad.concatenate(a), (2,), (1,), TypeError, "list or tuple"),
    ("operand type", lambda a, b: a + "x", (2,), (1,), TypeError, "str"),
    ("operand None", lambda a, b: a * None, (2,), (1,), TypeError, "NoneType"),
]


@pytest.mark.parametrize("name, call, sa, sb, error, match", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_op_calls_raise_clearly_and_change_nothing(name, call, sa, sb, error, match):
    a, b = _pair(sa, sb)
    before = _state(a, b)
    with pytest.raises(error, match=match):
        call(a, b)
    _unchanged([a, b], before)


def test_backward_of_a_non_scalar_needs_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([0.1, 0.2])
    y = x * 2
    before = _state(x)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the tensor has shape \(2,\)"):
        y.backward(np.ones(3))
    _unchanged([x], before)


def test_backward_without_requires_grad_is_a_runtime_error():
    x = Tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (x * 2).sum().backward()
    assert x.grad is None


def test_grad_misuse():
    x = Tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="input does not require grad"):
        ad.grad(y, Tensor([1.0]))
    with pytest.raises(TypeError, match="must be Tensors"):
        ad.grad(y, [np.ones(1)])
    with pytest.raises(ValueError, match="1 outputs but 2 grad_outputs"):
        ad.grad(y, x, [None, None])
    assert x.grad is None
