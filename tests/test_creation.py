"""Creation functions (SPEC §1): shapes as ints, tuples or *args, `dtype=`, `requires_grad=`, the
engine's seeded generator, and clear errors for bad shapes and dtypes, checked against NumPy and
PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

FILLED = [("zeros", np.zeros), ("ones", np.ones), ("empty", np.empty)]


@pytest.mark.parametrize("name, ref", FILLED, ids=[n for n, _ in FILLED])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3)])
def test_shapes_as_args_tuples_lists_and_size(name, ref, shape):
    fn = getattr(ad, name)
    for t in (fn(*shape), fn(shape), fn(list(shape)), fn(size=shape)):
        assert isinstance(t, ad.Tensor) and t.shape == shape and t.dtype == np.float64
        assert t.is_leaf and not t.requires_grad
        if name != "empty":
            np.testing.assert_array_equal(t.data, ref(shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", np.float16])
def test_dtype_and_requires_grad_everywhere(dtype):
    made = [
        ad.zeros(2, dtype=dtype, requires_grad=True), ad.ones(2, dtype=dtype, requires_grad=True),
        ad.empty(2, dtype=dtype, requires_grad=True), ad.full((2,), 7, dtype=dtype, requires_grad=True),
        ad.arange(3, dtype=dtype, requires_grad=True), ad.linspace(0, 1, 5, dtype=dtype, requires_grad=True),
        ad.eye(3, dtype=dtype, requires_grad=True), ad.rand(2, dtype=dtype, requires_grad=True),
        ad.randn(2, 2, dtype=dtype, requires_grad=True), ad.randint(0, 5, (3,), dtype=dtype, requires_grad=True),
    ]
    for t in made:
        assert t.dtype == np.dtype(dtype) and t.requires_grad and t.is_leaf
    x = made[-2]
    (x * x).sum().backward()
    assert x.grad.dtype == np.dtype(dtype)


def test_like_forms_keep_shape_and_float_dtype():
    x = ad.Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    for t in (ad.zeros_like(x), ad.ones_like(x), ad.full_like(x, 2.5)):
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    np.testing.assert_array_equal(ad.full_like(x, 2.5).data, np.full((2, 3), 2.5, np.float32))
    assert ad.zeros_like(np.arange(3)).dtype == np.float64  # an integer array's like is float
    assert ad.ones_like(x, dtype=np.float64, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="zeros_like: expected a Tensor or an ndarray"):
        ad.zeros_like([1, 2])


def test_values_match_numpy():
    np.testing.assert_array_equal(ad.arange(5).data, np.arange(5.0))
    np.testing.assert_array_equal(ad.arange(1, 2, 0.25).data, np.arange(1, 2, 0.25))
    np.testing.assert_array_equal(ad.linspace(-1, 1, 7).data, np.linspace(-1, 1, 7))
    np.testing.assert_array_equal(ad.linspace(0, 1, steps=4).data, np.linspace(0, 1, 4))
    np.testing.assert_array_equal(ad.eye(3, 4, k=1).data, np.eye(3, 4, 1))
    np.testing.assert_array_equal(ad.full((2, 2), -3).data, np.full((2, 2), -3.0))


def test_integer_aranges_and_randints_index_like_long_tensors():
    x = ad.Tensor([10.0, 20.0, 30.0], requires_grad=True)
    np.testing.assert_array_equal(x[ad.arange(3)].data, [10.0, 20.0, 30.0])
    i = ad.randint(0, 3, (5,))
    assert np.all((i.data >= 0) & (i.data < 3)) and i.data.dtype == np.float64
    np.testing.assert_array_equal(x[i].data, x.data[i.data.astype(int)])
    assert ad.randint(4, (2, 2)).shape == (2, 2)  # PyTorch's randint(high, size)
    assert ad.randint(4, size=3).shape == (3,)
    with pytest.raises(TypeError, match="floats"):
        x[ad.arange(0.0, 3.0)]  # float arange is not an index


def test_random_tensors_follow_manual_seed_and_rng():
    ad.manual_seed(7)
    a = (ad.rand(3).data, ad.randn(2, 2).data, ad.randint(0, 100, (4,)).data)
    ad.manual_seed(7)
    b = (ad.rand(3).data, ad.randn(2, 2).data, ad.randint(0, 100, (4,)).data)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(ad.rand(3, rng=np.random.default_rng(1)).data, np.random.default_rng(1).random(3))
    r = ad.rand(2000).data
    assert 0 <= r.min() and r.max() < 1
    n = ad.randn(4000, dtype=np.float32, rng=np.random.default_rng(0)).data
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1


@pytest.mark.parametrize("call, error, match", [
    (lambda: ad.zeros(2, -1), ValueError, "zeros: negative dimension -1"),
    (lambda: ad.ones(2.5), TypeError, "ones: a shape holds integers"),
    (lambda: ad.zeros((2,), size=(3,)), TypeError, "not both"),
    (lambda: ad.zeros(2, dtype=np.int64), TypeError, "floating-point"),
    (lambda: ad.full((2,), "a"), TypeError, "full: fill_value must be a real number"),
    (lambda: ad.arange(0, 3, 0), ValueError, "arange: step must not be zero"),
    (lambda: ad.arange("3"), TypeError, "arange: stop must be a real number"),
    (lambda: ad.linspace(0, 1, -2), ValueError, "linspace: num"),
    (lambda: ad.randint(3, 3), ValueError, "randint: high"),
    (lambda: ad.randint(0.5, 3), TypeError, "randint: low must be an integer"),
    (lambda: ad.eye(-2), ValueError, "eye: negative dimension"),
])
def test_bad_arguments_are_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    pairs = [
        (ad.zeros(2, 3), torch.zeros(2, 3, dtype=torch.float64)),
        (ad.ones((3,)), torch.ones((3,), dtype=torch.float64)),
        (ad.full((2, 2), 1.5), torch.full((2, 2), 1.5, dtype=torch.float64)),
        (ad.arange(1, 4, 0.5), torch.arange(1, 4, 0.5, dtype=torch.float64)),
        (ad.linspace(0, 1, steps=5), torch.linspace(0, 1, steps=5, dtype=torch.float64)),
        (ad.eye(3, 2), torch.eye(3, 2, dtype=torch.float64)),
        (ad.zeros_like(ad.ones(2, 3)), torch.zeros_like(torch.ones(2, 3, dtype=torch.float64))),
    ]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours.data, theirs.numpy())
