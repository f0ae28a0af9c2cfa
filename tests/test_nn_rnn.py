"""RNN, LSTM, GRU, their cells and Embedding against torch 2.13 in float64: outputs, final states, input,
initial-state and parameter gradients, state dicts both ways; dropout, gradcheck, where-safety, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff.testing import gradcheck, gradgradcheck
from nn.modules.gru_op import gru_composed, gru_sequence
from nn.modules.lstm_op import lstm_composed, lstm_sequence

torch = pytest.importorskip("torch")

KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
OPTIONS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"batch_first": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False},
]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def _to_torch(ours, cls, *args, **kw):
    theirs = cls(*args, dtype=torch.float64, **kw)
    missing = theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    assert not missing.missing_keys and not missing.unexpected_keys
    return theirs


def _grads(module):
    return {k: p.grad for k, p in module.named_parameters()}


def _close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _run_both(kind, kw, x, with_state, rng, unbatched=False):
    """(ours, theirs) after one forward and backward of Σ G ⊙ output + Σ G' ⊙ final states."""
    ours = KINDS[kind](3, 4, rng=rng, **kw)
    theirs = _to_torch(ours, getattr(torch.nn, kind), 3, 4, **kw)
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    n = x.shape[0 if kw.get("batch_first") else 1] if not unbatched else None
    shape = (layers, 4) if unbatched else (layers, n, 4)
    states = [rng.normal(size=shape) for _ in range(2 if kind == "LSTM" else 1)] if with_state else None
    xo, xt = ad.Tensor(x, requires_grad=True), _t(x, True)
    so = [ad.Tensor(s, requires_grad=True) for s in states] if states else None
    st = [_t(s, True) for s in states] if states else None
    if kind == "LSTM":
        oo, (ho, co) = ours(xo, tuple(so) if so else None)
        ot, (ht, ct) = theirs(xt, tuple(st) if st else None)
        finals = [(ho, ht), (co, ct)]
    else:
        oo, ho = ours(xo, so[0] if so else None)
        ot, ht = theirs(xt, st[0] if st else None)
        finals = [(ho, ht)]
    assert oo.shape == tuple(ot.shape)
    _close(oo.data, ot.detach().numpy())
    lo, lt = 0.0, 0.0
    for a, b in [(oo, ot), *finals]:
        assert a.shape == tuple(b.shape)
        _close(a.data, b.detach().numpy())
        G = rng.normal(size=a.shape)
        lo, lt = lo + (a * G).sum(), lt + (b * _t(G)).sum()
    lo.backward()
    lt.backward()
    _close(xo.grad, xt.grad.numpy())
    for a, b in zip(so or [], st or []):
        _close(a.grad, b.grad.numpy())
    ours_grads = _grads(ours)
    for name, p in theirs.named_parameters():
        _close(ours_grads[name], p.grad.numpy())
    return ours, theirs


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kw", OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_matches_torch(kind, kw):
    rng = np.random.default_rng(len(kind) + len(kw))
    x = rng.normal(size=(2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    ours, _ = _run_both(kind, kw, x, with_state=bool(len(kw) % 2), rng=rng)
    names = [n for n, _ in ours.named_parameters()]
    assert names[:2] == ["weight_ih_l0", "weight_hh_l0"]
    if kw.get("bidirectional"):
        assert "weight_ih_l0_reverse" in names


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_with_initial_state(kind):
    rng = np.random.default_rng(1)
    _run_both(kind, {"num_layers": 2, "bidirectional": True}, rng.normal(size=(4, 3)), with_state=True, rng=rng,
              unbatched=True)


def test_rnn_relu_matches_torch():
    rng = np.random.default_rng(2)
    ours = nn.RNN(3, 4, nonlinearity="relu", num_layers=2, rng=rng)
    theirs = _to_torch(ours, torch.nn.RNN, 3, 4, nonlinearity="relu", num_layers=2)
    x = rng.normal(size=(5, 2, 3))
    _close(ours(x)[0].data, theirs(_t(x))[0].detach().numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_from_torch_loads_and_computes_the_same(kind):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = KINDS[kind](3, 4, num_layers=2, bidirectional=True)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(3).normal(size=(6, 2, 3))
    _close(ours(x)[0].data, theirs(_t(x))[0].detach().numpy())
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("kind", KINDS)
def test_initialisation_is_uniform_in_one_over_sqrt_hidden(kind):
    m = KINDS[kind](10, 25, num_layers=2, rng=np.random.default_rng(0))
    values = np.concatenate([p.data.ravel() for p in m.parameters()])
    assert np.abs(values).max() <= 1 / 5 and np.abs(values).max() > 0.19
    again = KINDS[kind](10, 25, num_layers=2, rng=np.random.default_rng(0))
    _close(np.concatenate([p.data.ravel() for p in again.parameters()]), values, 0)


# ---------------------------------------------------------------------- dropout between layers
def test_dropout_is_off_in_eval_mode_and_matches_torch():
    rng = np.random.default_rng(4)
    ours = nn.LSTM(3, 4, num_layers=2, dropout=0.5, rng=rng)
    theirs = _to_torch(ours, torch.nn.LSTM, 3, 4, num_layers=2, dropout=0.5)
    ours.eval()
    theirs.eval()
    x = rng.normal(size=(5, 2, 3))
    _close(ours(x)[0].data, theirs(_t(x))[0].detach().numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_in_training_is_reproducible_and_drops_the_inputs_of_the_next_layer(kind):
    x = np.random.default_rng(5).normal(size=(5, 2, 3))
    a = KINDS[kind](3, 4, num_layers=2, dropout=0.5, rng=np.random.default_rng(6))
    b = KINDS[kind](3, 4, num_layers=2, dropout=0.5, rng=np.random.default_rng(6))
    out_a, out_b = a(x)[0].data, b(x)[0].data
    _close(out_a, out_b, 0)  # the same rng: the same masks
    assert not np.allclose(a(x)[0].data, out_a)  # a new mask each call
    a.eval()
    assert not np.allclose(a(x)[0].data, out_a)
    # p = 1 drops everything: the second layer then sees zeros
    a.train()
    a.dropout = 1.0
    top = KINDS[kind](4, 4)
    top.load_state_dict({k.replace("l1", "l0"): v for k, v in a.state_dict().items() if "l1" in k})
    _close(a(x)[0].data, top(np.zeros((5, 2, 4)))[0].data)


def test_dropout_statistics():
    # the layer-0 outputs reaching layer 1 are kept with probability 1 − p and scaled by 1/(1 − p)
    m = nn.GRU(3, 50, num_layers=2, dropout=0.3, rng=np.random.default_rng(7))
    seen = m._between_layers(ad.Tensor(np.ones((20, 8, 50))), 0).data
    assert set(np.unique(seen)) <= {0.0, 1 / 0.7}
    assert abs((seen == 0).mean() - 0.3) < 0.02


# ---------------------------------------------------------------------- cells
CELLS = {"RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, with_state, batched):
    rng = np.random.default_rng(8)
    ours = CELLS[name](3, 4, rng=rng)
    theirs = _to_torch(ours, getattr(torch.nn, name), 3, 4)
    x = rng.normal(size=(2, 3) if batched else (3,))
    hshape = (2, 4) if batched else (4,)
    states = [rng.normal(size=hshape) for _ in range(2 if name == "LSTMCell" else 1)] if with_state else None
    xo, xt = ad.Tensor(x, requires_grad=True), _t(x, True)
    if name == "LSTMCell":
        oo = ours(xo, tuple(states) if states else None)
        ot = theirs(xt, tuple(_t(s) for s in states) if states else None)
    else:
        oo, ot = (ours(xo, states[0] if states else None),), (theirs(xt, _t(states[0]) if states else None),)
    lo, lt = 0.0, 0.0
    for a, b in zip(oo, ot):
        _close(a.data, b.detach().numpy())
        G = rng.normal(size=a.shape)
        lo, lt = lo + (a * G).sum(), lt + (b * _t(G)).sum()
    lo.backward()
    lt.backward()
    _close(xo.grad, xt.grad.numpy())
    for n, p in theirs.named_parameters():
        _close(_grads(ours)[n], p.grad.numpy())


def test_rnn_cell_relu_and_no_bias():
    rng = np.random.default_rng(9)
    ours = nn.RNNCell(3, 4, bias=False, nonlinearity="relu", rng=rng)
    theirs = _to_torch(ours, torch.nn.RNNCell, 3, 4, bias=False, nonlinearity="relu")
    x = rng.normal(size=(2, 3))
    _close(ours(x).data, theirs(_t(x)).detach().numpy())


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_through_every_input(kind):
    rng = np.random.default_rng(10)
    m = KINDS[kind](2, 3, num_layers=2, bidirectional=True, rng=rng)
    x = ad.Tensor(rng.normal(size=(3, 2, 2)), requires_grad=True)
    h = ad.Tensor(rng.normal(size=(4, 2, 3)), requires_grad=True)

    params = [ad.Tensor(p.data.copy(), requires_grad=True) for p in m.parameters()]

    names = [n for n, _ in m.named_parameters()]
    originals = list(m.parameters())

    def g(x, h, *ps):
        # the parameters as inputs too: put them in the module's place for the call
        for name, p in zip(names, ps):
            object.__setattr__(m, name, p)
        try:
            return m(x, (h, h * 0.5) if kind == "LSTM" else h)[0]
        finally:
            for name, p in zip(names, originals):
                object.__setattr__(m, name, p)

    assert gradcheck(g, x, h, *params)


def test_lstm_op_grad_of_grad_and_composed_agree():
    rng = np.random.default_rng(11)
    arrays = [rng.normal(size=s) for s in [(3, 2, 2), (2, 3), (2, 3), (12, 2), (12, 3), (12,), (12,)]]
    for reverse in (False, True):
        xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
        assert gradgradcheck(lambda *xs, r=reverse: lstm_sequence(*xs, reverse=r), *xs)
        fused, composed = lstm_sequence(*xs, reverse=reverse), lstm_composed(*xs, reverse=reverse)
        _close(fused.data, composed.data)


def test_lstm_hessian_vector_product_matches_the_composed_lstm():
    rng = np.random.default_rng(12)
    m = nn.LSTM(2, 3, rng=rng)
    x = rng.normal(size=(4, 2, 2))
    w = m.weight_hh_l0

    def loss(fn):
        out = fn(ad.Tensor(x), ad.Tensor(np.zeros((2, 3))), ad.Tensor(np.zeros((2, 3))), m.weight_ih_l0, w,
                 m.bias_ih_l0, m.bias_hh_l0)
        return (out * out).sum()

    v = rng.normal(size=w.shape)
    hv = []
    for fn in (lstm_sequence, lstm_composed):
        (g,) = ad.grad(loss(fn), w, create_graph=True)
        (h,) = ad.grad((g * v).sum(), w)
        hv.append(h.data)
    _close(hv[0], hv[1])


def test_an_unselected_poisoned_step_leaks_nothing_into_the_gradient():
    # x[2] is −∞ in batch row 0: every output from step 2 on in that row is NaN; a `where` keeps the others
    rng = np.random.default_rng(13)
    m = nn.LSTM(2, 3, rng=rng)
    x = rng.normal(size=(4, 2, 2))
    keep = np.ones((4, 2, 3), bool)
    keep[2:, 0] = False
    G = rng.normal(size=(4, 2, 3))
    poisoned = x.copy()
    poisoned[2, 0, 1] = -np.inf
    grads = []
    for data in (x, poisoned):
        m.zero_grad()
        xt = ad.Tensor(data, requires_grad=True)
        with np.errstate(all="ignore"):
            (ad.where(keep, m(xt)[0], 0.0) * G).sum().backward()
        grads.append([xt.grad, *(p.grad for p in m.parameters())])
    for a, b in zip(*grads):
        assert np.isfinite(b).all()
        _close(b, a)


def test_float32_stays_float32():
    m = nn.LSTM(3, 4, dtype=np.float32, rng=np.random.default_rng(0))
    x = ad.Tensor(np.ones((5, 2, 3), np.float32), requires_grad=True)
    out, (h, c) = m(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and m.weight_hh_l0.grad.dtype == np.float32


def test_the_graph_of_a_step_is_one_node_per_layer_and_direction():
    m = nn.LSTM(2, 3, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    out, _ = m(np.ones((4, 1, 2)))
    assert sum(1 for line in ad.draw_graph(out.sum()).source.split("\n") if "lstm" in line and "label" in line) == 4


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("kind", KINDS)
def test_wrong_inputs_are_refused_clearly(kind):
    m = KINDS[kind](3, 4, num_layers=2)
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"2-D .* or 3-D"):
        m(np.ones((2, 2, 2, 3)))
    with pytest.raises(ValueError, match="input_size=3"):
        m(np.ones((5, 2, 7)))
    with pytest.raises(ValueError, match="at least one step"):
        m(np.ones((0, 2, 3)))
    bad = np.ones((2, 2, 5))
    with pytest.raises(ValueError, match=r"\(2, 2, 4\)"):
        m(np.ones((5, 2, 3)), (bad, bad) if kind == "LSTM" else bad)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="tuple"):
        nn.LSTM(3, 4)(np.ones((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="hidden state"):
        nn.GRUCell(3, 4)(np.ones((2, 3)), np.zeros((3, 4)))


# ---------------------------------------------------------------------- Embedding
def test_embedding_matches_torch_with_repeats_and_padding():
    rng = np.random.default_rng(14)
    ours = nn.Embedding(6, 3, padding_idx=2, rng=rng)
    np.testing.assert_array_equal(ours.weight.data[2], 0.0)
    ours.weight.data[2] = 0.5  # a padding row that is not zero still looks up as it is, but learns nothing
    theirs = torch.nn.Embedding(6, 3, padding_idx=2, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    idx = np.array([[0, 2, 5, 5], [2, 1, 0, 0]])
    out_o, out_t = ours(idx), theirs(torch.tensor(idx))
    _close(out_o.data, out_t.detach().numpy())
    G = rng.normal(size=out_o.shape)
    (out_o * G).sum().backward()
    (out_t * _t(G)).sum().backward()
    _close(ours.weight.grad, theirs.weight.grad.numpy())
    np.testing.assert_array_equal(ours.weight.grad[2], 0.0)
    np.testing.assert_array_equal(ours.weight.grad[3:5], 0.0)


def test_embedding_state_dict_from_torch_and_pretrained():
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(5, 2, dtype=torch.float64)
    ours = nn.Embedding(5, 2)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _close(ours([4, 0]).data, theirs(torch.tensor([4, 0])).detach().numpy())
    frozen = nn.Embedding.from_pretrained(theirs.weight.detach().numpy())
    assert not frozen.weight.requires_grad and frozen([1]).shape == (1, 2)
    assert nn.Embedding.from_pretrained(np.eye(3), freeze=False).weight.requires_grad


def test_embedding_default_init_is_standard_normal():
    w = nn.Embedding(2000, 10, rng=np.random.default_rng(0)).weight.data
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_embedding_errors():
    e = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index 4 is out of range"):
        e([1, 4])
    with pytest.raises(TypeError, match="integers"):
        e(np.array([0.5]))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(4, 2, max_norm=1.0)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    np.testing.assert_array_equal(e(np.array([1.0, 3.0])).data, e([1, 3]).data)  # whole-number floats are indices


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_forward_and_backward_match_eager(kind):
    m = KINDS[kind](3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(15))
    x = ad.Tensor(np.random.default_rng(16).normal(size=(5, 2, 3)))
    G = np.random.default_rng(17).normal(size=(5, 2, 8))
    m.zero_grad()
    eager = (m(x)[0] * G).sum()
    eager.backward()
    expected = {n: p.grad.copy() for n, p in m.named_parameters()}
    compiled = ad.compile(lambda x: (m(x)[0] * G).sum())
    for _ in range(2):  # the trace, then a replay
        m.zero_grad()
        value = compiled(x)
        value.backward()
        assert value.item() == pytest.approx(eager.item(), rel=1e-12)
        for n, p in m.named_parameters():
            _close(p.grad, expected[n])
    assert compiled.traces == 1


@pytest.mark.parametrize("key", ["S1", "S2", "S3"])
def test_the_sequence_benchmark_implementations_agree(key):
    # benchmarks/sequences.py at tiny sizes: the hand-written NumPy LSTM and attention, ours and torch's
    # give the same gradients (what its timings compare); a wrong one would be named
    from benchmarks.sequences import TINY, agree, build

    impls = build(key, TINY[key], with_torch=True)
    assert set(impls) == {"numpy", "ours", "torch"}
    assert agree(impls) == []
    impls["ours"] = lambda: {k: v * 1.001 for k, v in build(key, TINY[key], with_torch=False)["ours"]().items()}
    assert agree(impls) == ["ours"]


@given(T=st.integers(1, 3), N=st.integers(1, 2), n_in=st.integers(1, 3), H=st.integers(1, 3), reverse=st.booleans(),
       seed=st.integers(0, 2**16))
def test_lstm_op_gradcheck_on_drawn_shapes(T, N, n_in, H, reverse, seed):
    rng = np.random.default_rng(seed)
    shapes = [(T, N, n_in), (N, H), (N, H), (4 * H, n_in), (4 * H, H), (4 * H,), (4 * H,)]
    xs = [ad.Tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in shapes]
    before = [x.data.copy() for x in xs]
    assert gradcheck(lambda *xs: lstm_sequence(*xs, reverse=reverse), *xs)
    for x, b in zip(xs, before):  # the op never changes its inputs
        np.testing.assert_array_equal(x.data, b)


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_batch_gives_empty_outputs_as_torch(kind):
    m = KINDS[kind](3, 4, num_layers=2, bidirectional=True)
    x = ad.Tensor(np.zeros((5, 0, 3)), requires_grad=True)
    out, state = m(x)
    assert out.shape == (5, 0, 8)
    assert (state[0] if kind == "LSTM" else state).shape == (4, 0, 4)
    out.sum().backward()
    assert x.grad.shape == (5, 0, 3) and m.weight_hh_l0.grad.shape == m.weight_hh_l0.shape


@given(T=st.integers(1, 3), N=st.integers(1, 2), n_in=st.integers(1, 3), H=st.integers(1, 3), reverse=st.booleans(),
       seed=st.integers(0, 2**16))
def test_gru_op_gradcheck_on_drawn_shapes(T, N, n_in, H, reverse, seed):
    rng = np.random.default_rng(seed)
    shapes = [(T, N, n_in), (N, H), (3 * H, n_in), (3 * H, H), (3 * H,), (3 * H,)]
    xs = [ad.Tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in shapes]
    before = [x.data.copy() for x in xs]
    assert gradcheck(lambda *xs: gru_sequence(*xs, reverse=reverse), *xs)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.data, b)


def test_gru_op_grad_of_grad_and_composed_agree():
    rng = np.random.default_rng(18)
    arrays = [rng.normal(size=s) for s in [(3, 2, 2), (2, 3), (9, 2), (9, 3), (9,), (9,)]]
    for reverse in (False, True):
        xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
        assert gradgradcheck(lambda *xs, r=reverse: gru_sequence(*xs, reverse=r), *xs)
        _close(gru_sequence(*xs, reverse=reverse).data, gru_composed(*xs, reverse=reverse).data)


def test_an_unselected_poisoned_gru_step_leaks_nothing():
    rng = np.random.default_rng(19)
    m = nn.GRU(2, 3, rng=rng)
    x = rng.normal(size=(4, 2, 2))
    keep = np.ones((4, 2, 3), bool)
    keep[1:, 1] = False
    G = rng.normal(size=(4, 2, 3))
    poisoned = x.copy()
    poisoned[1, 1, 0] = np.inf
    grads = []
    for data in (x, poisoned):
        m.zero_grad()
        xt = ad.Tensor(data, requires_grad=True)
        with np.errstate(all="ignore"):
            (ad.where(keep, m(xt)[0], 0.0) * G).sum().backward()
        grads.append([xt.grad, *(p.grad for p in m.parameters())])
    for a, b in zip(*grads):
        assert np.isfinite(b).all()
        _close(b, a)
