"""Dropout and normalisation layers with torch's semantics: Dropout, BatchNorm1d, BatchNorm2d, LayerNorm.

All are compositions of differentiable ops (mean, subtraction, square root, division), so their
gradients, and gradients of gradients, come from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import not_traceable
from autodiff.grad_mode import no_grad
from nn.modules.module import Module
from nn.parameter import Buffer, Parameter


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Dropout(Module):
    """In training, z = x ⊙ m / (1 − p) with m ~ Bernoulli(1 − p) per element; in eval mode z = x.

    Scaling by 1/(1 − p) keeps E[z] = x, so nothing changes at test time. Masks are drawn from
    `rng` (default: the generator `autodiff.manual_seed` resets).

    >>> import numpy as np
    >>> import nn
    >>> drop = nn.Dropout(0.5, rng=np.random.default_rng(0))
    >>> drop(np.ones(6)).data.tolist()
    [2.0, 0.0, 0.0, 0.0, 2.0, 2.0]
    >>> drop.eval()(np.ones(2)).data.tolist()
    [1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = rng

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        not_traceable("Dropout in training mode draws a new mask every call")
        rng = ad.default_rng() if self.rng is None else self.rng
        keep = rng.random(x.shape) >= self.p
        return x * (keep * (1 / (1 - self.p))).astype(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """y = γ (x − μ_B) / √(σ²_B + ε) + β over the batch (and length) of (N, C) or (N, C, L) inputs.

    Exactly torch's: in training μ_B, σ²_B are the batch's (σ² biased), and the running
    statistics move by `momentum` (the running variance takes the unbiased σ²; momentum=None
    averages all batches); in eval mode the running statistics are used. They are Buffers, so
    `state_dict()` saves them.
    """

    _ndims = (2, 3)

    def _expected(self) -> str:
        return f"(N, {self.num_features}) or (N, {self.num_features}, L)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = None) -> None:
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.weight = Parameter(np.ones(num_features), dtype=dtype) if affine else None
        self.bias = Parameter(np.zeros(num_features), dtype=dtype) if affine else None
        if track_running_stats:
            self.running_mean = Buffer(np.zeros(num_features), dtype=dtype)
            self.running_var = Buffer(np.ones(num_features), dtype=dtype)
            self.num_batches_tracked = Buffer(0.0)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape {self._expected()}, got {x.shape}")
        axes = (0, *range(2, x.ndim))  # the batch and every position: one mean and variance per channel
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training or self.running_mean is None:
            n = x.size // self.num_features
            if self.training and n < 2:
                raise ValueError(f"{self!r}: training needs more than one value per channel, got input of shape {x.shape}")
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            var = (centred * centred).mean(axis=axes, keepdims=True)
            if self.training and self.running_mean is not None:
                not_traceable("BatchNorm in training mode updates its running statistics outside the graph")
                self._track(mean.data.reshape(-1), var.data.reshape(-1), n)
            y = centred / (var + self.eps).sqrt()
        else:
            # Through ops on the Buffers, not their arrays: a compiled forward reads them afresh.
            y = (x - self.running_mean.reshape(*shape)) / (self.running_var.reshape(*shape) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(*shape) + self.bias.reshape(*shape)
        return y

    def _track(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        with no_grad():
            self.num_batches_tracked.data[...] += 1
            m = 1 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
            self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * mean
            self.running_var.data[...] = (1 - m) * self.running_var.data + m * var * (n / (n - 1))

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}"


class BatchNorm2d(BatchNorm1d):
    """y = γ (x − μ_B) / √(σ²_B + ε) + β per channel of images (N, C, H, W), over the batch and every pixel: torch's
    BatchNorm2d, with BatchNorm1d's running statistics, momentum and modes."""

    _ndims = (4,)

    def _expected(self) -> str:
        return f"(N, {self.num_features}, H, W)"


class LayerNorm(Module):
    """y = γ (x − μ) / √(σ² + ε) + β, μ and σ² (biased) over the last dimensions, `normalized_shape`.

    Exactly torch's: the same in training and eval; γ starts at 1, β at 0.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape, self.eps = tuple(int(n) for n in shape), float(eps)
        self.weight = Parameter(np.ones(shape), dtype=dtype) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape), dtype=dtype) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"{self!r}: input of shape {x.shape} does not end in {self.normalized_shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        centred = x - x.mean(axis=axes, keepdims=True)
        y = centred / ((centred * centred).mean(axis=axes, keepdims=True) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"
