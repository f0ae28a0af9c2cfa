"""RMSprop and Adagrad: a step per weight scaled by the root of its squared gradients, with torch.optim's exact rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from nn.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop: r ← αr + (1−α)g², Δw = −η g / (√r + ε) (centred: √(r − ḡ²), ḡ ← αḡ + (1−α)g).

    Exactly `torch.optim.RMSprop`: weight decay adds λw to g; with momentum μ,
    b ← μb + g / (√r + ε) and Δw = −η b.
    """

    _state: ClassVar[dict[str, str]] = {"step": "_steps", "square_avg": "_r", "momentum_buffer": "_b", "grad_avg": "_gavg"}

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                    "centered": centered}
        self._check(dict(defaults))
        super().__init__(params, defaults)

    _rates = ("lr", "alpha", "eps", "weight_decay", "momentum")
    _flags = ("centered",)

    def _step_one(self, i: int, p: Any) -> None:
        h = self._group_of[i]
        if self._r[i] is None or self._r[i].shape != p.data.shape:
            self._steps[i] = 0
            self._zeros("_r", i)
        self._steps[i] += 1
        b = self._zeros("_b", i) if h["momentum"] and self._b[i] is None else self._b[i] if h["momentum"] else None
        ga = self._zeros("_gavg", i) if h["centered"] and self._gavg[i] is None else self._gavg[i] if h["centered"] else None
        self._apply(i, self._update, p.data, p.grad, self._r[i], b, ga)

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, r: np.ndarray, b: np.ndarray | None,
                ga: np.ndarray | None, s: np.ndarray) -> None:
        h = self._group_of[i]
        alpha, eps, wd = h["alpha"], h["eps"], h["weight_decay"]
        if wd:
            g = g + wd * w
        r *= alpha
        r += (1 - alpha) * (g * g)
        if ga is not None:
            ga *= alpha
            ga += (1 - alpha) * g
            np.sqrt(r - ga * ga, out=s)
        else:
            np.sqrt(r, out=s)
        s += eps
        if b is not None:
            b *= h["momentum"]
            b += g / s
            np.multiply(b, h["lr"], out=s)
        else:
            np.divide(g, s, out=s)
            s *= h["lr"]
        w -= s


class Adagrad(Optimizer):
    """Adagrad: G ← G + g², Δw = −η_k g / (√G + ε) with η_k = η / (1 + (k−1)·decay).

    Exactly `torch.optim.Adagrad`: weight decay adds λw to g; G starts at
    `initial_accumulator_value`.
    """

    _state: ClassVar[dict[str, str]] = {"step": "_steps", "sum": "_sum"}

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps}
        self._check(dict(defaults))
        super().__init__(params, defaults)
        # torch fills the sums when the optimizer is made, so they are state from the start.
        for i, p in enumerate(self.params):
            self._sum[i] = np.full_like(p.data, self._group_of[i]["initial_accumulator_value"])
            self._steps[i] = 0

    _rates = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _step_one(self, i: int, p: Any) -> None:
        if self._sum[i] is None or self._sum[i].shape != p.data.shape:
            self._sum[i] = np.full_like(p.data, self._group_of[i]["initial_accumulator_value"])
            self._steps[i] = 0
        self._steps[i] += 1
        self._apply(i, self._update, p.data, p.grad, self._sum[i])

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, total: np.ndarray, s: np.ndarray) -> None:
        h = self._group_of[i]
        if h["weight_decay"]:
            g = g + h["weight_decay"] * w
        lr = h["lr"] / (1 + (self._steps[i] - 1) * h["lr_decay"])
        total += g * g
        np.sqrt(total, out=s)
        s += h["eps"]
        np.divide(g, s, out=s)
        s *= lr
        w -= s
