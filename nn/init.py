"""Initialisers that overwrite a parameter's values in place, drawing from `rng` (default: `ad.default_rng()`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.tensor import mark_modified

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity (tanh 5/3, relu √2, leaky_relu √(2/(1+a²)))."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")
    return _GAINS[nonlinearity]


def _fans(tensor: Tensor, name: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *receptive field), as in PyTorch."""
    if tensor.ndim < 2:
        raise ValueError(f"{name}: fan in and fan out need a tensor of at least 2 dimensions, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _check(tensor: Any, name: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor or Parameter, got {type(tensor).__name__}")


def _fill(tensor: Tensor, values: Any) -> Tensor:
    tensor.data[...] = values  # in place: optimizers and views keep seeing the same array
    mark_modified([tensor])
    return tensor


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return ad.default_rng() if rng is None else rng


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """w ~ U(a, b), in place."""
    _check(tensor, "uniform_")
    return _fill(tensor, _rng(rng).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """w ~ N(mean, std²), in place."""
    _check(tensor, "normal_")
    return _fill(tensor, _rng(rng).normal(mean, std, tensor.shape))


def zeros_(tensor: Tensor, rng: np.random.Generator | None = None) -> Tensor:
    """w = 0, in place (`rng` is accepted for a uniform signature and not used)."""
    _check(tensor, "zeros_")
    return _fill(tensor, 0.0)


def ones_(tensor: Tensor, rng: np.random.Generator | None = None) -> Tensor:
    """w = 1, in place."""
    _check(tensor, "ones_")
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """w ~ U(−a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot and Bengio), in place."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(rng).uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """w ~ N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)) (Glorot and Bengio), in place."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(rng).normal(0.0, std, tensor.shape))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: np.random.Generator | None = None,
) -> Tensor:
    """w ~ U(−b, b) with b = gain·√(3 / fan) (He et al.), gain from `nonlinearity` and slope `a`, in place."""
    _check(tensor, "kaiming_uniform_")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor, "kaiming_uniform_")
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, _rng(rng).uniform(-bound, bound, tensor.shape))
