"""The affine layer a = x Wᵀ + b (the lecture's w_ji) as one fused op, and Identity."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.op import op
from autodiff.zero_safe import bilinear
from nn.modules.module import Module
from nn.parameter import Parameter


# ---------------------------------------------------------------------- the fused affine op
@op(name="linear")
def _linear(x, weight, bias):
    """a = x Wᵀ + b, a_j = Σ_i w_ji x_i + b_j;  δ_x = δ_a W,  ∂E/∂w_ji = Σ_n δ_nj x_ni,  ∂E/∂b_j = Σ_n δ_nj"""
    out = x @ weight.T
    if out.ndim and (out.dtype is getattr(bias, "dtype", None) or out.dtype == np.result_type(out, bias)):
        out += bias  # out is ours: add in place rather than allocate another activation
    else:
        out = out + bias
    return out, (x, weight)


def _linear_x(g, x, weight):
    return g @ weight


def _linear_weight(g, x, weight):
    if x.ndim == 1:  # the outer product δ xᵀ
        return g.reshape(-1, 1) * x.reshape(1, -1)
    if x.ndim > 2:
        g = g.reshape(-1, g.shape[-1])
        x = x.reshape(-1, x.shape[-1])
    return g.T @ x


def _linear_bias(g, x, weight):
    if g.ndim == 2:
        return g.sum(axis=0)
    return g if g.ndim == 1 else g.sum(axis=tuple(range(g.ndim - 1)))


# Written with operators only, these serve grad of grad too, on the input Tensors (Hessians, Newton-CG).
_linear.vjp(_linear_x, _linear_weight, _linear_bias)
# Below a `where`, 0 · ∞ = 0: δ_x is bilinear in δ and W, δ_W in δ and x; δ_b only sums δ.
_linear.zero_safe_vjp(bilinear(1), bilinear(0), None)


# ---------------------------------------------------------------------- layers
class Linear(Module):
    """a_j = Σ_i w_ji z_i + b_j, i.e. y = x Wᵀ + b with W of shape (out, in): the lecture's w_ji.

    Weights and biases start uniform in ±1/√in_features, drawn from `rng` (default: the
    generator `autodiff.manual_seed` resets).

    >>> import numpy as np
    >>> import nn
    >>> layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer(np.ones((5, 3))).shape
    (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = None,
    ) -> None:
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Linear: {what} must be a positive int, got {type(n).__name__} {n!r}")
            if n < 1:
                raise ValueError(f"Linear: {what} must be a positive int, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = ad.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)), dtype=dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, out_features), dtype=dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        if type(x) is not Tensor and not isinstance(x, Tensor):
            x = np.asarray(x)
            shape = x.shape
        else:
            shape = x.data.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: input of shape {shape} has {shape[-1] if shape else 0} features "
                f"(its last dimension), the layer expects {self.in_features}"
            )
        if self.bias is None:
            return x @ self.weight.T
        return _linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """z = a;  δ = δ_out (a linear output unit)"""

    def forward(self, x: Any) -> Any:
        return x
