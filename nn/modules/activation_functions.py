"""The activations as functions, torch's names (`nn.functional.relu`, `elu`, `softmax`, …); their modules are in
`nn.modules.activation`.

Each is an autodiff op or a composition of them, so its gradient (of any order) comes from the
engine, with torch's derivative at the kinks (hardtanh: 0 at both bounds; elu: α at 0). Branches
are `ad.where`, which lets no NaN or infinity of the branch not taken into the gradient, or, where
the values stay exact, sums of relu and clip, which compare no values (a compiled forward can
replay them; a comparison makes it run eagerly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _no_inplace(inplace: bool, name: str) -> None:
    if inplace:
        raise ValueError(f"{name}: inplace=True is not supported (an op never changes its input here)")


def relu(input: Any, inplace: bool = False) -> Tensor:
    """z = max(x, 0);  δ = [x > 0] δ_out"""
    _no_inplace(inplace, "relu")
    return ad.relu(input)


def sigmoid(input: Any) -> Tensor:
    """z = 1 / (1 + e⁻ˣ);  δ = z (1 − z) δ_out"""
    return ad.sigmoid(input)


def tanh(input: Any) -> Tensor:
    """z = tanh(x);  δ = (1 − z²) δ_out"""
    return ad.tanh(input)


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """z = x Φ(x) (approximate="tanh": torch's tanh form)"""
    return ad.gelu(input, approximate)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """z = x if x > 0 else αx"""
    _no_inplace(inplace, "leaky_relu")
    return ad.leaky_relu(input, negative_slope)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """z = ln(1 + e^(βx)) / β, and x where βx > threshold"""
    return ad.softplus(input, beta, threshold)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """z = min(max(x, lo), hi);  δ = [lo < x < hi] δ_out (0 at the bounds, as torch's)"""
    _no_inplace(inplace, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    x = _t(input)
    lo, hi = float(min_val), float(max_val)
    return ad.where(x <= lo, lo, ad.where(x >= hi, hi, x))


def relu6(input: Any, inplace: bool = False) -> Tensor:
    """z = min(max(x, 0), 6), hardtanh(x, 0, 6)"""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """z = x if x > 0 else α (eˣ − 1);  δ = 1 or α eˣ (α at 0, as torch's)"""
    _no_inplace(inplace, "elu")
    x = _t(input)
    # relu(x) + α(e^min(x, 0) − 1) is x or α(eˣ − 1) exactly, with δ = α at 0 (clip's bound is inclusive),
    # and compares no values, so a compiled forward replays it
    return ad.relu(x) + float(alpha) * (ad.exp(ad.clip(x, hi=0.0)) - 1.0)


def selu(input: Any, inplace: bool = False) -> Tensor:
    """z = λ elu(x, α) with torch's λ ≈ 1.0507 and α ≈ 1.6733 (self-normalising)"""
    return SELU_SCALE * elu(input, SELU_ALPHA, inplace)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """z = x if x > 0 else α (e^(x/α) − 1)"""
    _no_inplace(inplace, "celu")
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    x = _t(input)
    return ad.relu(x) + float(alpha) * (ad.exp(ad.clip(x, hi=0.0) * (1.0 / alpha)) - 1.0)


def silu(input: Any, inplace: bool = False) -> Tensor:
    """z = x σ(x) (swish)"""
    _no_inplace(inplace, "silu")
    x = _t(input)
    return x * ad.sigmoid(x)


def mish(input: Any, inplace: bool = False) -> Tensor:
    """z = x tanh(softplus(x))"""
    _no_inplace(inplace, "mish")
    x = _t(input)
    return x * ad.tanh(ad.softplus(x))


def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """z = relu6(x + 3) / 6;  δ = [−3 < x < 3] δ_out / 6"""
    return relu6(_t(input) + 3.0, inplace) * (1 / 6)


def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """z = x relu6(x + 3) / 6"""
    x = _t(input)
    return x * hardsigmoid(x, inplace)


def softsign(input: Any) -> Tensor:
    """z = x / (1 + |x|)"""
    x = _t(input)
    return x / (1.0 + ad.abs(x))


def logsigmoid(input: Any) -> Tensor:
    """z = log σ(x) = −softplus(−x), stable for any x"""
    x = _t(input)
    # softplus's linear cut-off far out, where e^(βx) still fits the dtype: the log stays exact
    return -ad.softplus(-x, 1.0, 700.0 if x.dtype == np.float64 else 80.0)


def _dim(dim: Any, name: str) -> int:
    if dim is None:
        raise ValueError(f"{name}: pass dim (torch's implicit choice of dim is deprecated, and a classic bug)")
    return dim


def softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Tensor:
    """zᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along `dim` (cast to `dtype` first when given)"""
    x = _t(input) if dtype is None else ad.astype(_t(input), dtype)
    return ad.softmax(x, axis=_dim(dim, "softmax"))


def log_softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Tensor:
    """zᵢ = xᵢ − log Σⱼ e^(xⱼ) along `dim`, computed stably"""
    x = _t(input) if dtype is None else ad.astype(_t(input), dtype)
    return ad.log_softmax(x, axis=_dim(dim, "log_softmax"))


def softmin(input: Any, dim: int | None = None, dtype: Any = None) -> Tensor:
    """zᵢ = e^(−xᵢ) / Σⱼ e^(−xⱼ) along `dim`"""
    x = _t(input) if dtype is None else ad.astype(_t(input), dtype)
    return ad.softmax(-x, axis=_dim(dim, "softmin"))


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """z = x / max(‖x‖_p, ε) along `dim`: torch's normalize (a norm below ε passes no gradient to the norm)."""
    x = _t(input)
    p = float(p)
    if not p > 0:
        raise ValueError(f"normalize: p must be positive, got {p}")
    s = (x * x if p == 2.0 else ad.abs(x) ** p).sum(axis=dim, keepdims=True)
    big = s > eps ** p
    # the root only where it is taken: √0's infinite slope would turn 0 · ∞ into NaN
    root = ad.sqrt(ad.where(big, s, 1.0)) if p == 2.0 else ad.where(big, s, 1.0) ** (1 / p)
    return x / ad.where(big, root, float(eps))
