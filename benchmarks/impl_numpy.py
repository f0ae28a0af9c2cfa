"""The reference: hand-written NumPy backprop (forward, loss, backward by the delta rule, update).

Written the way a careful person writes it by hand for the lecture: keep each layer's output,
δ of the output layer straight from the loss (ŷ − t for MSE, softmax − one-hot for cross-entropy),
then δ_prev = (δ W) ⊙ g'(a) layer by layer, ∂E/∂W = δᵀ a, ∂E/∂b = Σ δ, and W −= lr ∂E/∂W.
In-place only where the buffer was just allocated here. This is the limit a NumPy engine can reach.
"""

from __future__ import annotations

import numpy as np

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
