"""One LSTM layer over a whole sequence as one fused op: the loop forward and back in NumPy.

An LSTM written with the engine's ops records a dozen nodes per time step, and slicing each step
out of the sequence costs a full-size gradient per step on the way back. As one node, the
forward is the hand-written NumPy loop (one matmul for the inputs of every step, one per step for
the recurrence) and the backward the hand-written backprop through time, so a step costs what
NumPy costs. The step, in torch's gate order (i, f, g, o):

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)

The op's result stacks h_1 … h_T and then c_T: shape (T + 1, N, H), sliced by the caller.
Grad of grad runs the same step composed of the engine's ops (`lstm_step`) and differentiates it;
below a `where`, a VJP that meets ∞ or NaN is run again with 0 · ∞ = 0 at every product
(autodiff.zero_safe).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff.op import op
from autodiff.zero_safe import bilinear

_INPUTS = ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # the engine's sigmoid, so the fused and composed LSTMs agree to the last bit: e^{-|a|} cannot overflow
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1, e) / (1 + e)


# ---------------------------------------------------------------------- the op
@op(name="lstm")
def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """a = W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh; cₜ = σ(a_f) cₜ₋₁ + σ(a_i) tanh(a_g); hₜ = σ(a_o) tanh(cₜ) (backprop through time)"""
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xs = x[::-1] if reverse else x
    pre = (xs.reshape(T * N, -1) @ w_ih.T).reshape(T, N, 4 * H)
    pre += b_ih
    pre += b_hh
    acts = np.empty_like(pre)  # i, f, g, o after their nonlinearity, step by step
    cs = np.empty((T + 1, N, H), dtype=pre.dtype)  # c_0 … c_T
    hs = np.empty((T + 1, N, H), dtype=pre.dtype)  # h_0 … h_T
    cs[0], hs[0] = c0, h0
    w_hhT = w_hh.T
    for t in range(T):
        a = pre[t]
        a += hs[t] @ w_hhT
        z = acts[t]
        z[:, :2 * H] = _sigmoid(a[:, :2 * H])
        np.tanh(a[:, 2 * H:3 * H], out=z[:, 2 * H:3 * H])
        z[:, 3 * H:] = _sigmoid(a[:, 3 * H:])
        c = cs[t + 1]
        np.multiply(z[:, H:2 * H], cs[t], out=c)
        c += z[:, :H] * z[:, 2 * H:3 * H]
        np.multiply(z[:, 3 * H:], np.tanh(c), out=hs[t + 1])
    out = np.empty((T + 1, N, H), dtype=pre.dtype)
    out[:T] = hs[:0:-1] if reverse else hs[1:]
    out[T] = cs[T]
    memo: dict[Any, Any] = {}
    return out, (memo, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs)


def _backprop(g, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs, safe=False):
    """(δx, δh0, δc0, δW_ih, δW_hh, δb_ih, δb_hh) from g = δ of the op's result, through time.

    With `safe`, every product of a δ with a forward value is 0 where the δ is 0, even where the
    value is ∞ or NaN (below a `where`); slower, so only used when the fast one met ∞ or NaN."""
    T, N, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    mul = _safe_mul if safe else np.multiply
    dot = _safe_dot if safe else np.matmul
    gh = g[:T][::-1] if reverse else g[:T]
    dpre = np.empty_like(acts)
    dh = np.zeros((N, H), dtype=acts.dtype)
    dc = np.array(g[T], dtype=acts.dtype)
    for t in range(T - 1, -1, -1):
        z = acts[t]
        i, f, gg, o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        dh = dh + gh[t]
        tc = np.tanh(cs[t + 1])
        dc = dc + mul(mul(dh, o), 1 - tc * tc)
        d = dpre[t]
        d[:, :H] = mul(mul(dc, gg), i * (1 - i))
        d[:, H:2 * H] = mul(mul(dc, cs[t]), f * (1 - f))
        d[:, 2 * H:3 * H] = mul(mul(dc, i), 1 - gg * gg)
        d[:, 3 * H:] = mul(mul(dh, tc), o * (1 - o))
        dc = mul(dc, f)
        dh = dot(d, w_hh)
    flat = dpre.reshape(T * N, 4 * H)
    xs = x[::-1] if reverse else x
    dx = dot(flat, w_ih).reshape(xs.shape)
    if reverse:
        dx = dx[::-1]
    dw_ih = dot(flat.T, xs.reshape(T * N, -1))
    dw_hh = dot(flat.T, hs[:T].reshape(T * N, H))
    db = flat.sum(axis=0)
    return dx, dh, dc, dw_ih, dw_hh, db, db.copy()  # two leaves must not share one array


def _safe_mul(d: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.where(d == 0, 0, d * m)


_contraction = bilinear(0)


def _safe_dot(d: np.ndarray, m: np.ndarray) -> np.ndarray:
    """d @ m, each term with d = 0 dropped even where m is ∞ or NaN (the engine's contraction rule)."""
    safe = _contraction.first(lambda g, m: g @ m, d, (m,))
    return d @ m if safe is None else safe


def _grads(g, memo, *saved, safe=False):
    """All seven gradients from one pass, handed out one by one to the VJPs of the seven inputs
    (the engine asks for each input's gradient separately); each is dropped once handed out."""
    g_seen, grads = memo.get(safe, (None, None))
    if g_seen is not g:
        grads = list(_backprop(g, *saved, safe=safe))
        memo[safe] = (g, grads)
    return grads


def _take(g, memo, saved, i, safe=False):
    grads = _grads(g, memo, *saved, safe=safe)
    if grads[i] is None:  # asked twice for the same δ: compute again rather than hand out a shared array
        memo.pop(safe)
        grads = _grads(g, memo, *saved, safe=safe)
    d, grads[i] = grads[i], None
    return d


def _vjp(i: int):
    def vjp(g, memo, *saved):
        return _take(g, memo, saved, i)

    vjp.__name__ = f"_lstm_{_INPUTS[i]}"
    return vjp


def _zero_safe(i: int):
    def vjp(g, memo, *saved):
        return _take(g, memo, saved, i, safe=True)

    return vjp


lstm_sequence.vjp(*(_vjp(i) for i in range(7)))
lstm_sequence.zero_safe_vjp(*(_zero_safe(i) for i in range(7)))


# ---------------------------------------------------------------------- the same, composed (grad of grad)
def lstm_step(a: Any, c: Any) -> tuple[Any, Any]:
    """(h, c) of one step from the pre-activations a = W_ih x + b_ih + W_hh h + b_hh (N, 4H) and c_{t-1}."""
    H = a.shape[-1] // 4
    i, f = ad.sigmoid(a[..., :H]), ad.sigmoid(a[..., H:2 * H])
    gg, o = ad.tanh(a[..., 2 * H:3 * H]), ad.sigmoid(a[..., 3 * H:])
    c = f * c + i * gg
    return o * ad.tanh(c), c


def lstm_composed(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """The fused op's result computed with the engine's ops, step by step (for grad of grad and tests)."""
    T = x.shape[0]
    pre = x @ w_ih.T + b_ih + b_hh
    h, c, out = h0, c0, [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h, c = lstm_step(pre[t] + h @ w_hh.T, c)
        out[t] = h
    return ad.concatenate([ad.stack(out, axis=0), ad.reshape(c, (1, *c.shape))], axis=0)


def _graph_grads(g, z, xs, saved):
    memo = saved[0]
    if memo.get("graph_g") is not g:
        inputs = [saved[1 + k] if t is None else t for k, t in enumerate(xs)]
        reverse = saved[8]
        wanted = [k for k, t in enumerate(xs) if t is not None and t.requires_grad]
        out = lstm_composed(*inputs, reverse=reverse)
        grads = ad.grad(out, [xs[k] for k in wanted], grad_outputs=g, create_graph=True)
        if not all(np.isfinite(d.data).all() for d in grads):
            # below a `where`: the δs that are 0 keep the ∞ and NaN of the outputs they belong to out
            keep = g.data != 0
            out = ad.where(keep, out, 0.0)
            grads = ad.grad((out * g).sum(), [xs[k] for k in wanted], create_graph=True)
        memo["graph_g"], memo["graph"] = g, dict(zip(wanted, grads))
    return memo["graph"]


def _graph_vjp(i: int):
    return lambda g, z, xs, saved: _graph_grads(g, z, xs, saved)[i]


lstm_sequence.graph_vjp(*(_graph_vjp(i) for i in range(7)))
