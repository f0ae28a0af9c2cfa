"""Tensor construction, attributes and the Python protocols of SPEC §1."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff import Tensor


@pytest.mark.parametrize(
    "data, shape",
    [(3, ()), (2.5, ()), (True, ()), ([1, 2], (2,)), ([[1.0], [2.0]], (2, 1)), (np.arange(6).reshape(2, 3), (2, 3))],
)
def test_numbers_lists_and_arrays_become_float64(data, shape):
    t = Tensor(data)
    assert isinstance(t.data, np.ndarray) and t.dtype == np.float64 and t.shape == shape
    assert t.ndim == len(shape) and t.size == int(np.prod(shape))
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_float32_kept_and_dtype_argument():
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert ad.tensor([1.0], dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([1.0], dtype=np.int64)


def test_construction_copies_the_callers_array():
    a = np.ones(3)
    t = Tensor(a)
    a[0] = 5
    assert t.data[0] == 1.0
    u = Tensor(t)
    t.data[1] = 7
    assert u.data[1] == 1.0


def test_attributes_and_helpers():
    t = Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    assert t.is_leaf and t.requires_grad and t.name == "x" and t.grad is None
    y = t * 2
    assert not y.is_leaf and y.op == "mul" and t.op is None
    assert Tensor([[4.0]]).item() == 4.0 and isinstance(Tensor(4.0).item(), float)
    assert float(Tensor([4.0])) == 4.0
    assert t.numpy() is t.data
    np.testing.assert_array_equal(np.asarray(t.detach()), t.data)
    assert np.asarray(t.detach(), dtype=np.float32).dtype == np.float32
    with pytest.raises(RuntimeError, match=r"t\.detach\(\) or t\.data"):  # as PyTorch's .numpy(): the graph would go
        np.asarray(t)
    assert len(t) == 1 and [r.shape for r in t] == [(2,)]
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_repr_shows_values_grad_and_op():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert "op=tanh" in repr(Tensor([1.0], requires_grad=True).tanh())
    assert "dtype=float32" in repr(Tensor([1.0], dtype=np.float32))
    assert "name='w'" in repr(Tensor([1.0], name="w"))


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


def test_ndarray_on_the_left_comes_to_us():
    t = Tensor([1.0, 2.0], requires_grad=True)
    for y in (np.array([2.0, 3.0]) * t, np.array([2.0, 3.0]) + t, np.array([2.0, 3.0]) - t,
              np.array([2.0, 3.0]) / t, np.eye(2) @ t, np.array([2.0, 3.0]) ** t):
        assert isinstance(y, Tensor) and y.requires_grad


def test_reflected_scalar_operators():
    t = Tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_allclose((3 - t).data, [2.0, 1.0])
    np.testing.assert_allclose((3 / t).data, [3.0, 1.5])
    np.testing.assert_allclose((2**t).data, [2.0, 4.0])
    np.testing.assert_allclose((-t).data, [-1.0, -2.0])
    np.testing.assert_allclose(abs(-t).data, [1.0, 2.0])
    (3 / t).sum().backward()
    np.testing.assert_allclose(t.grad, -3 / t.data**2)


def test_manual_seed_makes_default_rng_reproducible():
    ad.manual_seed(7)
    a = ad.default_rng().normal(size=3)
    ad.manual_seed(7)
    np.testing.assert_array_equal(a, ad.default_rng().normal(size=3))


def test_the_core_import_is_light():
    import subprocess
    import sys

    heavy = ["matplotlib", "tqdm", "scipy", "hypothesis", "graphviz"]
    code = f"import sys, autodiff, nn; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
