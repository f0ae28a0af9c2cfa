"""Op-table rows for the shape, indexing and linear-algebra ops (issue 24): appended to tests/op_table.ROWS.

Each row's cases draw small shapes (zero-size axes and negative axes included) from Hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from tests.op_table import MAX_SIDE, Row, array, reals

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


SHAPE_ROWS = [
    Row("pad", ad.pad, np.pad, pad_cases, method=lambda x, **kw: np.pad(x, **kw)),
    Row("einsum", _einsum, lambda *xs, subscripts: np.einsum(subscripts, *xs), einsum_cases,
        method=lambda *xs, subscripts: np.einsum(subscripts, *xs)),
]
