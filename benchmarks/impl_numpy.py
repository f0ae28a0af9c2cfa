"""The reference: hand-written NumPy backprop (forward, loss, backward by the delta rule, update).

Written the way a careful person writes it by hand for the lecture: keep each layer's output,
δ of the output layer straight from the loss (ŷ − t for MSE, softmax − one-hot for cross-entropy),
then δ_prev = (δ W) ⊙ g'(a) layer by layer, ∂E/∂W = δᵀ a, ∂E/∂b = Σ δ, and W −= lr ∂E/∂W.
In-place only where the buffer was just allocated here. This is the limit a NumPy engine can reach.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autodiff import aligned
from benchmarks.workloads import Problem, Runner


def mlp(p: Problem) -> Runner:
    Ws = [W.copy() for W, _ in p.weights]
    bs = [b.copy() for _, b in p.weights]
    X, t, lr = p.X, p.t, p.lr
    last = len(Ws) - 1
    tanh = p.activation == "tanh"
    rows = np.arange(len(X))

    def step() -> float:
        acts = [X]
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = h @ W.T
            z += b
            if i < last:
                h = np.tanh(z, out=z) if tanh else np.maximum(z, 0, out=z)
                acts.append(h)
            else:
                h = z
        if p.loss == "mse":  # E = mean((ŷ − t)²),  δ = 2 (ŷ − t) / size
            d = h - t
            E = float(np.mean(d * d))
            d *= 2 / d.size
        else:  # E = mean(logsumexp(z) − z_t),  δ = (softmax(z) − onehot(t)) / N
            m = h.max(axis=1, keepdims=True)
            e = np.exp(h - m)
            s = e.sum(axis=1, keepdims=True)
            E = float(np.mean(np.log(s[:, 0]) + m[:, 0] - h[rows, t]))
            d = e
            d /= s
            d[rows, t] -= 1
            d /= len(X)
        for i in range(last, -1, -1):
            a = acts[i]
            gW = d.T @ a
            gb = d.sum(axis=0)
            if i:
                d = d @ Ws[i]
                d *= (1 - a * a) if tanh else (a > 0)
            Ws[i] -= lr * gW
            bs[i] -= lr * gb
        return E

    def state() -> list:
        return [x for W, b in zip(Ws, bs) for x in (W, b)]

    return Runner(step, state)


def chain(p: Problem) -> Runner:
    x = p.x0.copy()
    depth = p.depth
    out = {}

    def step() -> None:
        ys = []
        y = x
        for _ in range(depth):
            y = np.tanh(0.9 * y + 0.1)
            ys.append(y)
        out["y"] = y.sum()
        g = np.ones_like(x)
        for y in reversed(ys):  # δ ← δ ⊙ (1 − y²) · 0.9
            g = g * (1 - y * y) * 0.9
        out["grad"] = g

    return Runner(step, lambda: [np.asarray(out["y"]), out["grad"]])


def overhead(p: Problem) -> Runner:
    a, b = p.x0.copy(), p.b0.copy()
    reps = p.reps
    out = {}

    def step() -> None:
        for _ in range(reps):
            c = a * b + a
        out["c"] = c

    return Runner(step, lambda: [out["c"]])


def mlp_tight(p: Problem, empty: Callable[..., np.ndarray] = np.empty) -> Runner:
    """The tightest hand-written step: every array preallocated, the activation written over its
    pre-activation, g'(a) and δ computed in place, ∂E/∂W into a buffer, the update in place.

    This is the bar for a compiled whole step (issue 26): nothing is allocated after the first
    step except NumPy's own iterator buffer for the broadcast bias add (`z += b`). `empty` makes
    its arrays: `np.empty` as a NumPy user writes it, or `aligned.empty` (`mlp_tight_aligned`).
    """
    Ws = [W.copy() for W, _ in p.weights]
    bs = [b.copy() for _, b in p.weights]
    X, t, lr = p.X, p.t, p.lr
    n = len(X)
    last = len(Ws) - 1
    tanh = p.activation == "tanh"
    dt = X.dtype
    zs = [empty((n, W.shape[0]), dt) for W in Ws]  # pre-activation, then activation, then g'(a)
    acts = [X, *zs[:-1]]
    deltas = [empty((n, W.shape[1]), dt) for W in Ws]  # δ of each layer's input
    gWs = [empty(W.shape, dt) for W in Ws]
    gbs = [empty(b.shape, dt) for b in bs]
    mask = [empty(z.shape, bool) for z in zs]
    m, s, lg = empty((n, 1), dt), empty((n, 1), dt), empty(n, dt)
    rows = np.arange(n)

    def step() -> float:
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = zs[i]
            np.matmul(h, W.T, out=z)
            z += b
            if i < last:
                np.tanh(z, out=z) if tanh else np.maximum(z, 0, out=z)
            h = z
        d = h
        if p.loss == "mse":  # δ = 2 (ŷ − t) / size, in the output's buffer
            d -= t
            E = float(np.vdot(d, d)) / d.size
            d *= 2 / d.size
        else:  # δ = (softmax(z) − onehot(t)) / N, in the logits' buffer
            np.max(d, axis=1, keepdims=True, out=m)
            d -= m
            zt = d[rows, t]
            np.exp(d, out=d)
            np.sum(d, axis=1, keepdims=True, out=s)
            d /= s
            np.log(s[:, 0], out=lg)
            E = float(np.mean(lg - zt))
            d[rows, t] -= 1
            d *= 1 / n
        for i in range(last, -1, -1):
            a = acts[i]
            np.matmul(d.T, a, out=gWs[i])
            np.sum(d, axis=0, out=gbs[i])
            if i:
                dp = deltas[i]
                np.matmul(d, Ws[i], out=dp)
                if tanh:  # g'(a) = 1 − z², over the activation (read for the last time above)
                    np.multiply(a, a, out=a)
                    np.subtract(1, a, out=a)
                    dp *= a
                else:
                    np.greater(a, 0, out=mask[i - 1])
                    dp *= mask[i - 1]
                d = dp
            gWs[i] *= lr
            Ws[i] -= gWs[i]
            gbs[i] *= lr
            bs[i] -= gbs[i]
        return E

    def state() -> list:
        return [x for W, b in zip(Ws, bs) for x in (W, b)]

    return Runner(step, state)


def mlp_tight_aligned(p: Problem) -> Runner:
    """`mlp_tight` with its arrays on cache lines (`autodiff.aligned`), as the compiled step plans
    its buffers: what of the compiled step's lead over `mlp_tight` a hand-written step could have too."""
    return mlp_tight(p, aligned.empty)
