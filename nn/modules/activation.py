"""Activations as modules, torch's names: the lecture's Tanh, Sigmoid, ReLU, and LeakyReLU, Softplus, GELU, ELU,
SELU, SiLU, Mish, Hardtanh, ReLU6, Softmax, LogSoftmax, … (their functions: `nn.modules.activation_functions`)."""

from __future__ import annotations

from typing import Any

import autodiff as ad
from autodiff import Tensor
from nn.modules.activation_functions import (
    _no_inplace,
    celu,
    elu,
    hardsigmoid,
    hardswish,
    hardtanh,
    log_softmax,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softmax,
    softmin,
    softsign,
)
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


# ---------------------------------------------------------------------- more modules (issue 25)
class _Elementwise(Module):
    """A module calling one of the functions above with its settings."""

    _settings: tuple[str, ...] = ()

    def forward(self, x: Any) -> Tensor:
        return type(self)._fn(x, **{name: getattr(self, name) for name in self._settings})

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._settings)


class ELU(_Elementwise):
    """z = x if x > 0 else α (eˣ − 1)"""

    _fn, _settings = staticmethod(elu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        _no_inplace(inplace, "ELU")
        self.alpha = float(alpha)


class CELU(_Elementwise):
    """z = x if x > 0 else α (e^(x/α) − 1)"""

    _fn, _settings = staticmethod(celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        _no_inplace(inplace, "CELU")
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0")
        self.alpha = float(alpha)


class SELU(_Elementwise):
    """z = λ elu(x, α), λ ≈ 1.0507, α ≈ 1.6733"""

    _fn = staticmethod(selu)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "SELU")


class SiLU(_Elementwise):
    """z = x σ(x)"""

    _fn = staticmethod(silu)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "SiLU")


class Mish(_Elementwise):
    """z = x tanh(softplus(x))"""

    _fn = staticmethod(mish)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "Mish")


class Hardtanh(_Elementwise):
    """z = min(max(x, min_val), max_val)"""

    _fn, _settings = staticmethod(hardtanh), ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        _no_inplace(inplace, "Hardtanh")
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val = float(min_val), float(max_val)


class ReLU6(_Elementwise):
    """z = min(max(x, 0), 6)"""

    _fn = staticmethod(relu6)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "ReLU6")


class Hardsigmoid(_Elementwise):
    """z = relu6(x + 3) / 6"""

    _fn = staticmethod(hardsigmoid)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "Hardsigmoid")


class Hardswish(_Elementwise):
    """z = x relu6(x + 3) / 6"""

    _fn = staticmethod(hardswish)

    def __init__(self, inplace: bool = False) -> None:
        _no_inplace(inplace, "Hardswish")


class Softsign(_Elementwise):
    """z = x / (1 + |x|)"""

    _fn = staticmethod(softsign)


class LogSigmoid(_Elementwise):
    """z = log σ(x)"""

    _fn = staticmethod(logsigmoid)


class _AlongDim(_Elementwise):
    _settings = ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim


class Softmax(_AlongDim):
    """zᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along `dim`"""

    _fn = staticmethod(softmax)


class LogSoftmax(_AlongDim):
    """zᵢ = xᵢ − log Σⱼ e^(xⱼ) along `dim`"""

    _fn = staticmethod(log_softmax)


class Softmin(_AlongDim):
    """zᵢ = e^(−xᵢ) / Σⱼ e^(−xⱼ) along `dim`"""

    _fn = staticmethod(softmin)

