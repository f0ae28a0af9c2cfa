"""Products that contract axes: dot, vdot, inner, outer, tensordot, kron, as NumPy defines them.

Each is one einsum (or a matmul), so its derivative is einsum's: δ of one factor is δ_z
contracted with the other factor.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from autodiff.ops.arithmetic import matmul, mul
from autodiff.ops.einsum import LETTERS, einsum
from autodiff.ops.shape import reshape
from autodiff.shapes import normalize_axis
from autodiff.tensor import Tensor, as_tensor


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return as_tensor(np.asarray(a, dtype=b.dtype) if not isinstance(a, np.ndarray) else a), b
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        return a, as_tensor(np.asarray(b, dtype=a.dtype) if not isinstance(b, np.ndarray) else b)
    return as_tensor(a), as_tensor(b)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """z = Σ over a's `axes[0]` and b's `axes[1]` (or a's last n and b's first n) of a ⊗ b, as np.tensordot."""
    a, b = _pair(a, b)
    if isinstance(axes, (numbers.Integral, np.integer)):
        n = int(axes)
        if n < 0 or n > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: cannot contract {n} axes of shapes {a.shape} and {b.shape}")
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            ax_a, ax_b = (list(np.atleast_1d(x)) for x in axes)
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
        if len(ax_a) != len(ax_b):
            raise ValueError(f"tensordot: axes {axes!r} pair up unequal numbers of axes")
    ax_a = [normalize_axis(x, a.ndim, "tensordot") for x in ax_a]
    ax_b = [normalize_axis(x, b.ndim, "tensordot") for x in ax_b]
    letters = iter(LETTERS)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} differ along axes {i} and {j}")
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [c for j, c in enumerate(sb) if j not in ax_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def dot(a: Any, b: Any) -> Tensor:
    """np.dot: a product for scalars, the inner product of vectors, matmul of matrices, and for N-D
    a sum over a's last axis and b's second-to-last."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"dot: shapes {a.shape} and {b.shape} are not aligned")
        return matmul(a, b)
    return tensordot(a, b, ([-1], [max(b.ndim - 2, 0)]))


def vdot(a: Any, b: Any) -> Tensor:
    """z = Σ aᵢ bᵢ over the flattened tensors (np.vdot, real)."""
    a, b = _pair(a, b)
    if a.size != b.size:
        raise ValueError(f"vdot: sizes {a.size} and {b.size} differ")
    return einsum("i,i->", reshape(a, -1), reshape(b, -1))


def inner(a: Any, b: Any) -> Tensor:
    """np.inner: a sum over the last axes of a and b (a product if either is a scalar)."""
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return tensordot(a, b, ([-1], [-1]))


def outer(a: Any, b: Any) -> Tensor:
    """z[i, j] = a[i] b[j] of the flattened tensors (np.outer)."""
    a, b = _pair(a, b)
    return einsum("i,j->ij", reshape(a, -1), reshape(b, -1))


def kron(a: Any, b: Any) -> Tensor:
    """The Kronecker product (np.kron): blocks a[i, j] · b, on each axis."""
    a, b = _pair(a, b)
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    sa, sb = LETTERS[:nd], LETTERS[nd:2 * nd]
    z = einsum(f"{sa},{sb}->" + "".join(x + y for x, y in zip(sa, sb)), a, b)
    return reshape(z, tuple(m * n for m, n in zip(a.shape, b.shape)))
