"""Matrix functions with their known-good derivatives: inv, det, slogdet, solve, cholesky, eigh,
svd (reduced), qr, pinv. Real matrices, batched over leading axes (…, m, n) as NumPy does.

Each VJP is written with operators and NumPy functions (`np.linalg.solve`, `np.tril`, …) that a
Tensor answers too, naming what it reads (`out`, the inputs), so it serves grad of grad as well.
A decomposition with several results (eigh, svd, qr) is one op whose result packs them along the
last axis; the public function unpacks them (getitem, reshape), so δ of each reaches the one VJP.

Degenerate points, as in PyTorch: the eigenvector and singular-vector rules divide by differences
of eigenvalues (λⱼ − λᵢ) or of squared singular values (σⱼ² − σᵢ²), and the rules of the extra
columns of U or V in a non-square SVD, and of qr, by σ or by R's diagonal. Where they repeat or
vanish, the gradient is ±∞ or NaN (no error), unless only the eigenvalues / singular values were
used: then the vectors' term is left out and the gradient is exact (V diag(δλ) Vᵀ, U diag(δσ) Vᵀ).
`inv`/`solve` of a singular matrix raise NumPy's LinAlgError; `det`'s gradient there is the cofactor
matrix (from the SVD; PyTorch 2.x gives 0), to first order (grad of grad at a singular matrix raises).
"""

from __future__ import annotations

import numpy as np

from autodiff.op import op, values
from autodiff.zero_safe import masked


def _mT(a):
    """a with its last two axes swapped (ndarray or Tensor)."""
    return a.swapaxes(-1, -2)


def _diag_embed(v):
    """The (…, n, n) matrices with v (…, n) on their diagonals."""
    return v[..., :, None] * np.eye(v.shape[-1], dtype=values(v).dtype)


def _square(x, name):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: needs square matrices (…, n, n), got shape {x.shape}")


# ------------------------------------------------------------------ inverse, determinants, solve
@op
def inv(x):
    """z = A⁻¹;  δ_A = −zᵀ δ_z zᵀ"""
    _square(x, "inv")
    z = np.linalg.inv(x)
    return z, (z,)


inv.vjp(lambda g, out: -(_mT(out) @ g @ _mT(out)))


@op
def det(x):
    """z = det A;  δ_A = δ_z z A⁻ᵀ"""
    _square(x, "det")
    z = np.linalg.det(x)
    return z, (x, z)


@det.vjp
def _det(g, x, out):
    if isinstance(x, np.ndarray):  # first order: the cofactors, exact also where A is (nearly) singular
        return g[..., None, None] * _cofactors(x)
    return (g * out)[..., None, None] * _mT(np.linalg.inv(x))


def _cofactors(x):
    """det(A) A⁻ᵀ without A⁻¹, so also at a singular A: from A = U diag(σ) Vᵀ, the cofactor matrix is
    det(U) det(V) U diag(Π_{j≠i} σⱼ) Vᵀ. (PyTorch 2.x gives 0 at a singular matrix; the derivative
    is this, as central differences of the polynomial det confirm.)"""
    finite = np.isfinite(x).all(axis=(-2, -1), keepdims=True)
    if not finite.all():  # LAPACK refuses ∞ and NaN: those matrices' cofactors are NaN
        eye = np.eye(x.shape[-1], dtype=x.dtype)
        return np.where(finite, _cofactors(np.where(finite, x, eye)), np.nan)
    u, s, vh = np.linalg.svd(x)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1) if n else s
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * (u * others[..., None, :]) @ vh


@op(name="slogdet")
def logabsdet(x):
    """z = log |det A| (the sign has no gradient);  δ_A = δ_z A⁻ᵀ"""
    _square(x, "slogdet")
    return np.linalg.slogdet(x)[1], (x,)


logabsdet.vjp(lambda g, x: g[..., None, None] * _mT(np.linalg.inv(x)))


@op
def solve(a, b):
    """z = A⁻¹ B (B of shape (…, n, k));  δ_B = A⁻ᵀ δ_z,  δ_A = −δ_B zᵀ"""
    _square(a, "solve")
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: shapes {a.shape} and {b.shape}: b needs {a.shape[-1]} rows")
    z = np.linalg.solve(a, b)
    return z, (a, z)


solve.vjp(lambda g, a, out: -(np.linalg.solve(_mT(a), g) @ _mT(out)),
          lambda g, a, out: np.linalg.solve(_mT(a), g))


# ------------------------------------------------------------------ cholesky
@op
def cholesky(x):
    """L = chol(A), A = L Lᵀ (A's lower triangle is read);  δ_A = L⁻ᵀ Φ(Lᵀ δ_L) L⁻¹, Φ = the symmetric part
    of the lower triangle with its diagonal halved"""
    _square(x, "cholesky")
    z = np.linalg.cholesky(x)
    return z, (z,)


@cholesky.vjp
def _cholesky(g, out):
    p = np.tril(_mT(out) @ g)
    p = 0.5 * (p + _mT(np.tril(p, -1)))
    left = np.linalg.solve(_mT(out), p)  # L⁻ᵀ P
    return _mT(np.linalg.solve(_mT(out), _mT(left)))  # (L⁻ᵀ (L⁻ᵀ P)ᵀ)ᵀ = L⁻ᵀ P L⁻¹


# ------------------------------------------------------------------ decompositions, packed
def _pack(*parts):
    """Arrays (…, a, b) flattened and joined along one last axis."""
    return np.concatenate([p.reshape(*p.shape[:-2], -1) for p in parts], axis=-1)


def unpack(z, *shapes):
    """The arrays packed by `_pack`, of the given matrix shapes (a, b) each (ndarray or Tensor)."""
    out, start = [], 0
    for a, b in shapes:
        out.append(z[..., start:start + a * b].reshape(*z.shape[:-1], a, b))
        start += a * b
    return out


@op(name="eigh")
def eigh_packed(x):
    """λ, V = eigh(A), A = V diag(λ) Vᵀ (A's lower triangle is read);
    δ_A = V (diag(δ_λ) + sym(Vᵀ δ_V) / (λⱼ − λᵢ)) Vᵀ"""
    _square(x, "eigh")
    w, v = np.linalg.eigh(x)
    z = _pack(w[..., None, :], v)
    return z, (z,)


@eigh_packed.vjp
def _eigh(g, out):
    n = round((np.sqrt(1 + 4 * out.shape[-1]) - 1) / 2)  # n + n² packed values
    w, v = unpack(out, (1, n), (n, n))
    gw, gv = unpack(g, (1, n), (n, n))
    inner = _diag_embed(gw[..., 0, :])
    if values(gv).any():  # the vectors' term, only when they were used: it divides by λⱼ − λᵢ
        gap = w - _mT(w) + np.eye(n, dtype=values(w).dtype)  # λⱼ − λᵢ, 1 on the diagonal
        vg = _mT(v) @ gv
        inner = inner + 0.5 * (vg - _mT(vg)) / gap
    return v @ inner @ _mT(v)


@op(name="svd")
def svd_packed(x):
    """U, σ, Vᵀ = svd(A) (reduced);  δ_A = U (sym-skew terms / (σⱼ² − σᵢ²) + diag(δ_σ)) Vᵀ + the projections
    of δ_U, δ_V off U's and V's columns, divided by σ (PyTorch's svd_backward, real case)"""
    if x.ndim < 2:
        raise ValueError(f"svd: needs matrices (…, m, n), got shape {x.shape}")
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    z = _pack(u, s[..., None, :], vh)
    return z, (z, x.shape[-2], x.shape[-1])


@svd_packed.vjp
def _svd(g, out, m, n):
    k = min(m, n)
    u, s, vh = unpack(out, (m, k), (1, k), (k, n))
    gu, gs, gvh = unpack(g, (m, k), (1, k), (k, n))
    has_u, has_v = bool(values(gu).any()), bool(values(gvh).any())
    inner = _diag_embed(gs[..., 0, :])
    if has_u or has_v:  # divides by σⱼ² − σᵢ²
        s2 = s * s
        gap = s2 - _mT(s2) + np.eye(k, dtype=values(s).dtype)
        skew = 0.0
        if has_u:
            ug = _mT(u) @ gu
            skew = (ug - _mT(ug)) * s
        if has_v:
            vg = vh @ _mT(gvh)
            skew = skew + _mT(s) * (vg - _mT(vg))
        inner = inner + skew / gap
    if m > k and has_u:  # U's columns span only part of ℝᵐ: δ_U's part off them, divided by σ
        gus = gu / s
        return (u @ inner + gus - u @ (_mT(u) @ gus)) @ vh
    if n > k and has_v:
        svh = gvh / _mT(s)
        return u @ (inner @ vh + svh - (svh @ _mT(vh)) @ vh)
    return u @ inner @ vh


@op(name="qr")
def qr_packed(x):
    """Q, R = qr(A) (reduced, m ≥ n);  δ_A = (δ_Q + Q copyltu(M)) R⁻ᵀ, M = R δ_Rᵀ − δ_Qᵀ Q"""
    if x.ndim < 2:
        raise ValueError(f"qr: needs matrices (…, m, n), got shape {x.shape}")
    if x.shape[-2] < x.shape[-1]:
        raise ValueError(f"qr: the derivative is implemented for m ≥ n only, got shape {x.shape}")
    q, r = np.linalg.qr(x, mode="reduced")
    z = _pack(q, r)
    return z, (z, x.shape[-2], x.shape[-1])


@qr_packed.vjp
def _qr(g, out, m, n):
    q, r = unpack(out, (m, n), (n, n))
    gq, gr = unpack(g, (m, n), (n, n))
    mm = r @ _mT(gr) - _mT(gq) @ q
    low = np.tril(mm)
    copyltu = low + _mT(np.tril(mm, -1))
    b = gq + q @ copyltu
    return _mT(np.linalg.solve(r, _mT(b)))  # B R⁻ᵀ


@op
def pinv(x):
    """P = A⁺;  δ_A = −Pᵀ δ Pᵀ + (I − A P) δᵀ P Pᵀ + Pᵀ P δᵀ (I − P A) (constant rank)"""
    if x.ndim < 2:
        raise ValueError(f"pinv: needs matrices (…, m, n), got shape {x.shape}")
    z = np.linalg.pinv(x)
    return z, (x, z)


@pinv.vjp
def _pinv(g, x, out):
    p, pt, gt = out, _mT(out), _mT(g)
    m, n = x.shape[-2], x.shape[-1]
    dtype = values(x).dtype
    return (-(pt @ g @ pt) + (np.eye(m, dtype=dtype) - x @ p) @ gt @ (p @ pt)
            + (pt @ p) @ gt @ (np.eye(n, dtype=dtype) - p @ x))


# ------------------------------------------------------------------ below a `where`
# Each matrix of a batch feeds its own result only: where all of its δ is 0 (not selected), its
# gradient is 0, even where the matrix holds ∞ or NaN (autodiff.zero_safe: masked).
def _unused_matrix(g, *saved):
    return (g == 0).all(axis=(-2, -1), keepdims=True)


def _unused_scalar(g, *saved):
    return (g == 0)[..., None, None]


def _unused_packed(g, *saved):
    return (g == 0).all(axis=-1)[..., None, None]


inv.zero_safe_vjp(masked(_unused_matrix))
det.zero_safe_vjp(masked(_unused_scalar))
logabsdet.zero_safe_vjp(masked(_unused_scalar))
solve.zero_safe_vjp(masked(_unused_matrix), masked(_unused_matrix))
cholesky.zero_safe_vjp(masked(_unused_matrix))
pinv.zero_safe_vjp(masked(_unused_matrix))
eigh_packed.zero_safe_vjp(masked(_unused_packed))
svd_packed.zero_safe_vjp(masked(_unused_packed))
qr_packed.zero_safe_vjp(masked(_unused_packed))
