"""autodiff.aligned: arrays that start on a cache line, as np.empty / np.zeros_like otherwise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff import aligned

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_, np.complex128]
shapes = st.lists(st.integers(0, 70), min_size=0, max_size=3).map(tuple)


@given(st.lists(st.tuples(shapes, st.sampled_from(DTYPES)), min_size=1, max_size=6))
def test_empty_many_gives_each_shape_and_dtype_on_its_own_cache_line(specs):
    arrays = aligned.empty_many(specs)
    assert len(arrays) == len(specs)
    for a, (shape, dtype) in zip(arrays, specs):
        assert a.shape == shape and a.dtype == dtype
        assert a.size == 0 or a.ctypes.data % aligned.LINE == 0  # an empty array has no data to place
        assert a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
    for a, b in itertools.combinations(arrays, 2):
        assert not np.may_share_memory(a, b)
    for k, a in enumerate(arrays):  # writing one leaves the others as they were
        before = [b.copy() for b in arrays]
        a[...] = k + 1
        assert all(np.array_equal(b, c, equal_nan=b.dtype.kind in "fc") for j, (b, c) in enumerate(zip(arrays, before)) if j != k)
        assert np.all(a == np.asarray(k + 1).astype(a.dtype))


@given(shapes, st.sampled_from(DTYPES))
def test_zeros_like_is_numpys_on_a_cache_line(shape, dtype):
    a = np.full(shape, 3, dtype)
    z = aligned.zeros_like(a)
    np.testing.assert_array_equal(z, np.zeros_like(a))
    assert z.dtype == a.dtype and (z.size == 0 or z.ctypes.data % aligned.LINE == 0)


def test_empty_takes_an_int_or_a_tuple_and_an_object_dtype_gets_its_own_array():
    assert aligned.empty(5).shape == (5,) and aligned.empty(5).dtype == np.float64
    assert aligned.empty((2, 3), np.float32).shape == (2, 3) == aligned.empty([2, 3]).shape
    assert aligned.empty(np.int64(4)).shape == (4,)
    assert aligned.empty((), np.int64).shape == ()
    obj, num = aligned.empty_many([((3,), object), ((3,), np.float64)])
    assert obj.dtype == object and obj.base is None and num.ctypes.data % aligned.LINE == 0


@pytest.mark.parametrize("make", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), lambda ps: nn.Adam(ps, lr=0.01)])
def test_an_optimizers_state_and_scratch_start_on_cache_lines(make):
    """The optimizer writes its state and scratch on every step (see nn.optim.optimizer)."""
    model = nn.Sequential(nn.Linear(300, 256), nn.Tanh(), nn.Linear(256, 3))  # 300 × 256: in blocks
    opt = make(model.parameters())
    x = ad.Tensor(np.random.default_rng(0).normal(size=(8, 300)))
    model(x).sum().backward()
    opt.step()
    arrays = [a for a in [*opt._scratch, *opt._scratch2] if a is not None]
    arrays += [a for attr in opt._state.values() for a in getattr(opt, attr) if isinstance(a, np.ndarray)]
    assert len(arrays) >= 8
    assert all(a.ctypes.data % aligned.LINE == 0 for a in arrays)
