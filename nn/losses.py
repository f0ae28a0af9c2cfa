"""Losses as modules: `nn.MSELoss()(y, t)` is `nn.functional.mse_loss(y, t)` with its reduction fixed."""

from __future__ import annotations

from typing import Any

from autodiff import Tensor
from nn import functional as F
from nn.module import Module


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
    """E = −(1/N) Σₙ log softmax(aₙ)[tₙ] for logits a (N, C) and class indices t (N,);  δ_a = (softmax(a) − onehot(t)) / N"""

    _fn = staticmethod(F.cross_entropy)


class BCELoss(_Loss):
    """E = −(1/N) Σₙ [tₙ log yₙ + (1 − tₙ) log(1 − yₙ)] for probabilities y;  δ_y = (y − t) / (y (1 − y) N)"""

    _fn = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """E = −(1/N) Σₙ [tₙ log σ(aₙ) + (1 − tₙ) log(1 − σ(aₙ))] for logits a;  δ_a = (σ(a) − t) / N"""

    _fn = staticmethod(F.binary_cross_entropy_with_logits)
