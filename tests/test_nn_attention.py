"""scaled_dot_product_attention, MultiheadAttention and TransformerEncoderLayer against torch 2.13 in float64:
outputs, attention weights, input and parameter gradients, state dicts both ways, every mask and option;
dropout in eval (equal) and training (reproducible, right statistics); gradcheck; errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff.testing import gradcheck
from nn.functional import scaled_dot_product_attention as sdpa

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def _close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _backward_both(pairs, rng):
    """Σ G ⊙ output for each (ours, torch's) pair, backward in both."""
    lo, lt = 0.0, 0.0
    for a, b in pairs:
        assert a.shape == tuple(b.shape)
        _close(a.data, b.detach().numpy())
        G = rng.normal(size=a.shape)
        lo, lt = lo + (a * G).sum(), lt + (b * _t(G)).sum()
    lo.backward()
    lt.backward()


# ---------------------------------------------------------------------- scaled_dot_product_attention
MASKS = {
    "none": lambda rng: None,
    "bool": lambda rng: rng.random((4, 6)) > 0.3,
    "float": lambda rng: rng.normal(size=(3, 4, 6)),
    "bool, a query that sees nothing": lambda rng: np.array([[True] * 6, [False] * 6, [True, False] * 3, [False] * 5 + [True]]),
}


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("kw", [{}, {"scale": 0.3}], ids=["default scale", "scale=0.3"])
def test_sdpa_matches_torch(mask, kw):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)]]
    m = MASKS[mask](rng)
    ours = [ad.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [_t(a, True) for a in arrays]
    out_o = sdpa(*ours, attn_mask=m, **kw)
    out_t = F.scaled_dot_product_attention(*theirs, attn_mask=None if m is None else torch.tensor(m), **kw)
    _backward_both([(out_o, out_t)], rng)
    for a, b in zip(ours, theirs):
        _close(a.grad, b.grad.numpy())


def test_sdpa_causal_and_broadcast_batch_dims():
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 1, 5, 3)), rng.normal(size=(1, 4, 5, 3)), rng.normal(size=(1, 4, 5, 2))
    ours = [ad.Tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [_t(a, True) for a in (q, k, v)]
    out_o = sdpa(*ours, is_causal=True)
    out_t = F.scaled_dot_product_attention(*theirs, is_causal=True)
    _backward_both([(out_o, out_t)], rng)
    for a, b in zip(ours, theirs):
        _close(a.grad, b.grad.numpy())
    # causal: the first query sees only the first key
    _close(out_o.data[..., 0, :], np.broadcast_to(v[..., 0, :], (*out_o.shape[:-2], 2)))


def test_sdpa_dropout_is_reproducible_and_unbiased():
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    plain = sdpa(q, k, v).data
    a = sdpa(q, k, v, dropout_p=0.4, rng=np.random.default_rng(3)).data
    b = sdpa(q, k, v, dropout_p=0.4, rng=np.random.default_rng(3)).data
    _close(a, b, 0)
    assert not np.allclose(a, plain)
    draws = np.mean([sdpa(q, k, v, dropout_p=0.4, rng=rng).data for _ in range(3000)], axis=0)
    np.testing.assert_allclose(draws, plain, atol=0.06)  # E[mask / (1 − p)] = 1


def test_sdpa_errors():
    q = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="not both"):
        sdpa(q, q, q, attn_mask=np.ones((3, 3), bool), is_causal=True)
    with pytest.raises(ValueError, match="share E"):
        sdpa(q, np.ones((2, 3, 5)), q)
    with pytest.raises(ValueError, match="does not broadcast"):
        sdpa(q, q, q, attn_mask=np.ones((4, 3), bool))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        sdpa(np.ones(4), q, q)
    with pytest.raises(TypeError, match="boolean or floating"):
        sdpa(q, q, q, attn_mask=np.ones((3, 3), int))


def test_sdpa_gradcheck():
    rng = np.random.default_rng(4)
    xs = [ad.Tensor(rng.normal(size=s), requires_grad=True) for s in [(2, 3, 2), (2, 4, 2), (2, 4, 3)]]
    mask = rng.normal(size=(3, 4))
    assert gradcheck(lambda q, k, v: sdpa(q, k, v, attn_mask=mask), *xs)
    assert gradcheck(lambda q, k, v: sdpa(q, k, v, is_causal=True), *xs)


# ---------------------------------------------------------------------- MultiheadAttention
def _mha_pair(rng, **kw):
    ours = nn.MultiheadAttention(8, 2, rng=rng, **kw)
    kw.pop("dropout", None)
    theirs = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **kw)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


CASES = {
    "self": {},
    "batch_first": {"batch_first": True},
    "cross": {"cross": True},
    "no weights": {"need_weights": False},
    "per-head weights": {"average_attn_weights": False},
    "key padding": {"kpm": True},
    "bool attn_mask": {"am": "bool"},
    "float 3-D attn_mask": {"am": "float3"},
    "both masks": {"kpm": True, "am": "bool"},
    "no bias": {"bias": False},
    "unbatched": {"unbatched": True},
}


@pytest.mark.parametrize("case", CASES)
def test_mha_matches_torch(case):
    c = CASES[case]
    rng = np.random.default_rng(len(case))
    bf = c.get("batch_first", False)
    ours, theirs = _mha_pair(rng, batch_first=bf, bias=c.get("bias", True))
    for p in ours.parameters():  # non-zero biases, so their gradients mean something
        p.data[...] += rng.normal(size=p.shape) * 0.1
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    L, S, N = 5, 5 if not c.get("cross") else 6, 2
    shape = (lambda n: (n, 8)) if c.get("unbatched") else (lambda n: (N, n, 8)) if bf else (lambda n: (n, N, 8))
    q = rng.normal(size=shape(L))
    k, v = (rng.normal(size=shape(S)), rng.normal(size=shape(S))) if c.get("cross") else (q, q)
    kpm = None
    if c.get("kpm"):
        kpm = rng.random((N, S)) > 0.6
        kpm[:, 0] = False
    am = {"bool": lambda: np.triu(np.ones((L, S), bool), 1), "float3": lambda: rng.normal(size=(N * 2, L, S))}.get(
        c.get("am"), lambda: None)()
    qo = ad.Tensor(q, requires_grad=True)
    qt = _t(q, True)
    ko, vo = (ad.Tensor(k, requires_grad=True), ad.Tensor(v, requires_grad=True)) if c.get("cross") else (qo, qo)
    kt, vt = (_t(k, True), _t(v, True)) if c.get("cross") else (qt, qt)
    kw = dict(need_weights=c.get("need_weights", True), average_attn_weights=c.get("average_attn_weights", True))
    out_o, w_o = ours(qo, ko, vo, key_padding_mask=kpm, attn_mask=am, **kw)
    out_t, w_t = theirs(qt, kt, vt, key_padding_mask=None if kpm is None else torch.tensor(kpm),
                        attn_mask=None if am is None else torch.tensor(am), **kw)
    pairs = [(out_o, out_t)] + ([(w_o, w_t)] if kw["need_weights"] else [])
    assert (w_o is None) == (w_t is None)
    _backward_both(pairs, rng)
    for a, b in [(qo, qt), (ko, kt), (vo, vt)]:
        _close(a.grad, b.grad.numpy())
    ours_grads = {n: p.grad for n, p in ours.named_parameters()}
    for n, p in theirs.named_parameters():
        _close(ours_grads[n], p.grad.numpy())


def test_mha_state_dict_from_torch_and_init():
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 4, dtype=torch.float64)
    ours = nn.MultiheadAttention(8, 4)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(5).normal(size=(3, 2, 8))
    _close(ours(x, x, x)[0].data, theirs(_t(x), _t(x), _t(x))[0].detach().numpy())
    fresh = nn.MultiheadAttention(64, 4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(fresh.in_proj_bias.data, 0.0)
    np.testing.assert_array_equal(fresh.out_proj.bias.data, 0.0)
    assert 0.9 * np.sqrt(6 / 256) < np.abs(fresh.in_proj_weight.data).max() <= np.sqrt(6 / 256)


def test_mha_dropout_eval_equals_torch_and_training_is_reproducible():
    rng = np.random.default_rng(6)
    ours, theirs = _mha_pair(rng, dropout=0.5)
    theirs.dropout = 0.5
    x = rng.normal(size=(4, 2, 8))
    ours.eval()
    theirs.eval()
    _close(ours(x, x, x)[0].data, theirs(_t(x), _t(x), _t(x))[0].detach().numpy())
    ours.train()
    ours.rng = np.random.default_rng(7)
    a = ours(x, x, x)[0].data
    ours.rng = np.random.default_rng(7)
    _close(ours(x, x, x)[0].data, a, 0)
    ours.eval()
    assert not np.allclose(ours(x, x, x)[0].data, a)


def test_mha_gradcheck():
    rng = np.random.default_rng(8)
    m = nn.MultiheadAttention(4, 2, rng=rng)
    x = ad.Tensor(rng.normal(size=(3, 2, 4)), requires_grad=True)
    kpm = np.array([[False, False, True], [False, True, False]])
    assert gradcheck(lambda x: m(x, x, x, key_padding_mask=kpm)[0], x)


def test_mha_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(NotImplementedError, match="kdim"):
        nn.MultiheadAttention(8, 2, kdim=4)
    m = nn.MultiheadAttention(8, 2)
    x = np.ones((3, 2, 8))
    with pytest.raises(ValueError, match=r"\(L, N, 8\)"):
        m(np.ones((3, 2, 5)), x, x)
    with pytest.raises(ValueError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="attn_mask"):
        m(x, x, x, attn_mask=np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="is_causal"):
        m(x, x, x, is_causal=True)


# ---------------------------------------------------------------------- TransformerEncoderLayer
LAYERS = [
    {},
    {"norm_first": True},
    {"activation": "gelu", "batch_first": True},
    {"norm_first": True, "activation": "gelu", "batch_first": True},
]


@pytest.mark.parametrize("kw", LAYERS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("masks", [False, True], ids=["no masks", "masks"])
def test_encoder_layer_matches_torch(kw, masks):
    rng = np.random.default_rng(9)
    ours = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, rng=rng, **kw)
    for p in ours.parameters():
        p.data[...] += rng.normal(size=p.shape) * 0.1
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dtype=torch.float64, **kw)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    ours.eval()  # dropout 0.1 is off in eval
    theirs.eval()
    bf = kw.get("batch_first", False)
    x = rng.normal(size=(2, 5, 8) if bf else (5, 2, 8))
    mask = kpm = None
    if masks:
        mask = np.triu(np.ones((5, 5), bool), 1)
        kpm = np.array([[False] * 4 + [True], [False] * 5])
    xo, xt = ad.Tensor(x, requires_grad=True), _t(x, True)
    out_o = ours(xo, src_mask=mask, src_key_padding_mask=kpm)
    out_t = theirs(xt, src_mask=None if mask is None else torch.tensor(mask),
                   src_key_padding_mask=None if kpm is None else torch.tensor(kpm))
    _backward_both([(out_o, out_t)], rng)
    _close(xo.grad, xt.grad.numpy())
    ours_grads = {n: p.grad for n, p in ours.named_parameters()}
    for n, p in theirs.named_parameters():
        _close(ours_grads[n], p.grad.numpy())


def test_encoder_layer_state_dict_from_torch():
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dtype=torch.float64)
    ours = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(10).normal(size=(4, 2, 8))
    with torch.enable_grad():  # not torch's inference fast path
        expected = theirs(_t(x, True)).detach().numpy()
    _close(ours(x).data, expected)


def test_encoder_layer_training_dropout_is_reproducible():
    x = np.random.default_rng(11).normal(size=(4, 2, 8))
    a = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, rng=np.random.default_rng(12))
    b = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, rng=np.random.default_rng(12))
    _close(a(x).data, b(x).data, 0)
    out = a(x).data
    a.eval()
    assert not np.allclose(a(x).data, out)


def test_encoder_layer_custom_activation_and_errors():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, activation=ad.tanh, rng=np.random.default_rng(0))
    assert layer(np.ones((3, 1, 4))).shape == (3, 1, 4)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(5, 2)


def test_compiled_encoder_layer_matches_eager():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, rng=np.random.default_rng(13))
    x = ad.Tensor(np.random.default_rng(14).normal(size=(4, 2, 8)))
    mask = np.triu(np.ones((4, 4), bool), 1)
    G = np.random.default_rng(15).normal(size=(4, 2, 8))
    layer.zero_grad()
    eager = (layer(x, src_mask=mask) * G).sum()
    eager.backward()
    expected = {n: p.grad.copy() for n, p in layer.named_parameters()}
    compiled = ad.compile(lambda x: (layer(x, src_mask=mask) * G).sum())
    for _ in range(2):
        layer.zero_grad()
        value = compiled(x)
        value.backward()
        assert value.item() == pytest.approx(eager.item(), rel=1e-12)
        for n, p in layer.named_parameters():
            _close(p.grad, expected[n])
    assert compiled.traces == 1


# ---------------------------------------------------------------------- the fused attention core
def test_fused_core_matches_its_composed_twin_with_grad_of_grad():
    from autodiff.testing import gradgradcheck
    from nn.modules.attention_op import attention, attention_composed

    rng = np.random.default_rng(16)
    arrays = [rng.normal(size=s) for s in [(2, 3, 2), (2, 4, 2), (2, 4, 3)]]
    mask = np.where(rng.random((3, 4)) > 0.3, 0.0, -np.inf)
    mask[1] = -np.inf  # a query that sees nothing
    for m in (None, mask, rng.normal(size=(3, 4))):
        a = [ad.Tensor(x, requires_grad=True) for x in arrays]
        b = [ad.Tensor(x, requires_grad=True) for x in arrays]
        G = rng.normal(size=(2, 3, 3))
        fused, composed = attention(*a, scale=0.7, mask=m), attention_composed(*b, scale=0.7, mask=m)
        _close(fused.data, composed.data)
        (fused * G).sum().backward()
        (composed * G).sum().backward()
        for x, y in zip(a, b):
            _close(x.grad, y.grad)
        assert gradgradcheck(lambda q, k, v, m=m: attention(q, k, v, scale=0.7, mask=m), *a)


def test_a_poisoned_query_that_is_not_selected_leaks_nothing():
    rng = np.random.default_rng(17)
    q, k, v = rng.normal(size=(4, 2)), rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    keep = np.ones((4, 3), bool)
    keep[1] = False
    G = rng.normal(size=(4, 3))
    grads = []
    for poison in (0.0, np.inf):
        xs = [ad.Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
        u = xs[0] + np.array([[0.0, 0.0], [poison, 0.0], [0.0, 0.0], [0.0, 0.0]])
        with np.errstate(all="ignore"):
            (ad.where(keep, sdpa(u, xs[1], xs[2]), 0.0) * G).sum().backward()
        grads.append([x.grad for x in xs])
    for harmless, poisoned in zip(*grads):
        assert np.isfinite(poisoned).all()
        _close(poisoned, harmless)


@given(B=st.integers(1, 2), L=st.integers(1, 3), S=st.integers(1, 3), E=st.integers(1, 3), Ev=st.integers(1, 3),
       masked=st.booleans(), seed=st.integers(0, 2**16))
def test_attention_op_gradcheck_on_drawn_shapes(B, L, S, E, Ev, masked, seed):
    from nn.modules.attention_op import attention

    rng = np.random.default_rng(seed)
    xs = [ad.Tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in [(B, L, E), (B, S, E), (B, S, Ev)]]
    mask = np.where(rng.random((L, S)) > 0.3, 0.0, -np.inf) if masked else None
    before = [x.data.copy() for x in xs]
    assert gradcheck(lambda q, k, v: attention(q, k, v, scale=0.8, mask=mask), *xs)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.data, b)


def test_float32_stays_float32():
    m = nn.MultiheadAttention(4, 2, dtype=np.float32, rng=np.random.default_rng(0))
    x = ad.Tensor(np.ones((3, 2, 4), np.float32), requires_grad=True)
    for need_weights in (False, True):
        out, _ = m(x, x, x, need_weights=need_weights, key_padding_mask=np.array([[False, False, True]] * 2))
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32 and m.in_proj_weight.grad.dtype == np.float32
    assert sdpa(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)).dtype == np.float32
