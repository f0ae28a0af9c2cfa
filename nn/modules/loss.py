"""Losses as modules: `nn.MSELoss()(y, t)` is `nn.functional.mse_loss(y, t)` with its reduction fixed."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor
from nn import functional as F
from nn.modules.module import Module
from nn.parameter import Buffer


class _Loss(Module):
    _fn: Any = None

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = F.check_reduction(reduction, type(self).__name__)

    def forward(self, input: Any, target: Any) -> Tensor:
        return type(self)._fn(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """E = (1/N) Σₙ (yₙ − tₙ)²;  δ_y = 2 (y − t) / N"""

    _fn = staticmethod(F.mse_loss)


class CrossEntropyLoss(_Loss):
    """E = −(1/N) Σₙ log softmax(aₙ)[tₙ] for logits a (N, C) and class indices t (N,);  δ_a = (softmax(a) − onehot(t)) / N

    Also (C,) logits, and (N, C, d₁, …) logits with targets (N, d₁, …). `weight` (C class weights,
    kept as the buffer `weight` as in PyTorch), `ignore_index` and `label_smoothing` mean what they
    mean in `nn.functional.cross_entropy`, which this calls; a bad one is refused when the module is
    made (a weight of the wrong length, at the call).
    """

    def __init__(
        self, reduction: str = "mean", *, weight: Any = None, ignore_index: int = -100, label_smoothing: float = 0.0
    ) -> None:
        name = type(self).__name__
        reduction = F.check_reduction(reduction, name)
        w = F.check_class_weights(weight, name)
        self.ignore_index = F.check_ignore_index(ignore_index, name)
        self.label_smoothing = F.check_label_smoothing(label_smoothing, name)
        self.weight = None if w is None else Buffer(w.copy())
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(
            input, target, self.reduction,
            weight=self.weight, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
        )

    def extra_repr(self) -> str:
        options = [super().extra_repr()]
        if self.weight is not None:
            options.append(f"weight={np.array2string(self.weight.data, separator=', ', threshold=6)}")
        if self.ignore_index != -100:
            options.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            options.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(o for o in options if o)


class BCELoss(_Loss):
    """E = −(1/N) Σₙ [tₙ log yₙ + (1 − tₙ) log(1 − yₙ)] for probabilities y;  δ_y = (y − t) / (y (1 − y) N)"""

    _fn = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """E = −(1/N) Σₙ [tₙ log σ(aₙ) + (1 − tₙ) log(1 − σ(aₙ))] for logits a;  δ_a = (σ(a) − t) / N"""

    _fn = staticmethod(F.binary_cross_entropy_with_logits)
