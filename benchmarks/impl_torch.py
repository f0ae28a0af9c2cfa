"""PyTorch, when it is importable: the same workloads, written the way PyTorch users write them.

`F.linear` (what nn.Linear calls), `F.cross_entropy` / `F.mse_loss`, and the same manual SGD
update as ours under `torch.no_grad()`. Tensors share the NumPy data's dtype (no upcast).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.workloads import Problem, Runner


def mlp(p: Problem) -> Runner:
    params = [torch.tensor(x, requires_grad=True) for W, b in p.weights for x in (W, b)]
    layers = list(zip(params[::2], params[1::2]))
    last = len(layers) - 1
    act = torch.tanh if p.activation == "tanh" else torch.relu
    loss = F.mse_loss if p.loss == "mse" else F.cross_entropy
    X = torch.from_numpy(p.X)
    t = torch.from_numpy(p.t)
    lr = p.lr

    def step() -> float:
        h = X
        for i, (W, b) in enumerate(layers):
            h = F.linear(h, W, b)
            if i < last:
                h = act(h)
        E = loss(h, t)
        E.backward()
        with torch.no_grad():
            for q in params:
                q.sub_(q.grad, alpha=lr)
                q.grad = None
        return E.item()

    return Runner(step, lambda: [q.detach().numpy() for q in params])


def chain(p: Problem) -> Runner:
    x = torch.tensor(p.x0, requires_grad=True)
    depth = p.depth
    out = {}

    def step() -> None:
        x.grad = None
        y = x
        for _ in range(depth):
            y = torch.tanh(0.9 * y + 0.1)
        s = y.sum()
        s.backward()
        out["y"] = s.detach().numpy()

    return Runner(step, lambda: [out["y"], x.grad.numpy()])


def overhead(p: Problem) -> Runner:
    a = torch.tensor(p.x0, requires_grad=True)
    b = torch.tensor(p.b0, requires_grad=True)
    reps = p.reps
    out = {}

    def step() -> None:
        for _ in range(reps):
            c = a * b + a
        out["c"] = c.detach().numpy()

    return Runner(step, lambda: [np.asarray(out["c"])])
