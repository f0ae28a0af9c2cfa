"""One GRU layer over a whole sequence as one fused op, as nn.modules.lstm_op does for the LSTM.

torch's step, gates in the order r, z, n, with xg = W_ih x_t + b_ih and hg = W_hh h_{t-1} + b_hh:

    r = σ(xg_r + hg_r),  z = σ(xg_z + hg_z),  n = tanh(xg_n + r ⊙ hg_n),  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Backward, given δh_t (from the output and from step t + 1):

    δz = δh ⊙ (h_{t-1} − n),  δa_n = δh ⊙ (1 − z) ⊙ (1 − n²),  δr = δa_n ⊙ hg_n
    δxg = [δr ⊙ r(1 − r), δz ⊙ z(1 − z), δa_n],  δhg = [same r and z parts, δa_n ⊙ r]
    δh_{t-1} = δh ⊙ z + δhg W_hh

The op's result is h_1 … h_T, shape (T, N, H). Grad of grad differentiates the composed twin
(`gru_composed`); below a `where`, a VJP that meets ∞ or NaN runs again with 0 · ∞ = 0.
"""

from __future__ import annotations

import numpy as np

import autodiff as ad
from autodiff.op import op
from nn.modules.fused import once, safe_dot, twin_grads
from nn.modules.rnn_cells import gru_step


def _sigmoid_(z: np.ndarray) -> None:
    """σ in place: 1/(1 + e⁻ᶻ); e⁻ᶻ = ∞ gives exactly 0."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)


@op(name="gru")
def gru_sequence(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """r, z = σ(xg + hg); n = tanh(xg_n + r ⊙ hg_n); hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁ (backprop through time)"""
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xs = x[::-1] if reverse else x
    xg = (xs.reshape(T * N, x.shape[-1]) @ w_ih.T).reshape(T, N, 3 * H)
    xg += b_ih
    gates = np.empty((T, N, 3 * H), dtype=xg.dtype)  # r, z, n
    hgn = np.empty((T, N, H), dtype=xg.dtype)  # W_hn h + b_hn, which r multiplies
    hs = np.empty((T + 1, N, H), dtype=xg.dtype)  # h_0 … h_T
    hs[0] = h0
    w_hhT = w_hh.T
    hg = np.empty((N, 3 * H), dtype=xg.dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            np.matmul(hs[t], w_hhT, out=hg)
            hg += b_hh
            g = gates[t]
            np.add(xg[t, :, :2 * H], hg[:, :2 * H], out=g[:, :2 * H])
            _sigmoid_(g[:, :2 * H])
            hgn[t] = hg[:, 2 * H:]
            n = g[:, 2 * H:]
            np.multiply(g[:, :H], hgn[t], out=n)
            n += xg[t, :, 2 * H:]
            np.tanh(n, out=n)
            h = hs[t + 1]  # h = n + z ⊙ (h₋₁ − n)
            np.subtract(hs[t], n, out=h)
            h *= g[:, H:2 * H]
            h += n
    out = hs[:0:-1].copy() if reverse else hs[1:].copy()
    return out, ({}, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, gates, hgn, hs)


def _backprop(g, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, gates, hgn, hs, safe=False):
    """(δxg of every step (T·N, 3H), δhg of every step (T·N, 3H), δh₀) from g = δ of the op's result."""
    T, N, H = g.shape[0], hs.shape[1], hs.shape[2]
    dot = safe_dot if safe else np.matmul
    gh = g[::-1] if reverse else g
    dxg = np.empty_like(gates)
    dhg = np.empty_like(gates)
    dh = np.zeros((N, H), dtype=gates.dtype)
    tmp = np.empty((N, H), dtype=gates.dtype)
    for t in range(T - 1, -1, -1):
        z3 = gates[t]
        r, z, n = z3[:, :H], z3[:, H:2 * H], z3[:, 2 * H:]
        dx3, dh3 = dxg[t], dhg[t]
        dh += gh[t]
        # δa_n = δh ⊙ (1 − z) ⊙ (1 − n²)
        da_n = dx3[:, 2 * H:]
        np.subtract(1, z, out=da_n)
        da_n *= dh
        np.multiply(n, n, out=tmp)
        np.subtract(1, tmp, out=tmp)
        da_n *= tmp
        # δa_z = δh ⊙ (h₋₁ − n) ⊙ z(1 − z)
        da_z = dx3[:, H:2 * H]
        np.subtract(hs[t], n, out=da_z)
        da_z *= dh
        np.subtract(1, z, out=tmp)
        tmp *= z
        da_z *= tmp
        # δa_r = δa_n ⊙ hg_n ⊙ r(1 − r)
        da_r = dx3[:, :H]
        np.multiply(da_n, hgn[t], out=da_r)
        np.subtract(1, r, out=tmp)
        tmp *= r
        da_r *= tmp
        if safe:
            for part in (da_n, da_z):
                np.copyto(part, 0, where=dh == 0)
            np.copyto(da_r, 0, where=da_n == 0)
        dh3[:, :2 * H] = dx3[:, :2 * H]
        np.multiply(da_n, r, out=dh3[:, 2 * H:])
        if safe:
            np.copyto(dh3[:, 2 * H:], 0, where=da_n == 0)
            dh = np.where(dh == 0, 0, dh * z) + dot(dh3, w_hh)
        else:
            dh *= z
            dh += dh3 @ w_hh
    return dxg.reshape(T * N, 3 * H), dhg.reshape(T * N, 3 * H), dh


def _input_grad(i, core, x, w_ih, reverse, hs, safe):
    dxg, dhg, dh = core
    dot = safe_dot if safe else np.matmul
    xs = x[::-1] if reverse else x
    if i == 0:
        dx = dot(dxg, w_ih).reshape(xs.shape)
        return dx[::-1] if reverse else dx
    if i == 1:
        return dh.copy()
    if i == 2:
        return dot(dxg.T, xs.reshape(dxg.shape[0], x.shape[-1]))
    if i == 3:
        return dot(dhg.T, hs[:-1].reshape(dhg.shape[0], hs.shape[-1]))
    return (dxg if i == 4 else dhg).sum(axis=0)


def _vjp(i: int, safe: bool = False):
    def vjp(g, memo, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, gates, hgn, hs):
        core = once(memo, g, safe, lambda: _backprop(g, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, gates, hgn, hs,
                                                      safe=safe))
        return _input_grad(i, core, x, w_ih, reverse, hs, safe)

    return vjp


gru_sequence.vjp(*(_vjp(i) for i in range(6)))
gru_sequence.zero_safe_vjp(*(_vjp(i, safe=True) for i in range(6)))


# ---------------------------------------------------------------------- the same, composed (grad of grad)
def gru_composed(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """The fused op's result computed with the engine's ops, step by step (for grad of grad and tests)."""
    T = x.shape[0]
    xg = x @ w_ih.T + b_ih
    h, out = h0, [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = gru_step(xg[t], h, w_hh, b_hh)
        out[t] = h
    return ad.stack(out, axis=0)


def _graph_vjp(i: int):
    def graph_vjp(g, z, xs, saved):
        twin = lambda *inputs: gru_composed(*inputs, reverse=saved[7])  # noqa: E731
        return twin_grads(saved[0], g, xs, saved[1:7], twin)[i]

    return graph_vjp


gru_sequence.graph_vjp(*(_graph_vjp(i) for i in range(6)))
