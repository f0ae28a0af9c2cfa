"""Op-table rows for the shape, indexing and linear-algebra ops (issue 24): appended to tests/op_table.ROWS.

Each row's cases draw small shapes (zero-size axes and negative axes included) from Hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from tests.op_table import MAX_SIDE, Row, array, grid, reals

# (subscripts, one tuple of letters per operand whose sizes are drawn; '.' marks a broadcast dim)
EINSUM = [
    "ij,jk->ik", "ij,jk", "ii->i", "ii", "ij->", "ij->ji", "i,i->", "i,j->ij", "bij,bjk->bik", "...ij,...jk->...ik",
    "...i,...i", "iij,j->i", "ijk,ikl,il->jl", "i,i,i->i", "ba,ab->", "...", "ij,ij->ij", "iii->i", "ij,kj", "a,b,c",
]


def _einsum_shapes(d, subscripts):
    lhs = subscripts.split("->")[0].split(",")
    # zero-size letters are tested on their own (test_ops_shape.py): below a where, the second derivative
    # of any contraction with an empty output (matmul's too) meets an engine NaN (see the report)
    sizes = {c: d(st.integers(1, 3)) for c in sorted(set("".join(lhs))) if c != "."}
    ell = d(hnp.array_shapes(min_dims=0, max_dims=2, max_side=2))
    shapes = []
    for sub in lhs:
        named = tuple(sizes[c] for c in sub.replace("...", ""))
        if "..." in sub:
            mine = ell[d(st.integers(0, len(ell))):]  # a shorter ellipsis broadcasts too
            mine = tuple(1 if d(st.integers(0, 3)) == 0 else n for n in mine)
            shapes.append(mine + named if sub.startswith("...") else named + mine)
        else:
            shapes.append(named)
    return shapes


def einsum_cases(dtype):
    @st.composite
    def draw(d):
        subscripts = d(st.sampled_from(EINSUM))
        shapes = _einsum_shapes(d, subscripts)
        return [d(array(s, dtype, reals())) for s in shapes], {"subscripts": subscripts}

    return draw()


def pad_cases(dtype):
    @st.composite
    def draw(d):
        shape = d(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=MAX_SIDE))
        mode = d(st.sampled_from(["constant", "reflect", "symmetric", "edge", "wrap"]))
        if mode != "constant":  # NumPy cannot copy values out of an empty axis
            shape = tuple(max(n, 1) for n in shape)
        width = st.integers(0, 3)
        form = d(st.sampled_from(["int", "pair", "pairs"]))
        pad_width = {"int": width, "pair": st.tuples(width, width),
                     "pairs": st.tuples(*[st.tuples(width, width)] * len(shape))}[form]
        static = {"pad_width": d(pad_width), "mode": mode}
        if mode == "constant":
            static["constant_values"] = d(st.sampled_from([0.0, 1.5, -2.0]))
        return [d(array(shape, dtype, reals()))], static

    return draw()


def _einsum(*xs, subscripts):
    return ad.einsum(subscripts, *xs)


def one(draw_static, min_dims=0, max_dims=3, min_side=0, unique=False, elements=None):
    """One input of a drawn shape and static arguments `draw_static(d, shape)`."""

    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=MAX_SIDE))
            x = d(array(shape, dtype, elements or (grid(-3, 3, 0.0625) if unique else reals()), unique=unique))
            return [x], draw_static(d, shape)

        return draw()

    return cases


def _axis(d, shape):
    return d(st.integers(-len(shape), len(shape) - 1)) if shape else None


def _axis_or_none(d, shape):
    return d(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1))) if shape else None


def _axes(d, shape):
    return d(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1), hnp.valid_tuple_axes(len(shape), min_size=1))) \
        if shape else None


def _two_axes(d, shape):
    a = d(st.integers(-len(shape), len(shape) - 1))
    b = d(st.integers(-len(shape), len(shape) - 1).filter(lambda b: b % len(shape) != a % len(shape)))
    return a, b


def _squeeze_static(d, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    return {"axis": d(st.one_of(st.none(), st.sampled_from(ones) if ones else st.none()))}


def _flatten_static(d, shape):
    lo = d(st.integers(0, max(len(shape) - 1, 0)))
    return {"start_dim": lo, "end_dim": d(st.integers(lo, max(len(shape) - 1, lo)))}


def _repeat_static(d, shape):
    axis = _axis_or_none(d, shape)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    repeats = d(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 2), min_size=n, max_size=n).map(lambda r: np.array(r, np.intp))))
    return {"repeats": repeats, "axis": axis}


def _split_static(d, shape):
    axis = _axis(d, shape)
    sections = d(st.one_of(st.integers(1, 4), st.lists(st.integers(-4, 4), max_size=3)))
    return {"indices_or_sections": sections, "axis": axis}


def _take_static(d, shape):
    axis = _axis_or_none(d, shape)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    idx = d(hnp.arrays(np.intp, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3),
                       elements=st.integers(-n, n - 1))) if n else np.zeros(0, np.intp)
    return {"indices": idx, "axis": axis}


def _along_static(d, shape):
    axis = _axis(d, shape)
    n = shape[axis]
    ishape = tuple(d(st.integers(0, 3)) if i == axis % len(shape) else d(st.sampled_from([1, m])) for i, m in
                   enumerate(shape))
    idx = d(hnp.arrays(np.intp, ishape, elements=st.integers(-n, n - 1))) if n else np.zeros(
        tuple(0 if i == axis % len(shape) else m for i, m in enumerate(ishape)), np.intp)
    return {"indices": idx, "axis": axis}


def _gather_static(d, shape):
    axis = _axis(d, shape)
    n = shape[axis]
    ishape = tuple(d(st.integers(0, 3)) if i == axis % len(shape) else d(st.integers(0, m)) for i, m in enumerate(shape))
    if not n:
        ishape = tuple(0 if i == axis % len(shape) else m for i, m in enumerate(ishape))
    idx = d(hnp.arrays(np.intp, ishape, elements=st.integers(0, max(n - 1, 0))))
    return {"axis": axis, "index": idx}


def _np_gather(x, axis, index):
    grids = list(np.meshgrid(*(np.arange(n) for n in index.shape), indexing="ij"))
    grids[axis] = index
    return x[tuple(grids)]


def _diagonal_static(d, shape):
    a, b = _two_axes(d, shape)
    return {"offset": d(st.integers(-3, 3)), "axis1": a, "axis2": b}


def _parts(parts):
    return ad.concatenate([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)], axis=0)


def _np_parts(parts):
    return np.concatenate([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)])


def same_shapes(min_dims=1, max_dims=3):
    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=3))
            return [d(array(shape, dtype, reals())) for _ in range(d(st.integers(1, 3)))], {}

        return draw()

    return cases


def pairs(kind):
    def cases(dtype):
        @st.composite
        def draw(d):
            # sides ≥ 1: zero-size contractions are checked in test_ops_shape.py (below a where, the second
            # derivative of a contraction with an empty result meets an engine NaN: matmul's too)
            m, k, n = (d(st.integers(1, 3)) for _ in range(3))
            if kind == "dot":
                sa, sb = d(st.sampled_from([((), (k,)), ((k,), (k,)), ((m, k), (k,)), ((k,), (k, n)), ((m, k), (k, n)),
                                            ((2, m, k), (k,)), ((2, m, k), (3, k, n)), ((m, k), ())]))
            elif kind == "inner":
                sa, sb = d(st.sampled_from([((k,), (k,)), ((m, k), (n, k)), ((2, k), (m, 2, k)), ((), (m, k))]))
            elif kind == "vdot":
                sa, sb = d(st.sampled_from([((k,), (k,)), ((m, k), (k, m)), ((m * k,), (m, k))]))
            elif kind == "tensordot":
                sa, sb = d(st.sampled_from([((m, k), (k, n)), ((2, m, k), (m, k, n)), ((m,), (n,)), ((m, k), (m, k))]))
            else:  # outer, kron
                sa = d(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
                sb = d(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
            static = {}
            if kind == "tensordot":
                static["axes"] = {0: 1, 1: 2, 2: 0, 3: ([0, 1], [0, 1])}[[((m, k), (k, n)), ((2, m, k), (m, k, n)),
                                                                       ((m,), (n,)), ((m, k), (m, k))].index((sa, sb))]
            return [d(array(sa, dtype, reals())), d(array(sb, dtype, reals()))], static

        return draw()

    return cases


# ------------------------------------------------------------------ linear algebra
def matrices(square=True, count=1, rhs=False, batched=True):
    """Batches of matrices (…, m, n) with entries in [−1, 1] (the rows make them well-conditioned)."""

    def cases(dtype):
        @st.composite
        def draw(d):
            batch = d(hnp.array_shapes(min_dims=0, max_dims=2 if batched else 0, min_side=1, max_side=2))
            n = d(st.integers(1, 3))
            m = n if square else d(st.integers(1, 4))
            xs = [d(array((*batch, m, n), dtype, reals(-1, 1))) for _ in range(count)]
            if rhs:
                xs.append(d(array((*batch, n, d(st.integers(1, 2))), dtype, reals())))
            return xs, {}

        return draw()

    return cases


def _shifted(a):
    n = a.shape[-1]
    return a + (n + 1.0) * np.eye(n, dtype=a.dtype)


def _spd(a):
    n = a.shape[-1]
    return a @ a.swapaxes(-1, -2) + n * np.eye(n, dtype=a.dtype)


def _distinct(a):
    """Symmetric with well-separated eigenvalues: diag(1, 3, 5, …) plus a small symmetric part."""
    n = a.shape[-1]
    return np.diag(np.arange(1.0, 2 * n, 2)).astype(a.dtype) + 0.2 * (a + a.swapaxes(-1, -2))


def _tall(a):
    return a + np.eye(a.shape[-2], a.shape[-1], dtype=a.dtype) * 3.0


def _eigh_ours(a):
    w, v = ad.linalg.eigh(_distinct(a))
    return ad.concatenate([w, (v * v).reshape(*v.shape[:-2], -1)], axis=-1)


def _eigh_ref(a):
    w, v = np.linalg.eigh(_distinct(a))
    return np.concatenate([w, (v * v).reshape(*v.shape[:-2], -1)], axis=-1)


def _svd_ours(a):
    u, s, vh = ad.linalg.svd(_distinct_sv(a), full_matrices=False)
    return ad.concatenate([s, (u * u).reshape(*u.shape[:-2], -1), (vh * vh).reshape(*vh.shape[:-2], -1)], axis=-1)


def _svd_ref(a):
    u, s, vh = np.linalg.svd(_distinct_sv(a), full_matrices=False)
    return np.concatenate([s, (u * u).reshape(*u.shape[:-2], -1), (vh * vh).reshape(*vh.shape[:-2], -1)], axis=-1)


def _distinct_sv(a):
    """Well-separated singular values: 1, 3, 5, … on the diagonal plus a small perturbation."""
    m, n = a.shape[-2:]
    k = min(m, n)
    base = np.zeros((m, n), dtype=a.dtype)
    base[np.arange(k), np.arange(k)] = np.arange(1.0, 2 * k, 2)
    return base + 0.2 * a


def _qr_ours(a):
    q, r = ad.linalg.qr(_tall(a))
    return ad.concatenate([q.reshape(*q.shape[:-2], -1), r.reshape(*r.shape[:-2], -1)], axis=-1)


def _qr_ref(a):
    q, r = np.linalg.qr(_tall(a))
    return np.concatenate([q.reshape(*q.shape[:-2], -1), r.reshape(*r.shape[:-2], -1)], axis=-1)


def tall_cases(dtype):
    @st.composite
    def draw(d):
        batch = d(hnp.array_shapes(min_dims=0, max_dims=1, min_side=1, max_side=2))
        n = d(st.integers(1, 3))
        # entries away from 0: LAPACK's Householder QR jumps where a column below the diagonal is exactly 0
        m = n + d(st.integers(-n + 1, 2))  # wide ones too
        return [d(array((*batch, m, n), dtype, reals(0.1, 1)))], {}

    return draw()


def _norm_static(d, shape):
    return {"ord": d(st.sampled_from([2, -2, "nuc", "fro", None]))}


SHAPE_ROWS = [
    Row("pad", ad.pad, np.pad, pad_cases, method=lambda x, **kw: np.pad(x, **kw)),
    Row("einsum", _einsum, lambda *xs, subscripts: np.einsum(subscripts, *xs), einsum_cases,
        method=lambda *xs, subscripts: np.einsum(subscripts, *xs)),
    # shape (composed of reshape, transpose, broadcast_to, getitem, concatenate)
    Row("flatten", ad.flatten, lambda x, start_dim, end_dim: x.reshape(1) if x.ndim == 0 else np.reshape(
        x, (*x.shape[:start_dim], int(np.prod(x.shape[start_dim:end_dim + 1])), *x.shape[end_dim + 1:])),
        one(_flatten_static), method=lambda x, **kw: x.flatten(**kw)),
    Row("ravel", ad.ravel, np.ravel, one(lambda d, s: {}), method=lambda x: np.ravel(x)),
    Row("squeeze", ad.squeeze, np.squeeze, one(_squeeze_static),
        method=lambda x, axis: x.squeeze(dim=axis) if axis is not None else x.squeeze()),
    Row("expand_dims", ad.expand_dims, np.expand_dims, one(lambda d, s: {"axis": d(st.integers(-len(s) - 1, len(s)))}),
        method=lambda x, axis: x.unsqueeze(axis)),
    Row("swapaxes", ad.swapaxes, np.swapaxes, one(lambda d, s: dict(zip(("axis1", "axis2"), _two_axes(d, s))), min_dims=2),
        method=lambda x, axis1, axis2: x.swapaxes(axis1, axis2)),
    Row("moveaxis", ad.moveaxis, np.moveaxis, one(lambda d, s: dict(zip(("source", "destination"), _two_axes(d, s))),
                                                  min_dims=2), method=lambda x, **kw: np.moveaxis(x, **kw)),
    Row("flip", ad.flip, np.flip, one(lambda d, s: {"axis": _axes(d, s)}), method=lambda x, axis: x.flip(axis)),
    Row("roll", ad.roll, np.roll, one(lambda d, s: {"shift": d(st.integers(-5, 5)), "axis": _axis_or_none(d, s)}),
        method=lambda x, shift, axis: x.roll(shift, axis)),
    Row("tile", ad.tile, np.tile, one(lambda d, s: {"reps": d(st.one_of(st.integers(0, 2), st.lists(
        st.integers(0, 2), max_size=3).map(tuple)))}), method=lambda x, reps: np.tile(x, reps)),
    Row("repeat", ad.repeat, np.repeat, one(_repeat_static), method=lambda x, repeats, axis: np.repeat(x, repeats, axis)),
    Row("array_split", lambda x, **kw: _parts(ad.array_split(x, **kw)), lambda x, **kw: _np_parts(np.array_split(x, **kw)),
        one(_split_static, min_dims=1), method=lambda x, **kw: _parts(np.array_split(x, **kw))),
    Row("vstack", lambda *xs: ad.vstack(xs), lambda *xs: np.vstack(xs), same_shapes(), method=lambda *xs: np.vstack(xs)),
    Row("hstack", lambda *xs: ad.hstack(xs), lambda *xs: np.hstack(xs), same_shapes(), method=lambda *xs: np.hstack(xs)),
    Row("dstack", lambda *xs: ad.dstack(xs), lambda *xs: np.dstack(xs), same_shapes(), method=lambda *xs: np.dstack(xs)),
    Row("column_stack", lambda *xs: ad.column_stack(xs), lambda *xs: np.column_stack(xs), same_shapes(max_dims=2),
        method=lambda *xs: np.column_stack(xs)),
    # indexing (getitem, scatter, where)
    Row("take", ad.take, np.take, one(_take_static), method=lambda x, indices, axis: x.take(indices, axis)),
    Row("take_along_axis", ad.take_along_axis, np.take_along_axis, one(_along_static, min_dims=1),
        method=lambda x, **kw: np.take_along_axis(x, **kw)),
    Row("gather", ad.gather, _np_gather, one(_gather_static, min_dims=1),
        method=lambda x, axis, index: x.gather(axis, index)),
    Row("diagonal", ad.diagonal, np.diagonal, one(_diagonal_static, min_dims=2),
        method=lambda x, offset, axis1, axis2: x.diagonal(offset, dim1=axis1, dim2=axis2)),
    Row("trace", ad.trace, np.trace, one(_diagonal_static, min_dims=2, max_dims=2),
        method=lambda x, **kw: np.trace(x, **kw)),
    Row("diag", ad.diag, np.diag, one(lambda d, s: {"k": d(st.integers(-2, 2))}, min_dims=1, max_dims=2),
        method=lambda x, k: np.diag(x, k)),
    Row("tril", ad.tril, np.tril, one(lambda d, s: {"k": d(st.integers(-3, 3))}, min_dims=2),
        method=lambda x, k: x.tril(diagonal=k)),
    Row("triu", ad.triu, np.triu, one(lambda d, s: {"k": d(st.integers(-3, 3))}, min_dims=2),
        method=lambda x, k: x.triu(k)),
    # distinct values: at a tie, central differences average the two slopes (see test_ops_shape.py)
    Row("sort", ad.sort, np.sort, one(lambda d, s: {"axis": _axis_or_none(d, s)}, min_dims=1, unique=True),
        method=lambda x, axis: x.sort(axis).values if axis is not None else np.sort(x, axis=None)),
    # products
    Row("dot", ad.dot, np.dot, pairs("dot"), method=lambda a, b: np.dot(a, b)),
    Row("vdot", ad.vdot, np.vdot, pairs("vdot"), method=lambda a, b: np.vdot(a, b)),
    Row("inner", ad.inner, np.inner, pairs("inner"), method=lambda a, b: np.inner(a, b)),
    Row("outer", ad.outer, np.outer, pairs("outer"), method=lambda a, b: a.outer(b)),
    Row("tensordot", ad.tensordot, np.tensordot, pairs("tensordot"), method=lambda a, b, axes: np.tensordot(a, b, axes)),
    Row("kron", ad.kron, np.kron, pairs("kron"), method=lambda a, b: a.kron(b)),
    # linear algebra: well-conditioned by construction (the shift is part of ours and of the reference)
    Row("inv", lambda a: ad.linalg.inv(_shifted(a)), lambda a: np.linalg.inv(_shifted(a)), matrices(),
        method=lambda a: np.linalg.inv(_shifted(a))),
    Row("det", lambda a: ad.linalg.det(_shifted(a)), lambda a: np.linalg.det(_shifted(a)), matrices(),
        method=lambda a: _shifted(a).det()),
    Row("slogdet", lambda a: ad.linalg.slogdet(_shifted(a)).logabsdet, lambda a: np.linalg.slogdet(_shifted(a))[1],
        matrices(), method=lambda a: np.linalg.slogdet(_shifted(a)).logabsdet),
    Row("solve", lambda a, b: ad.linalg.solve(_shifted(a), b), lambda a, b: np.linalg.solve(_shifted(a), b),
        matrices(rhs=True), method=lambda a, b: np.linalg.solve(_shifted(a), b)),
    Row("cholesky", lambda a: ad.linalg.cholesky(_spd(a)), lambda a: np.linalg.cholesky(_spd(a)), matrices(),
        method=lambda a: np.linalg.cholesky(_spd(a))),
    Row("eigh", _eigh_ours, _eigh_ref, matrices(), method=_eigh_ours),
    Row("svd", _svd_ours, _svd_ref, matrices(square=False), method=_svd_ours),
    Row("qr", _qr_ours, _qr_ref, tall_cases, method=_qr_ours),
    Row("pinv", lambda a: ad.linalg.pinv(_distinct_sv(a)), lambda a: np.linalg.pinv(_distinct_sv(a)),
        matrices(square=False), method=lambda a: np.linalg.pinv(_distinct_sv(a))),
    Row("matrix_power", lambda a, n: ad.linalg.matrix_power(_shifted(a), n),
        lambda a, n: np.linalg.matrix_power(_shifted(a), n),
        lambda dtype: matrices()(dtype).flatmap(lambda c: st.integers(-2, 3).map(lambda n: (c[0], {"n": n}))),
        method=lambda a, n: _shifted(a).matrix_power(n)),
    Row("multi_dot", lambda *xs: ad.linalg.multi_dot(xs), lambda *xs: np.linalg.multi_dot(xs), matrices(count=3, batched=False),
        method=lambda *xs: np.linalg.multi_dot(xs)),
    Row("linalg.norm", lambda a, ord: ad.linalg.norm(_distinct_sv(a), ord),
        lambda a, ord: np.linalg.norm(_distinct_sv(a), ord), one(_norm_static, min_dims=2, max_dims=2, min_side=1),
        method=lambda a, ord: np.linalg.norm(_distinct_sv(a), ord)),
]

# NumPy's spelling of each entry of autodiff.numpy_api.NUMPY that this file's ops answer: a call on
# Tensors, and the same call of ours (tests/test_ops_shape.py compares values and gradients).
_M = np.arange(12.0).reshape(3, 4) / 7 - 0.5
_S = np.array([[3.0, 0.5, 0.2], [0.5, 2.0, 0.1], [0.2, 0.1, 1.0]])
NUMPY_SPELLINGS = {
    "pad": ([_M], lambda f, x: f(x, ((1, 0), (2, 1)), mode="reflect"), lambda x: ad.pad(x, ((1, 0), (2, 1)), "reflect")),
    "einsum": ([_M, _M], lambda f, a, b: f("ij,kj->ik", a, b), lambda a, b: ad.einsum("ij,kj->ik", a, b)),
    "flip": ([_M], lambda f, x: f(x, axis=1), lambda x: ad.flip(x, 1)),
    "fliplr": ([_M], lambda f, x: f(x), lambda x: ad.flip(x, 1)),
    "flipud": ([_M], lambda f, x: f(x), lambda x: ad.flip(x, 0)),
    "roll": ([_M], lambda f, x: f(x, 2, axis=1), lambda x: ad.roll(x, 2, 1)),
    "tile": ([_M], lambda f, x: f(x, (2, 1)), lambda x: ad.tile(x, (2, 1))),
    "repeat": ([_M], lambda f, x: f(x, [1, 0, 2], axis=0), lambda x: ad.repeat(x, [1, 0, 2], 0)),
    "squeeze": ([_M[None]], lambda f, x: f(x, axis=0), lambda x: ad.squeeze(x, 0)),
    "expand_dims": ([_M], lambda f, x: f(x, -1), lambda x: ad.unsqueeze(x, -1)),
    "ravel": ([_M], lambda f, x: f(x), lambda x: ad.flatten(x)),
    "swapaxes": ([_M], lambda f, x: f(x, 0, 1), lambda x: ad.permute(x, 1, 0)),
    "moveaxis": ([_M[None]], lambda f, x: f(x, 0, -1), lambda x: ad.permute(x, 1, 2, 0)),
    "atleast_1d": ([_M[0, 0]], lambda f, x: f(x), lambda x: ad.reshape(x, 1)),
    "atleast_2d": ([_M[0]], lambda f, x: f(x), lambda x: ad.reshape(x, (1, 4))),
    "atleast_3d": ([_M], lambda f, x: f(x), lambda x: ad.reshape(x, (3, 4, 1))),
    "split": ([_M], lambda f, x: f(x, 2, axis=1)[1], lambda x: x[:, 2:]),
    "array_split": ([_M], lambda f, x: f(x, 2)[1], lambda x: x[2:]),
    "vstack": ([_M, _M], lambda f, a, b: f([a, b]), lambda a, b: ad.concatenate([a, b], 0)),
    "hstack": ([_M, _M], lambda f, a, b: f((a, b)), lambda a, b: ad.cat([a, b], dim=1)),
    "dstack": ([_M, _M], lambda f, a, b: f([a, b]), lambda a, b: ad.stack([a, b], -1)),
    "column_stack": ([_M[0], _M[1]], lambda f, a, b: f([a, b]), lambda a, b: ad.stack([a, b], 1)),
    "take": ([_M], lambda f, x: f(x, [0, 0, 5]), lambda x: ad.flatten(x)[[0, 0, 5]]),
    "take_along_axis": ([_M], lambda f, x: f(x, np.array([[0, 0, 1, 2]]), axis=0),
                        lambda x: x[[0, 0, 1, 2], [0, 1, 2, 3]][None]),
    "tril": ([_M], lambda f, x: f(x, k=1), lambda x: ad.tril(x, 1)),
    "triu": ([_M], lambda f, x: f(x), lambda x: ad.triu(x)),
    "diag": ([_M], lambda f, x: f(x, k=1), lambda x: ad.diagonal(x, 1)),
    "diagonal": ([_M], lambda f, x: f(x, offset=-1), lambda x: x[[1, 2], [0, 1]]),
    "trace": ([_M], lambda f, x: f(x), lambda x: x[[0, 1, 2], [0, 1, 2]].sum()),
    "sort": ([_M[::-1]], lambda f, x: f(x, axis=0), lambda x: ad.sort(x, dim=0)),
    "argsort": ([_M], lambda f, x: f(x, axis=0), lambda x: ad.argsort(x, 0)),
    "dot": ([_M, _M.T], lambda f, a, b: f(a, b), lambda a, b: a @ b),
    "vdot": ([_M, _M], lambda f, a, b: f(a, b), lambda a, b: (a * b).sum()),
    "inner": ([_M, _M], lambda f, a, b: f(a, b), lambda a, b: a @ b.T),
    "outer": ([_M[0], _M[1]], lambda f, a, b: f(a, b), lambda a, b: a[:, None] * b[None, :]),
    "tensordot": ([_M, _M], lambda f, a, b: f(a, b, axes=([1], [1])), lambda a, b: a @ b.T),
    "kron": ([_M, _S], lambda f, a, b: f(a, b), lambda a, b: ad.kron(a, b)),
    "linalg.inv": ([_S], lambda f, a: f(a), lambda a: ad.linalg.inv(a)),
    "linalg.det": ([_S], lambda f, a: f(a), lambda a: ad.linalg.det(a)),
    "linalg.slogdet": ([_S], lambda f, a: f(a).logabsdet, lambda a: ad.log(ad.linalg.det(a))),
    "linalg.solve": ([_S, _M[:, :2]], lambda f, a, b: f(a, b), lambda a, b: ad.linalg.inv(a) @ b),
    "linalg.cholesky": ([_S], lambda f, a: f(a), lambda a: ad.linalg.cholesky(a)),
    "linalg.eigh": ([_S], lambda f, a: f(a).eigenvalues, lambda a: ad.linalg.eigvalsh(a)),
    "linalg.eigvalsh": ([_S], lambda f, a: f(a), lambda a: ad.linalg.eigh(a)[0]),
    "linalg.svd": ([_M], lambda f, a: f(a, full_matrices=False).S, lambda a: ad.linalg.svdvals(a)),
    "linalg.svdvals": ([_M], lambda f, a: f(a), lambda a: ad.linalg.svd(a, full_matrices=False)[1]),
    "linalg.qr": ([_M.T], lambda f, a: f(a).R, lambda a: ad.linalg.qr(a, mode="r")),
    "linalg.pinv": ([_M], lambda f, a: f(a), lambda a: ad.linalg.pinv(a)),
    "linalg.matrix_power": ([_S], lambda f, a: f(a, 2), lambda a: a @ a),
    "linalg.multi_dot": ([_M, _M.T, _S], lambda f, a, b, c: f([a, b, c]), lambda a, b, c: a @ b @ c),
}

#: Rows not poisoned element by element in test_where_safety.py (tests/test_ops_shape.py checks them):
#: the matrix functions mix every entry of a matrix into each result (where-safe per matrix), and
#: sort's routing depends on the values (a poisoned −∞ moves to the front, into a selected place).
NOT_PER_ELEMENT = {"sort", "inv", "det", "slogdet", "solve", "cholesky", "eigh", "svd", "qr", "pinv", "matrix_power", "linalg.norm"}
