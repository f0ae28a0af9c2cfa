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
from nn.modules.fused import once, safe_dot, twin_grads

_INPUTS = ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")


# ---------------------------------------------------------------------- the op
@op(name="lstm")
def lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """a = W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh; cₜ = σ(a_f) cₜ₋₁ + σ(a_i) tanh(a_g); hₜ = σ(a_o) tanh(cₜ) (backprop through time)"""
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xs = x[::-1] if reverse else x
    pre = (xs.reshape(T * N, x.shape[-1]) @ w_ih.T).reshape(T, N, 4 * H)
    pre += b_ih
    pre += b_hh
    acts = pre  # each step's pre-activations become its gates i, f, g, o in place: no second (T, N, 4H) array
    cs = np.empty((T + 1, N, H), dtype=pre.dtype)  # c_0 … c_T
    hs = np.empty((T + 1, N, H), dtype=pre.dtype)  # h_0 … h_T
    tcs = np.empty((T, N, H), dtype=pre.dtype)  # tanh(c_1) … tanh(c_T), which backward reads again
    cs[0], hs[0] = c0, h0
    w_hhT = w_hh.T
    rec = np.empty((N, 4 * H), dtype=pre.dtype)
    g = np.empty((N, H), dtype=pre.dtype)
    with np.errstate(over="ignore"):  # σ(a) = 1/(1 + e⁻ᵃ): e⁻ᵃ = ∞ gives exactly 0
        for t in range(T):
            z = pre[t]
            z += np.matmul(hs[t], w_hhT, out=rec)
            np.tanh(z[:, 2 * H:3 * H], out=g)
            np.negative(z, out=z)  # σ over all four blocks in place, then g's block put back
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)
            z[:, 2 * H:3 * H] = g
            c = cs[t + 1]
            np.multiply(z[:, H:2 * H], cs[t], out=c)
            g *= z[:, :H]
            c += g
            np.multiply(z[:, 3 * H:], np.tanh(c, out=tcs[t]), out=hs[t + 1])
    out = np.empty((T + 1, N, H), dtype=pre.dtype)
    out[:T] = hs[:0:-1] if reverse else hs[1:]
    out[T] = cs[T]
    memo: dict[Any, Any] = {}
    return out, (memo, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs, tcs)


def _backprop(g, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs, tcs, safe=False):
    """(δ of every step's pre-activations (T·N, 4H), δh₀, δc₀) from g = δ of the op's result, through time.

    With `safe`, every product of a δ with forward values is 0 where that δ is 0, even where the
    values are ∞ or NaN (below a `where`); only used when the plain pass met ∞ or NaN."""
    T, N, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    dot = safe_dot if safe else np.matmul
    gh = g[:T][::-1] if reverse else g[:T]
    dpre = np.empty_like(acts)
    dh = np.zeros((N, H), dtype=acts.dtype)
    dc = np.array(g[T], dtype=acts.dtype)
    tmp = np.empty((N, H), dtype=acts.dtype)
    for t in range(T - 1, -1, -1):
        z = acts[t]
        i, f, gg, o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        d = dpre[t]
        di, df, dg, do = d[:, :H], d[:, H:2 * H], d[:, 2 * H:3 * H], d[:, 3 * H:]
        tc = tcs[t]
        dh += gh[t]
        # δc += δh ⊙ o ⊙ (1 − tanh² c);  δo = δh ⊙ tanh c ⊙ o(1 − o)
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        if safe:
            _zero_where_no_delta(tmp, dh)
        dc += tmp
        np.multiply(dh, tc, out=do)
        np.subtract(1, o, out=tmp)
        tmp *= o
        do *= tmp
        # δi = δc ⊙ g ⊙ i(1 − i);  δf = δc ⊙ c₋₁ ⊙ f(1 − f);  δg = δc ⊙ i ⊙ (1 − g²);  δc₋₁ = δc ⊙ f
        np.multiply(dc, gg, out=di)
        np.subtract(1, i, out=tmp)
        tmp *= i
        di *= tmp
        np.multiply(dc, cs[t], out=df)
        np.subtract(1, f, out=tmp)
        tmp *= f
        df *= tmp
        np.multiply(dc, i, out=dg)
        np.multiply(gg, gg, out=tmp)
        np.subtract(1, tmp, out=tmp)
        dg *= tmp
        if safe:
            _zero_where_no_delta(do, dh)
            for part in (di, df, dg):
                _zero_where_no_delta(part, dc)
            dc = np.where(dc == 0, 0, dc * f)
        else:
            dc *= f
        dh = dot(d, w_hh)
    return dpre.reshape(T * N, 4 * H), dh, dc


def _input_grad(i, core, x, w_ih, reverse, hs, safe):
    """Input i's gradient from the δs of every step's pre-activations (`core`): only those asked for are computed."""
    flat, dh, dc = core
    dot = safe_dot if safe else np.matmul
    xs = x[::-1] if reverse else x  # x in the order the steps ran
    if i == 0:
        dx = dot(flat, w_ih).reshape(xs.shape)
        return dx[::-1] if reverse else dx
    if i in (1, 2):  # δh₀, δc₀: copies, as the core may be asked again
        return (dh if i == 1 else dc).copy()
    if i == 3:
        return dot(flat.T, xs.reshape(flat.shape[0], x.shape[-1]))
    if i == 4:
        return dot(flat.T, hs[:-1].reshape(flat.shape[0], hs.shape[-1]))
    return flat.sum(axis=0)  # δb_ih = δb_hh = Σ δa


def _zero_where_no_delta(product: np.ndarray, delta: np.ndarray) -> None:
    """0 · ∞ = 0: a product of δ with forward values is 0 wherever δ is 0."""
    np.copyto(product, 0, where=delta == 0)


def _vjp(i: int, safe: bool = False):
    def vjp(g, memo, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs, tcs):
        core = once(memo, g, safe, lambda: _backprop(g, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, acts, cs, hs, tcs,
                                                      safe=safe))
        return _input_grad(i, core, x, w_ih, reverse, hs, safe)

    vjp.__name__ = f"_lstm_{_INPUTS[i]}"
    return vjp


lstm_sequence.vjp(*(_vjp(i) for i in range(7)))
lstm_sequence.zero_safe_vjp(*(_vjp(i, safe=True) for i in range(7)))


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


def _graph_vjp(i: int):
    def graph_vjp(g, z, xs, saved):
        twin = lambda *inputs: lstm_composed(*inputs, reverse=saved[8])  # noqa: E731
        return twin_grads(saved[0], g, xs, saved[1:8], twin)[i]

    return graph_vjp


lstm_sequence.graph_vjp(*(_graph_vjp(i) for i in range(7)))
