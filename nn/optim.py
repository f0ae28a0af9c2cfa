"""Optimizers with torch.optim's exact update rules: SGD (momentum, Nesterov, weight decay) and Adam.

The optimizer is the one writer of parameters: it updates `p.data` in place, outside the graph,
through state buffers allocated once, so a training step allocates nothing here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Tensor


def _hyper(value: Any, name: str, owner: str, upper: float | None = None) -> float:
    """A hyperparameter as a Python float (weak: float32 parameters stay float32), range-checked."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}") from None
    if not v >= 0 or (upper is not None and not v < upper) or math.isinf(v):
        bound = f"in [0, {upper})" if upper is not None else "a finite number ≥ 0"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value!r}")
    return v


class Optimizer:
    """Base class: holds the parameters; `zero_grad()` forgets their gradients, `step()` updates them."""

    def __init__(self, params: Iterable[Tensor]) -> None:
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of Parameters, such as model.parameters()")
        unique: dict[int, Tensor] = {}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: params must be Parameters or Tensors, got a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{owner}: can only optimize leaf tensors, not results of ops")
            unique.setdefault(id(p), p)
        if not unique:
            raise ValueError(f"{owner}: got an empty parameter list; pass model.parameters() of a model that has parameters")
        self.params: list[Tensor] = list(unique.values())
        # One scratch buffer per parameter, reused every step for intermediate results.
        self._scratch = [np.empty_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`.grad = None`), ready for the next backward."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def _check_grads(self) -> None:
        """Every gradient must fit its parameter, checked before any parameter moves."""
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None and (not isinstance(g, np.ndarray) or g.shape != p.data.shape):
                shape = getattr(g, "shape", type(g).__name__)
                raise ValueError(
                    f"{type(self).__name__}.step: parameter {i} of shape {p.data.shape} has a .grad of shape "
                    f"{shape}; set .grad to an array of the parameter's shape (or None), nothing was updated"
                )

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_") and k != "params")
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    """Gradient descent Δw = −η (g + λw), with momentum v ← μv + (g + λw) and Δw = −η v (Nesterov: −η (g + λw + μv)).

    Exactly `torch.optim.SGD` with dampening 0. Weight decay λ is the gradient of the lecture's
    regulariser (λ/2)‖w‖².
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.lr = _hyper(lr, "lr", "SGD")
        self.momentum = _hyper(momentum, "momentum", "SGD")
        self.weight_decay = _hyper(weight_decay, "weight_decay", "SGD")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        super().__init__(params)
        self._velocity = [np.zeros_like(p.data) for p in self.params] if self.momentum else None
        self._scratch2 = [np.empty_like(p.data) for p in self.params] if self.nesterov and self.weight_decay else None

    def step(self) -> None:
        """Update every parameter that has a gradient (one without is left alone)."""
        self._check_grads()
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            w = p.data
            s = self._scratch[i]
            d = g
            if wd:
                np.multiply(w, wd, out=s)
                s += g
                d = s
            if mu:
                v = self._velocity[i]
                # v starts at 0, so the first step gives v = g, as torch's clone of the first gradient
                v *= mu
                v += d
                if self.nesterov:
                    t = self._scratch2[i] if d is s else s
                    np.multiply(v, mu, out=t)
                    t += d
                    d = t
                else:
                    d = v
            np.multiply(d, lr, out=s)
            w -= s


class Adam(Optimizer):
    """Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², Δw = −η m̂ / (√v̂ + ε) with bias-corrected m̂, v̂.

    Exactly `torch.optim.Adam`: weight decay adds λw to the gradient (L2, not AdamW).
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = _hyper(lr, "lr", "Adam")
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (β₁, β₂), got {betas!r}") from None
        self.betas = (_hyper(b1, "betas[0]", "Adam", 1.0), _hyper(b2, "betas[1]", "Adam", 1.0))
        self.eps = _hyper(eps, "eps", "Adam")
        self.weight_decay = _hyper(weight_decay, "weight_decay", "Adam")
        super().__init__(params)
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]
        self._decayed = [np.empty_like(p.data) for p in self.params] if self.weight_decay else None
        self._steps = [0] * len(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient; each keeps its own step count for the bias correction."""
        self._check_grads()
        lr, (b1, b2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            w, m, v, s = p.data, self._m[i], self._v[i], self._scratch[i]
            self._steps[i] = k = self._steps[i] + 1
            if wd:
                d = self._decayed[i]
                np.multiply(w, wd, out=d)
                d += g
                g = d
            m *= b1
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            step_size = lr / (1 - b1**k)
            np.sqrt(v, out=s)
            s /= math.sqrt(1 - b2**k)
            s += eps
            np.divide(m, s, out=s)
            s *= step_size
            w -= s
