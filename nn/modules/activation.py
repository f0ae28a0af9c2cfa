"""Activations as modules, torch's names: the lecture's Tanh, Sigmoid, ReLU, and LeakyReLU, Softplus, GELU."""

from __future__ import annotations

from typing import Any

import autodiff as ad
from autodiff import Tensor
from nn.modules.module import Module


class Tanh(Module):
    """z = tanh(a);  δ = (1 − z²) ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.tanh(x)


class Sigmoid(Module):
    """z = σ(a) = 1 / (1 + e⁻ᵃ);  δ = z (1 − z) ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.sigmoid(x)


class ReLU(Module):
    """z = max(a, 0);  δ = [a > 0] ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.relu(x)


class LeakyReLU(Module):
    """z = a if a > 0 else αa;  δ = (1 if a > 0 else α) ⊙ δ_out"""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return ad.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softplus(Module):
    """z = ln(1 + e^(βa)) / β (a where βa > threshold);  δ = σ(βa) ⊙ δ_out"""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x: Any) -> Tensor:
        return ad.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    """z = a Φ(a) (approximate="tanh": torch's tanh form);  δ = (Φ(a) + a φ(a)) ⊙ δ_out"""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return ad.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
