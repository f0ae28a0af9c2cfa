"""Our engine: the same workloads written with autodiff Tensors and ops, three ways.

- `ours` (`mlp`, `chain`, `overhead`): W1–W3 from `nn.Linear`, `nn.Sequential` and `nn.SGD` as a
  user writes them, eagerly;
- `raw` (`mlp_raw`): W1–W3 from plain Tensors, `h @ W + b` and `.tanh()`/`.relu()` (W stored as the
  lecture's (in, out) matrix, so no transpose), with the same `nn.SGD`, so the two differ only in
  how the layers are built;
- `compiled` (`mlp_compiled`, `chain_compiled`): the `nn` model and its loss under `ad.compile`.

The losses come from `nn.functional` (fused, one graph node each) unless `--losses composed` asks
for them composed from ops.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import autodiff as ad
from autodiff import Tensor
from benchmarks.workloads import Problem, Runner


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


def build_raw(p: Problem) -> tuple[Callable[[Tensor], Tensor], list[Tensor], list[Callable[[], np.ndarray]]]:
    """(forward, params, state) from plain Tensors: h = act(h @ W + b), W of shape (in, out)."""
    Ws = [Tensor(W.T.copy(), requires_grad=True) for W, _ in p.weights]
    bs = [Tensor(b.copy(), requires_grad=True) for _, b in p.weights]
    layers = list(zip(Ws, bs))
    last = len(layers) - 1
    tanh = p.activation == "tanh"

    def forward(h: Tensor) -> Tensor:
        for i, (W, b) in enumerate(layers):
            h = h @ W + b
            if i < last:
                h = h.tanh() if tanh else h.relu()
        return h

    # The reference keeps W as (out, in): compare the transpose.
    state = [f for W, b in layers for f in (lambda W=W: W.data.T, lambda b=b: b.data)]
    return forward, [q for layer in layers for q in layer], state


def build_nn(p: Problem) -> tuple[Callable[[Tensor], Tensor], list[Tensor], list[Callable[[], np.ndarray]]]:
    """The same network from nn (SPEC §4): Sequential of Linear and Tanh/ReLU."""
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
    return model, params, [lambda q=q: q.data for q in params]


def _mlp(p: Problem, model: str, losses_from: str, compiled: bool) -> Runner:
    import nn

    forward, params, state = (build_raw if model == "raw" else build_nn)(p)
    cross_entropy, mse_loss, source = losses(composed=losses_from == "composed")
    loss = mse_loss if p.loss == "mse" else cross_entropy
    opt = nn.SGD(params, lr=p.lr)
    X = Tensor(p.X)
    t = p.t

    def objective(X: Tensor, t: np.ndarray) -> Tensor:
        return loss(forward(X), t)

    objective = ad.compile(objective) if compiled else objective

    def step() -> float:
        E = objective(X, t)
        E.backward()
        opt.step()
        opt.zero_grad()
        return E.item()

    return Runner(step, lambda: [f() for f in state], note=f"losses={source}")


def mlp(p: Problem, losses_from: str = "auto") -> Runner:
    """W1–W3 from nn, eagerly; `losses_from` "auto" or "composed"."""
    return _mlp(p, "nn", losses_from, compiled=False)


def mlp_raw(p: Problem, losses_from: str = "auto") -> Runner:
    """W1–W3 from plain Tensors (`h @ W + b`), eagerly."""
    return _mlp(p, "raw", losses_from, compiled=False)


def mlp_compiled(p: Problem, losses_from: str = "auto") -> Runner:
    """W1–W3 from nn, the forward and the loss under `ad.compile`."""
    return _mlp(p, "nn", losses_from, compiled=True)


def _chain(x: Tensor, depth: int) -> Tensor:
    y = x
    for _ in range(depth):
        y = (0.9 * y + 0.1).tanh()
    return y.sum()


def chain_raw(p: Problem, compiled: bool = False) -> Runner:
    """W4 from plain Tensors, eagerly (nn has nothing to add to a chain of scalar ops)."""
    x = Tensor(p.x0, requires_grad=True)
    depth = p.depth
    out = {}
    f = ad.compile(_chain) if compiled else _chain

    def step() -> None:
        x.grad = None
        s = f(x, depth)
        s.backward()
        out["y"] = s.data

    return Runner(step, lambda: [out["y"], x.grad])


def chain_compiled(p: Problem) -> Runner:
    """W4 under `ad.compile`: 15,000 ops traced once, replayed as one node."""
    return chain_raw(p, compiled=True)


def overhead_raw(p: Problem) -> Runner:
    """W5: per-op cost of eager Tensors (nothing to compile in one op)."""
    a = Tensor(p.x0, requires_grad=True)
    b = Tensor(p.b0, requires_grad=True)
    reps = p.reps
    out = {}

    def step() -> None:
        for _ in range(reps):
            c = a * b + a
        out["c"] = c.data

    return Runner(step, lambda: [out["c"]])


def mlp_step(p: Problem, losses_from: str = "auto") -> Runner:
    """W1–W3 from nn, the whole step compiled: `opt.compile_step(loss)` (forward, loss, backward, update)."""
    import nn

    forward, params, state = build_nn(p)
    cross_entropy, mse_loss, source = losses(composed=losses_from == "composed")
    loss = mse_loss if p.loss == "mse" else cross_entropy
    opt = nn.SGD(params, lr=p.lr)
    X = Tensor(p.X)
    t = p.t
    step_fn = opt.compile_step(lambda X, t: loss(forward(X), t))

    def step() -> float:
        return step_fn(X, t).item()

    return Runner(step, lambda: [f() for f in state], note=f"losses={source}")
