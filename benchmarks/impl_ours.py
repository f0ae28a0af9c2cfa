"""Our engine: the same workloads written with autodiff Tensors and ops.

W1–W3 are built from `nn.Linear`, `nn.Sequential` and `nn.SGD` as a user writes them (`MODEL =
"nn"`); `--ours-model tensors` builds them from plain Tensors instead (`x @ W.T + b`, a manual SGD
update). The losses come from `nn.functional` (fused, one graph node each) unless `--losses
composed` asks for them composed from ops.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autodiff import Tensor
from benchmarks.workloads import Problem, Runner

#: How W1–W3 are built: "tensors" (autodiff only) or "nn" (nn.Linear/Sequential/SGD).
MODEL = "nn"


def composed_cross_entropy(logits: Tensor, t: np.ndarray) -> Tensor:
    """mean_n(−log softmax(z_n)[t_n]) from log_softmax, integer-array indexing and mean."""
    return -logits.log_softmax(axis=-1)[np.arange(len(t)), t].mean()


def composed_mse(y: Tensor, t: np.ndarray) -> Tensor:
    """mean((y − t)²) from sub, mul and mean."""
    d = y - t
    return (d * d).mean()


def losses(composed: bool = False) -> tuple[Callable, Callable, str]:
    """(cross_entropy, mse_loss, where they came from): nn.functional's if it has them."""
    if composed:
        return composed_cross_entropy, composed_mse, "composed (asked for)"
    try:
        import nn.functional as F

        ce, mse = getattr(F, "cross_entropy", None), getattr(F, "mse_loss", None)
    except Exception:  # nn is being written: a half-finished module must not stop the benchmark
        ce = mse = None
    source = "nn.functional" if ce and mse else "composed" if not (ce or mse) else "mixed"
    return ce or composed_cross_entropy, mse or composed_mse, source


def build_tensors(p: Problem) -> tuple[Callable[[Tensor], Tensor], Callable[[], None], list[Tensor]]:
    """(forward, sgd_step, params) with plain Tensors: h = act(h @ W.T + b), p.data −= lr p.grad."""
    params = [Tensor(x, requires_grad=True) for W, b in p.weights for x in (W, b)]
    layers = list(zip(params[::2], params[1::2]))
    last = len(layers) - 1
    tanh = p.activation == "tanh"
    lr = p.lr

    def forward(h: Tensor) -> Tensor:
        for i, (W, b) in enumerate(layers):
            h = h @ W.T + b
            if i < last:
                h = h.tanh() if tanh else h.relu()
        return h

    def sgd_step() -> None:
        for q in params:
            q.data -= lr * q.grad
            q.grad = None

    return forward, sgd_step, params


def build_nn(p: Problem) -> tuple[Callable[[Tensor], Tensor], Callable[[], None], list[Tensor]]:
    """The same network from nn (SPEC §4): Sequential of Linear and Tanh/ReLU, and nn.SGD."""
    import nn

    mods = []
    for i, (W, b) in enumerate(p.weights):
        layer = nn.Linear(W.shape[1], W.shape[0])
        layer.weight.data = W.copy()
        layer.bias.data = b.copy()
        mods.append(layer)
        if i < len(p.weights) - 1:
            mods.append(nn.Tanh() if p.activation == "tanh" else nn.ReLU())
    model = nn.Sequential(*mods)
    params = list(model.parameters())
    opt = nn.SGD(params, lr=p.lr)

    def sgd_step() -> None:
        opt.step()
        opt.zero_grad()

    return model, sgd_step, params


def mlp(p: Problem, model: str | None = None, losses_from: str = "auto") -> Runner:
    """W1–W3: `model` "tensors" or "nn" (default `MODEL`); `losses_from` "auto" or "composed"."""
    build = build_nn if (model or MODEL) == "nn" else build_tensors
    forward, sgd_step, params = build(p)
    cross_entropy, mse_loss, source = losses(composed=losses_from == "composed")
    loss = mse_loss if p.loss == "mse" else cross_entropy
    X = Tensor(p.X)
    t = p.t

    def step() -> float:
        E = loss(forward(X), t)
        E.backward()
        sgd_step()
        return E.item()

    return Runner(step, lambda: [q.data for q in params], note=f"model={model or MODEL}, losses={source}")


def chain(p: Problem) -> Runner:
    x = Tensor(p.x0, requires_grad=True)
    depth = p.depth
    out = {}

    def step() -> None:
        x.grad = None
        y = x
        for _ in range(depth):
            y = (0.9 * y + 0.1).tanh()
        s = y.sum()
        s.backward()
        out["y"] = s.data

    return Runner(step, lambda: [out["y"], x.grad])


def overhead(p: Problem) -> Runner:
    a = Tensor(p.x0, requires_grad=True)
    b = Tensor(p.b0, requires_grad=True)
    reps = p.reps
    out = {}

    def step() -> None:
        for _ in range(reps):
            c = a * b + a
        out["c"] = c.data

    return Runner(step, lambda: [out["c"]])
