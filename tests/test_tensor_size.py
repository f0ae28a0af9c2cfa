"""`t.size` is NumPy's attribute (the element count); `t.size()`, PyTorch's habit, says so in a TypeError."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad


@pytest.mark.parametrize("shape", [(), (0,), (2, 3), (4, 0, 2)])
def test_size_is_numpys_element_count_an_int(shape):
    t = ad.Tensor(np.ones(shape), requires_grad=True)
    assert t.size == np.ones(shape).size and isinstance(t.size, int)
    assert repr(t.size) == str(np.ones(shape).size) and np.zeros(t.size).shape == (np.ones(shape).size,)


def test_calling_size_names_the_attribute_and_shape():
    t = ad.Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError) as info:
        t.size()
    assert "attribute" in str(info.value) and "t.shape" in str(info.value) and "6" in str(info.value)
    with pytest.raises(TypeError, match=r"t\.shape\[d\]"):
        t.size(0)
