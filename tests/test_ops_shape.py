"""Shape, indexing and linear-algebra ops (issue 24) beyond their op-table rows: the NumPy spelling
of each, PyTorch (float64) as the oracle, ties, repeated indices, degenerate decompositions,
PyTorch's names (dim=, Tensor.repeat), zero-size einsum, and the errors bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff.numpy_api import NUMPY
from autodiff.testing import gradcheck, gradgradcheck
from tests.op_table import NUMPY_SPELLINGS


def _numpy(name):
    f = np
    for part in name.split("."):
        f = getattr(f, part)
    return f


def _leaves(arrays):
    return [ad.Tensor(a.copy(), requires_grad=True) for a in arrays]


# ------------------------------------------------------------------ the NumPy spelling
@pytest.mark.parametrize("name", sorted(NUMPY_SPELLINGS))
def test_numpy_spelling_keeps_the_graph_and_agrees_with_ours(name):
    arrays, spelled, ours = NUMPY_SPELLINGS[name]
    assert name in NUMPY
    xs, ys = _leaves(arrays), _leaves(arrays)
    theirs, mine = spelled(_numpy(name), *xs), ours(*ys)
    if name == "argsort":  # indices: an integer ndarray, no gradient (as np.argsort, torch.argsort)
        assert isinstance(theirs, np.ndarray) and theirs.dtype.kind == "i"
        np.testing.assert_array_equal(theirs, mine)
        np.testing.assert_array_equal(theirs, np.argsort(arrays[0], axis=0))
        return
    assert isinstance(theirs, ad.Tensor) and theirs.requires_grad
    np.testing.assert_allclose(theirs.data, mine.data, rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(0).uniform(-1, 1, theirs.shape)
    for a, b in zip(ad.grad(theirs, xs, w), ad.grad(mine, ys, w)):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)


def test_every_numpy_entry_of_these_ops_is_spelled():
    ours = {"pad", "einsum", "flip", "fliplr", "flipud", "roll", "tile", "repeat", "squeeze", "expand_dims", "ravel",
            "swapaxes", "moveaxis", "atleast_1d", "atleast_2d", "atleast_3d", "split", "array_split", "vstack", "hstack",
            "dstack", "column_stack", "take", "take_along_axis", "tril", "triu", "diag", "diagonal", "trace", "sort",
            "argsort", "dot", "vdot", "inner", "outer", "tensordot", "kron"}
    linalg = {name for name in NUMPY if name.startswith("linalg.") and name not in ("linalg.norm", "linalg.vector_norm")}
    assert ours | linalg == set(NUMPY_SPELLINGS)


# ------------------------------------------------------------------ indexing defects (issue 24)
def test_a_repeated_index_given_as_a_tuple_accumulates_like_a_list():
    x = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[(0, 0),].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])  # PyTorch: [2, 0, 0]
    y = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    y[:, (1, 1)].backward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(y.grad, [[0.0, 3.0, 0.0], [0.0, 7.0, 0.0]])


def test_an_empty_list_index_gives_an_empty_result():
    x = ad.Tensor(np.ones((3, 4)), requires_grad=True)
    y = x[[]]
    assert y.shape == (0, 4) == np.ones((3, 4))[[]].shape
    (g,) = ad.grad(y.sum(), x)
    np.testing.assert_array_equal(g.data, np.zeros((3, 4)))


# ------------------------------------------------------------------ PyTorch's names
def test_dim_is_accepted_where_axis_is():
    x = ad.Tensor(np.arange(6.0).reshape(1, 2, 3), requires_grad=True)
    np.testing.assert_array_equal(ad.flip(x, dim=2).data, np.flip(x.data, 2))
    assert ad.squeeze(x, dim=0).shape == (2, 3) == x.squeeze(dim=0).shape
    assert x.unsqueeze(dim=-1).shape == (1, 2, 3, 1)
    np.testing.assert_array_equal(ad.cat([x, x], dim=1).data, np.concatenate([x.data, x.data], 1))
    np.testing.assert_array_equal(ad.roll(x, 1, dim=2).data, np.roll(x.data, 1, 2))
    np.testing.assert_array_equal(x.sort(dim=1).values.data, np.sort(x.data, 1))
    np.testing.assert_array_equal(ad.take_along_axis(x, np.zeros((1, 1, 1), int), dim=1).data, x.data[:, :1, :])
    assert [p.shape for p in ad.chunk(x, 2, dim=2)] == [(1, 2, 2), (1, 2, 1)]
    np.testing.assert_allclose(ad.linalg.norm(x[0], 2, dim=(0, 1)).data, np.linalg.norm(x.data[0], 2))


def test_tensor_repeat_is_numpys_and_says_so_where_pytorch_would_differ():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(x.repeat(2, axis=0).data, [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(x.tile(2).data, [1.0, 2.0, 1.0, 2.0])
    with pytest.raises(TypeError, match=r"x.repeat\(n, axis=0\) \(NumPy\) or x.tile\(n\) \(PyTorch\)"):
        x.repeat(2)
    m = ad.Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"use x.tile\(sizes\)"):
        m.repeat(2, 1)  # PyTorch's tiling spelling
    assert m.repeat(2).shape == (12,)  # NumPy's (PyTorch refuses one size for a 2-D tensor)
    np.testing.assert_array_equal(x.repeat_interleave(2).data, [1.0, 1.0, 2.0, 2.0])


def test_tensor_sort_gives_values_and_indices_as_pytorch():
    x = ad.Tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    values, indices = x.sort(dim=-1, descending=True)
    np.testing.assert_array_equal(values.data, [[3.0, 2.0, 1.0]])
    np.testing.assert_array_equal(indices, [[0, 2, 1]])
    np.testing.assert_array_equal(ad.sort(x).data, [[1.0, 2.0, 3.0]])  # ad.sort / np.sort: the values


def test_sort_ties_give_each_tied_element_one_positions_gradient():
    x = ad.Tensor([2.0, 1.0, 2.0, 1.0], requires_grad=True)
    ad.sort(x).backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 1.0, 4.0, 2.0])  # stable: ties keep their order
    torch = pytest.importorskip("torch")
    t = torch.tensor([2.0, 1.0, 2.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.sort(t, stable=True).values.backward(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


# ------------------------------------------------------------------ PyTorch as the oracle
def _torch_cases(torch):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 4))
    sq = rng.normal(size=(2, 3, 3))
    spd = sq @ sq.transpose(0, 2, 1) + 3 * np.eye(3)
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    return [
        ("flatten", [a[None]], lambda x: x.flatten(1), lambda t: t.flatten(1)),
        ("unsqueeze", [a], lambda x: x.unsqueeze(1), lambda t: t.unsqueeze(1)),
        ("expand", [a[:, :1]], lambda x: x.expand(2, -1, 5), lambda t: t.expand(2, -1, 5)),
        ("permute", [a[None]], lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        ("tile (torch repeat)", [a], lambda x: x.tile(2, 3), lambda t: t.repeat(2, 3)),
        ("repeat_interleave", [a], lambda x: x.repeat_interleave(2, dim=1), lambda t: t.repeat_interleave(2, dim=1)),
        ("roll", [a], lambda x: x.roll(-1, dim=1), lambda t: t.roll(-1, dims=1)),
        ("flip", [a], lambda x: x.flip(dim=(0, 1)), lambda t: t.flip((0, 1))),
        ("gather", [a], lambda x: x.gather(1, idx), lambda t: t.gather(1, torch.tensor(idx))),
        ("chunk", [a], lambda x: ad.chunk(x, 3, dim=1)[1], lambda t: torch.chunk(t, 3, dim=1)[1]),
        ("diagonal", [sq], lambda x: x.diagonal(1, dim1=-2, dim2=-1), lambda t: t.diagonal(1, dim1=-2, dim2=-1)),
        ("tril", [a], lambda x: x.tril(diagonal=-1), lambda t: t.tril(diagonal=-1)),
        ("trace", [a], lambda x: x.trace(), lambda t: t.trace()),
        ("sort", [a], lambda x: x.sort(dim=0).values, lambda t: t.sort(dim=0).values),
        ("einsum", [sq, a[:, :3]], lambda x, y: ad.einsum("bij,kj->bik", x, y), lambda t, u: torch.einsum("bij,kj->bik", t, u)),
        ("kron", [a, sq[0]], lambda x, y: ad.kron(x, y), lambda t, u: torch.kron(t, u)),
        ("outer", [a[0], a[1]], lambda x, y: x.outer(y), lambda t, u: t.outer(u)),
        ("tensordot", [sq, a[:, :3]], lambda x, y: ad.tensordot(x, y, ([2], [1])), lambda t, u: torch.tensordot(t, u, ([2], [1]))),
        ("pad reflect", [sq], lambda x: ad.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect"),
         lambda t: torch.nn.functional.pad(t, (2, 1, 1, 2), mode="reflect")),
        ("pad edge", [sq], lambda x: ad.pad(x, ((0, 0), (1, 2), (2, 1)), mode="edge"),
         lambda t: torch.nn.functional.pad(t, (2, 1, 1, 2), mode="replicate")),
        ("inv", [spd], ad.linalg.inv, torch.linalg.inv),
        ("det", [sq], ad.linalg.det, torch.linalg.det),
        ("slogdet", [sq], lambda x: ad.linalg.slogdet(x).logabsdet, lambda t: torch.linalg.slogdet(t).logabsdet),
        ("solve", [spd, a[:3]], ad.linalg.solve, torch.linalg.solve),
        ("cholesky", [spd], ad.linalg.cholesky, torch.linalg.cholesky),
        ("eigh", [spd], lambda x: ad.linalg.eigh(x)[1] ** 2 * np.arange(9.0).reshape(3, 3) + ad.linalg.eigh(x)[0][..., None],
         lambda t: torch.linalg.eigh(t)[1] ** 2 * torch.arange(9.0, dtype=t.dtype).reshape(3, 3) + torch.linalg.eigh(t)[0][..., None]),
        ("svd", [a], lambda x: (lambda r: r.U ** 2 @ r.Vh ** 2 + r.S[:, None])(ad.linalg.svd(x, full_matrices=False)),
         lambda t: (lambda r: r.U ** 2 @ r.Vh ** 2 + r.S[:, None])(torch.linalg.svd(t, full_matrices=False))),
        ("qr", [a.T], lambda x: (lambda r: r.Q @ r.R * np.arange(4.0)[:, None] + r.Q.sum())(ad.linalg.qr(x)),
         lambda t: (lambda r: r.Q @ r.R * torch.arange(4.0, dtype=t.dtype)[:, None] + r.Q.sum())(torch.linalg.qr(t))),
        ("pinv", [a], ad.linalg.pinv, torch.linalg.pinv),
        ("matrix_power", [sq], lambda x: ad.linalg.matrix_power(x, -3), lambda t: torch.linalg.matrix_power(t, -3)),
        ("multi_dot", [a, a.T, sq[0]], lambda *xs: ad.linalg.multi_dot(xs), lambda *ts: torch.linalg.multi_dot(ts)),
        ("norm nuc", [a], lambda x: ad.linalg.norm(x, "nuc"), lambda t: torch.linalg.matrix_norm(t, "nuc")),
        ("norm 2", [a], lambda x: ad.linalg.norm(x, 2), lambda t: torch.linalg.matrix_norm(t, 2)),
    ]


def test_values_and_gradients_match_pytorch_float64():
    torch = pytest.importorskip("torch")
    for name, arrays, ours, theirs in _torch_cases(torch):
        xs = _leaves(arrays)
        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        z, zt = ours(*xs), theirs(*ts)
        np.testing.assert_allclose(z.data, zt.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        w = np.random.default_rng(1).uniform(-1, 1, z.shape)
        gs = ad.grad(z, xs, w)
        gts = torch.autograd.grad(zt, ts, torch.tensor(w))
        for g, gt in zip(gs, gts):
            np.testing.assert_allclose(g.data, gt.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)


# ------------------------------------------------------------------ degenerate decompositions (documented)
def test_repeated_eigenvalues_exact_for_the_values_and_nan_for_the_vectors_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.diag([2.0, 2.0, 5.0])
    x = ad.Tensor(a, requires_grad=True)
    (g,) = ad.grad(ad.linalg.eigvalsh(x).sum() * 1.0, x)
    np.testing.assert_allclose(g.data, np.eye(3))  # Σλ = trace: its gradient is I, degenerate or not
    x = ad.Tensor(a, requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = ad.grad((ad.linalg.eigh(x).eigenvectors * np.arange(9.0).reshape(3, 3)).sum(), x)
    t = torch.tensor(a, requires_grad=True)
    (torch.linalg.eigh(t)[1] * torch.arange(9.0, dtype=t.dtype).reshape(3, 3)).sum().backward()
    assert not np.isfinite(g.data).all() and not torch.isfinite(t.grad).all()


def test_repeated_singular_values_exact_for_the_values_and_not_finite_for_the_vectors():
    a = np.eye(3)[:, :2] * 2.0
    x = ad.Tensor(a, requires_grad=True)
    (g,) = ad.grad(ad.linalg.svdvals(x).sum(), x)
    np.testing.assert_allclose(g.data, np.eye(3)[:, :2])  # U Vᵀ for the nuclear norm
    with np.errstate(all="ignore"):
        (g,) = ad.grad((ad.linalg.svd(x, full_matrices=False).U * np.arange(6.0).reshape(3, 2)).sum(), x)
    assert not np.isfinite(g.data).all()


# ------------------------------------------------------------------ einsum edge cases
@pytest.mark.parametrize("subscripts, shapes", [
    ("ij,jk->ik", [(2, 0), (0, 3)]), ("i,j->ij", [(0,), (2,)]), ("ii->i", [(0, 0)]), ("...i,...i", [(0, 2), (1, 2)]),
    ("ij->", [(0, 3)]), ("bij,bjk", [(0, 2, 2), (0, 2, 1)]),
])
def test_einsum_over_empty_axes(subscripts, shapes):  # (and so dot, inner, outer, tensordot, kron)
    rng = np.random.default_rng(0)
    xs = [ad.Tensor(rng.normal(size=s), requires_grad=True) for s in shapes]
    z = ad.einsum(subscripts, *xs)
    np.testing.assert_array_equal(z.data, np.einsum(subscripts, *[x.data for x in xs]))
    assert gradcheck(lambda *ts: ad.einsum(subscripts, *ts), *xs)
    assert gradgradcheck(lambda *ts: ad.einsum(subscripts, *ts), *xs)


def test_einsum_uppercase_letters_and_implicit_output_order_match_numpy():
    a, b = np.ones((2, 3)), np.ones((4, 5))
    assert ad.einsum("Ba,bA", a, b).shape == np.einsum("Ba,bA", a, b).shape == (5, 2, 3, 4)


def test_einsum_keeps_float32():
    a = ad.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    z = ad.einsum("ii,ij->j", a, [[1, 2], [3, 4]])
    assert z.dtype == np.float32
    (g,) = ad.grad(z.sum(), a)
    assert g.dtype == np.float32


# ------------------------------------------------------------------ errors: clear, and nothing changed
BAD = [
    (lambda x: ad.einsum("ij,jk", x), ValueError, "einsum: subscripts 'ij,jk' name 2 operands, 1 given"),
    (lambda x: ad.einsum("ijk", x), ValueError, "einsum: operand 0 has shape"),
    (lambda x: ad.einsum("ij->k", x), ValueError, "output letter 'k' is in no operand"),
    (lambda x: ad.einsum("i1", x), ValueError, "not letters"),
    (lambda x: ad.einsum("ij,ij", x, np.ones((3, 3))), ValueError, "letter 'i' has length 2 in one operand and 3"),
    (lambda x: ad.einsum(3, x), TypeError, "subscripts must be a string"),
    (lambda x: ad.pad(x, -1), ValueError, "negative width"),
    (lambda x: ad.pad(x, ((1, 2), (3, 4), (5, 6))), ValueError, "does not fit"),
    (lambda x: ad.pad(x, 1, mode="mirror"), ValueError, "mode 'mirror' is not one of"),
    (lambda x: ad.pad(x, 1.5), TypeError, "pad_width must hold integers"),
    (lambda x: ad.squeeze(x, 0), ValueError, "squeeze: axis 0 of shape \\(2, 3\\) has length 2"),
    (lambda x: ad.take(x, [6]), IndexError, "take: index 6 is out of range"),
    (lambda x: ad.take(x, [0.5]), TypeError, "take: indices must be integers"),
    (lambda x: ad.gather(x, 0, np.zeros((2, 4), int)), ValueError, "gather: index of shape"),
    (lambda x: ad.split(x, 4, axis=1), ValueError, "does not split into 4 equal parts"),
    (lambda x: ad.flatten(x, 1, 0), ValueError, "start_dim 1 comes after end_dim 0"),
    (lambda x: ad.expand(x, 3), ValueError, "expand: 1 sizes"),
    (lambda x: ad.permute(x, 0), ValueError, "permute: 1 axes"),
    (lambda x: ad.linalg.inv(x), ValueError, "inv: needs square matrices"),
    (lambda x: ad.linalg.svd(x), ValueError, "pass full_matrices=False"),
    (lambda x: ad.linalg.qr(x[0]), ValueError, "qr: needs matrices"),
    (lambda x: ad.linalg.matrix_power(x, 2), ValueError, "matrix_power: needs square"),
    (lambda x: ad.linalg.eigh(x, UPLO="U"), ValueError, "only UPLO='L'"),
    (lambda x: ad.linalg.solve(x[:, :2], x[0]), ValueError, "solve: shapes"),
    (lambda x: ad.diag(x[None]), ValueError, "diag: needs a 1-D or 2-D tensor"),
    (lambda x: ad.repeat(x, [1, 2], axis=1), ValueError, "repeat: 2 repeats for an axis of length 3"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_gets_a_clear_error_and_changes_nothing(call, error, message):
    x = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(error, match=message):
        call(x)
    np.testing.assert_array_equal(x.data, np.arange(6.0).reshape(2, 3))
    assert x.grad is None


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    # det is a polynomial: central differences are exact; PyTorch 2.x gives 0 here (we differ on purpose)
    for a in (np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])):
        x = ad.Tensor(a, requires_grad=True)
        assert gradcheck(ad.linalg.det, x)
    x = ad.Tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    (g,) = ad.grad(ad.linalg.det(x), x)
    np.testing.assert_allclose(g.data, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


def test_a_singular_matrix_raises_numpys_linalg_error():
    with pytest.raises(np.linalg.LinAlgError):
        ad.linalg.inv(ad.Tensor(np.ones((2, 2)), requires_grad=True))


# ------------------------------------------------------------------ below a where: per matrix of a batch
MATRIX_FUNCTIONS = {
    "inv": lambda a: ad.linalg.inv(a),
    "det": lambda a: ad.linalg.det(a)[..., None, None] * np.ones((1, 3)),
    "slogdet": lambda a: ad.linalg.slogdet(a).logabsdet[..., None, None] * np.ones((1, 3)),
    "solve": lambda a: ad.linalg.solve(a, np.ones((3, 2))),
    # (cholesky, eigh, svd and pinv are left out: NumPy refuses a batch holding a non-finite matrix,
    # as PyTorch does; their degenerate points are below)
    "qr": lambda a: (lambda r: r.Q + r.R)(ad.linalg.qr(a)),
    "matrix_power": lambda a: ad.linalg.matrix_power(a, -2),
}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
def test_a_matrix_of_a_batch_that_is_not_selected_passes_nothing_back(name, create_graph):
    f = MATRIX_FUNCTIONS[name]
    good = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    batch = np.stack([good, good + np.diag([1.0, 2.0, 3.0])])
    u = ad.Tensor(np.array([0.0, 1.0])[:, None, None], requires_grad=True)  # log(0) poisons matrix 0
    keep = np.array([False, True])[:, None, None]

    def loss(x, u):
        z = f(x + ad.log(u))
        return (ad.where(keep, z, 0.0) * np.arange(1.0, z.shape[-1] * z.shape[-2] + 1).reshape(z.shape[-2:])).sum()

    x = ad.Tensor(batch, requires_grad=True)
    with np.errstate(all="ignore"):
        gx, gu = ad.grad(loss(x, u), [x, u], create_graph=create_graph)
    assert np.isfinite(gx.data).all() and np.isfinite(gu.data).all(), (gx.data, gu.data)
    np.testing.assert_array_equal(gx.data[0], np.zeros((3, 3)))
    (expected,) = ad.grad(loss(x, ad.Tensor(np.ones((2, 1, 1)))), x)  # the same, unpoisoned
    np.testing.assert_allclose(gx.data[1], expected.data[1], rtol=1e-12)
    if create_graph:
        with np.errstate(all="ignore"):
            (hx,) = ad.grad((gx * gx).sum(), x)
        assert np.isfinite(hx.data).all()
        np.testing.assert_array_equal(hx.data[0], np.zeros((3, 3)))


@pytest.mark.parametrize("name", ["eigh", "svd"])
def test_a_degenerate_matrix_of_a_batch_that_is_not_selected_passes_nothing_back(name):
    # matrix 0 has a repeated eigenvalue / singular value: its vectors' gradient would be NaN
    f = {"eigh": lambda a: ad.linalg.eigh(a).eigenvectors ** 2,
         "svd": lambda a: ad.linalg.svd(a).U ** 2}[name]
    batch = np.stack([np.eye(3), np.diag([1.0, 2.0, 4.0]) + 0.1])
    x = ad.Tensor(batch, requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = ad.grad((ad.where(np.array([False, True])[:, None, None], f(x), 0.0) * np.arange(9.0).reshape(3, 3)).sum(), x)
    np.testing.assert_array_equal(g.data[0], np.zeros((3, 3)))
    assert np.isfinite(g.data).all()


@pytest.mark.parametrize("create_graph", [False, True])
def test_sort_passes_nothing_back_from_a_place_that_is_not_selected(create_graph):
    # log(0) = −∞ sorts to the front, which is not selected: the rest is exact
    x = ad.Tensor([3.0, 0.5, 1.0, -2.0], requires_grad=True)
    u = ad.Tensor([1.0, 0.0, 1.0, 1.0], requires_grad=True)
    with np.errstate(all="ignore"):
        z = ad.sort(x + ad.log(u))
        loss = (ad.where([False, True, True, True], z, 0.0) * np.array([1.0, 2.0, 3.0, 4.0])).sum()
        gx, gu = ad.grad(loss, [x, u], create_graph=create_graph)
    np.testing.assert_array_equal(gx.data, [4.0, 0.0, 3.0, 2.0])
    np.testing.assert_array_equal(gu.data, [4.0, 0.0, 3.0, 2.0])


@pytest.mark.parametrize("fn, shapes", [(ad.dot, [(2, 0), (0, 3)]), (ad.outer, [(), (0,)]), (ad.kron, [(0, 2), (2, 1)]),
                                        (ad.inner, [(0, 2), (3, 2)]), (ad.tensordot, [(2, 0), (2, 0)])])
def test_products_over_empty_axes(fn, shapes):
    xs = [ad.Tensor(np.ones(s), requires_grad=True) for s in shapes]
    z = fn(*xs)
    np.testing.assert_array_equal(z.data, getattr(np, fn.__name__)(*[x.data for x in xs]))
    assert gradcheck(fn, *xs) and gradgradcheck(fn, *xs)
