"""`ad.linalg`: NumPy's `numpy.linalg` on Tensors, differentiable (real matrices, batched as NumPy).

inv, det, slogdet, solve, cholesky, eigh, eigvalsh, svd (reduced), svdvals, qr (reduced), pinv,
matrix_power, multi_dot, norm. The derivative rules and their degenerate cases (repeated
eigenvalues or singular values give ±∞ / NaN, as in PyTorch) are in `autodiff.ops.linalg`.

>>> import autodiff as ad
>>> a = ad.Tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> ad.linalg.det(a).backward()
>>> a.grad
array([[ 3., -1.],
       [-1.,  2.]])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from autodiff.op import accepts_torch_names
from autodiff.ops.arithmetic import matmul
from autodiff.ops.linalg import cholesky, det, eigh_packed, inv, logabsdet, pinv, qr_packed, svd_packed, unpack
from autodiff.ops.linalg import solve as _solve
from autodiff.ops.shape import reshape, where
from autodiff.tensor import Tensor, as_tensor

__all__ = [
    "EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "det", "eigh", "eigvalsh", "inv",
    "matrix_power", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
]


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    sign: np.ndarray
    logabsdet: Tensor


def solve(a: Any, b: Any) -> Tensor:
    """x with a x = b: b a vector (n,) or matrices (…, n, k), as NumPy 2;  δ_b = a⁻ᵀ δ_x, δ_a = −δ_b xᵀ."""
    b = as_tensor(b)
    if b.ndim == 1:
        return reshape(_solve(a, reshape(b, (-1, 1))), -1)
    return _solve(a, b)


def slogdet(a: Any) -> SlogdetResult:
    """(sign, log |det a|): the sign an ndarray (no gradient), the log a Tensor;  δ_a = δ a⁻ᵀ."""
    a = as_tensor(a)
    return SlogdetResult(np.linalg.slogdet(a.data)[0], logabsdet(a))


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices (their lower triangle is read).

    δ_a = V (diag(δλ) + sym(Vᵀ δV) / (λⱼ − λᵢ)) Vᵀ: ±∞/NaN where eigenvalues repeat and the
    eigenvectors were used (their directions are not unique there), as in PyTorch."""
    if UPLO != "L":
        raise ValueError(f"eigh: only UPLO='L' (the lower triangle) is supported, got {UPLO!r}")
    z = eigh_packed(a)
    n = a.shape[-1]
    w, v = unpack(z, (1, n), (n, n))
    return EighResult(reshape(w, (*w.shape[:-2], n)), v)


def eigvalsh(a: Any, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric matrices, ascending;  δ_a = V diag(δλ) Vᵀ (exact also where they repeat)."""
    return eigh(a, UPLO).eigenvalues


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """U, S, Vh with a = U diag(S) Vh, reduced: U (…, m, k), S (…, k), Vh (…, k, n), k = min(m, n).

    NumPy's default `full_matrices=True` is refused for non-square a (only the reduced SVD is
    differentiable): pass `full_matrices=False`. With `compute_uv=False`, S alone. The gradient is
    ±∞/NaN where singular values repeat (or vanish, for the extra columns of a non-square a) and U
    or Vh was used, as in PyTorch; of S alone it is U diag(δS) Vh, exact."""
    a = as_tensor(a)
    if hermitian:
        raise ValueError("svd: hermitian=True is not supported; use eigh")
    if a.ndim < 2:
        raise ValueError(f"svd: needs matrices (…, m, n), got shape {a.shape}")
    m, n = a.shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise ValueError(f"svd: full_matrices=True for a {m}×{n} matrix: only the reduced SVD is differentiable; "
                         "pass full_matrices=False")
    k = min(m, n)
    u, s, vh = unpack(svd_packed(a), (m, k), (1, k), (k, n))
    s = reshape(s, (*s.shape[:-2], k))
    return SVDResult(u, s, vh) if compute_uv else s


def svdvals(a: Any) -> Tensor:
    """The singular values, descending;  δ_a = U diag(δσ) Vᵀ."""
    return svd(a, full_matrices=False, compute_uv=False)


def qr(a: Any, mode: str = "reduced") -> Any:
    """Q (…, m, k) with orthonormal columns and upper-triangular R (…, k, n), a = Q R, k = min(m, n)
    (`mode="r"`: R alone). For m ≥ n, δ_a = (δ_Q + Q copyltu(M)) R⁻ᵀ with M = R δ_Rᵀ − δ_Qᵀ Q: needs
    a of full column rank (R's diagonal non-zero). For m < n, a = [X | Y] is Q [R_X | Qᵀ Y] with
    Q, R_X = qr(X) (what Householder QR computes), so δ flows through that composition."""
    from autodiff.ops.joining import cat

    a = as_tensor(a)
    if mode not in ("reduced", "r"):
        raise ValueError(f"qr: mode {mode!r} is not supported: 'reduced' or 'r'")
    if a.ndim < 2:
        raise ValueError(f"qr: needs matrices (…, m, n), got shape {a.shape}")
    m, n = a.shape[-2:]
    if m < n:
        q, rx = qr(a[..., :m])
        r = cat([rx, matmul(q.swapaxes(-1, -2), a[..., m:])], axis=-1)
    else:
        q, r = unpack(qr_packed(a), (m, n), (n, n))
    return r if mode == "r" else QRResult(q, r)


def matrix_power(a: Any, n: int) -> Tensor:
    """aⁿ by repeated squaring (n < 0: of inv(a); n = 0: the identity, with a zero gradient)."""
    a = as_tensor(a)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: the exponent must be an int, got {n!r}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"matrix_power: needs square matrices (…, n, n), got shape {a.shape}")
    if n == 0:
        return where(np.zeros(a.shape, bool), a, np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape))
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


def multi_dot(arrays: Any) -> Tensor:
    """a₁ @ a₂ @ … (the first may be a vector, as the last), in the cheapest order of products."""
    if not isinstance(arrays, (list, tuple)) or len(arrays) < 2:
        raise ValueError("multi_dot: needs a list of at least two tensors")
    ts = [as_tensor(t) for t in arrays]
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = reshape(ts[0], (1, -1))
    if last_vec:
        ts[-1] = reshape(ts[-1], (-1, 1))
    for t in ts:
        if t.ndim != 2:
            raise ValueError(f"multi_dot: needs 2-D tensors (the first and last may be 1-D), got shape {t.shape}")
    dims = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    split = _chain_order(dims)

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return ts[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    z = product(0, len(ts) - 1)
    if first_vec and last_vec:
        return reshape(z, ())
    if first_vec or last_vec:
        return reshape(z, -1)
    return z


def _chain_order(dims: list[int]) -> list[list[int]]:
    """The classic matrix-chain order: split[i][j] is where to split the product of matrices i … j."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None  # type: ignore[call-overload]
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@accepts_torch_names
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """np.linalg.norm: vector norms, and matrix norms over two axes including 2, −2 and 'nuc' (from the
    singular values: their gradient is ±∞/NaN where the singular value taken repeats)."""
    from autodiff.ops import norm as _norm

    x = as_tensor(x)
    two_axes = (axis is None and x.ndim == 2 and ord is not None) or (isinstance(axis, tuple) and len(axis) == 2)
    if not (two_axes and ord in (2, -2, "nuc")):
        return _norm(x, ord=ord, axis=axis, keepdims=keepdims)
    from autodiff.ops.movement import moveaxis
    from autodiff.shapes import normalize_axes

    axes = (0, 1) if axis is None else tuple(axis)
    a, b = (normalize_axes(ax, x.ndim, "norm")[0] for ax in axes)
    if a == b:
        raise ValueError(f"norm: axis {axis} repeats an axis")
    s = svdvals(moveaxis(x, (a, b), (-2, -1)))
    z = s.sum(axis=-1) if ord == "nuc" else s.max(axis=-1) if ord == 2 else s.min(axis=-1)
    if keepdims:
        shape = list(x.shape)
        shape[a] = shape[b] = 1
        z = reshape(z, tuple(shape))
    return z
