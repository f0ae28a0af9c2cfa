"""Loss functions with PyTorch's names, each one fused op: its value and its gradient in one node.

A fused loss allocates little and records one node instead of five, which is where most of the
time of a small network's training step goes. Targets that need no gradient (class indices) are
static arguments; `reduction` is "mean" (the default), "sum" or "none".
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.op import op
from autodiff.zero_safe import masked

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: Any, name: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, REDUCTIONS))}, got {reduction!r}")
    return reduction


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _reduce(losses: np.ndarray, reduction: str, total: Any = None) -> tuple[np.ndarray, float]:
    """The reduced loss and the factor ∂(reduced)/∂(each loss): 1/N for a mean, 1 otherwise.

    A mean divides by `total` when given (a weighted count) instead of N. The mean of no losses is
    0; a mean of some losses over a total of 0 (all targets ignored, say) is NaN, as PyTorch's.
    """
    if reduction == "none":
        return losses, 1.0
    loss = losses.sum()
    if reduction == "sum":
        return loss, 1.0
    n = losses.size if total is None else total
    if not n:
        return (loss * np.nan, np.nan) if losses.size else (loss, 1.0)
    return loss / n, 1.0 / float(n)


def _scaled(g: np.ndarray, scale: float, reduction: str) -> Any:
    """δ of each element's loss: the upstream δ (one number unless reduction is "none") times `scale`."""
    if reduction == "none":
        return g * scale
    return g.item() * scale  # a Python float: weak, so float32 stays float32


def _input(xs: tuple, saved: tuple, i: int) -> Any:
    """Input i of a loss as a Tensor, or its saved constant value, for the graph VJPs."""
    return saved[i] if xs[i] is None else xs[i]


def _unused(g: np.ndarray, *saved: Any) -> np.ndarray:
    """Below a `where`: the input elements whose loss has δ = 0 (each feeds one loss, or the one
    reduced loss), for the zero-safe rule (autodiff.zero_safe). saved[0] has the input's shape."""
    unused = np.asarray(g) == 0
    return unused.reshape(unused.shape + (1,) * (np.ndim(saved[0]) - unused.ndim))


_zero_safe = masked(_unused)


def _same_shape(input: Any, target: Any, name: str) -> None:
    if _shape(input) != _shape(target):
        raise ValueError(
            f"{name}: input has shape {_shape(input)} but target has shape {_shape(target)}; they must be "
            "equal (reshape one of them: broadcasting a loss is almost always a bug)"
        )


# ---------------------------------------------------------------------- mean squared error
@op(name="mse_loss")
def _mse_loss(y, t, reduction="mean"):
    """E = Σₙ (yₙ − tₙ)² (÷N for the mean);  δ_y = 2 (y − t) δ_E (÷N),  δ_t = −δ_y"""
    d = y - t
    out, scale = _reduce(d * d, reduction)
    return out, (y, t, d, 2.0 * scale, reduction)


def _mse_y(g, y, t, d, scale, reduction):
    return d * _scaled(g, scale, reduction)


_mse_loss.vjp(_mse_y, lambda g, *saved: -_mse_y(g, *saved))


def _mse_graph(g, z, xs, saved):
    return (_input(xs, saved, 0) - _input(xs, saved, 1)) * (g * saved[3])


_mse_loss.graph_vjp(_mse_graph, lambda g, z, xs, saved: -_mse_graph(g, z, xs, saved))
_mse_loss.zero_safe_vjp(_zero_safe, _zero_safe)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """E = (1/N) Σₙ (yₙ − tₙ)², the squared error (`reduction="sum"` drops the 1/N).

    >>> import autodiff as ad, nn
    >>> nn.functional.mse_loss(ad.Tensor([1.0, 2.0]), ad.Tensor([1.0, 4.0])).item()
    2.0
    """
    check_reduction(reduction, "mse_loss")
    _same_shape(input, target, "mse_loss")
    return _mse_loss(input, target, reduction=reduction)


# ---------------------------------------------------------------------- binary cross-entropy
@op(name="binary_cross_entropy")
def _bce(y, t, reduction="mean"):
    """E = −Σₙ [tₙ log yₙ + (1 − tₙ) log(1 − yₙ)], logs clamped at −100;  δ_y = (y − t) / (y (1 − y)) δ_E"""
    with np.errstate(divide="ignore"):  # log 0 = −inf, clamped next, as PyTorch does
        log_y = np.maximum(np.log(y), -100.0)
        log_1my = np.maximum(np.log1p(-y), -100.0)
    out, scale = _reduce(-(t * log_y + (1 - t) * log_1my), reduction)
    return out, (y, t, log_y, log_1my, scale, reduction)


def _bce_y(g, y, t, log_y, log_1my, scale, reduction):
    # PyTorch's formula and its floor on the denominator: finite even at y = 0 or 1.
    return (y - t) / np.maximum(y * (1 - y), 1e-12) * _scaled(g, scale, reduction)


def _bce_t(g, y, t, log_y, log_1my, scale, reduction):
    return (log_1my - log_y) * _scaled(g, scale, reduction)


_bce.vjp(_bce_y, _bce_t)


def _bce_graph_y(g, z, xs, saved):
    y, t = _input(xs, saved, 0), _input(xs, saved, 1)
    return (y - t) / ad.maximum(y * (1 - y), 1e-12) * (g * saved[4])


def _bce_graph_t(g, z, xs, saved):
    y = _input(xs, saved, 0)
    return (ad.maximum(ad.log(1 - y), -100.0) - ad.maximum(ad.log(y), -100.0)) * (g * saved[4])


_bce.graph_vjp(_bce_graph_y, _bce_graph_t)
_bce.zero_safe_vjp(_zero_safe, _zero_safe)


def binary_cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """E = −(1/N) Σₙ [tₙ log yₙ + (1 − tₙ) log(1 − yₙ)] for probabilities y in [0, 1] (logs clamped at −100).

    >>> import autodiff as ad, nn
    >>> round(nn.functional.binary_cross_entropy(ad.Tensor([0.5]), ad.Tensor([1.0])).item(), 4)
    0.6931
    """
    check_reduction(reduction, "binary_cross_entropy")
    _same_shape(input, target, "binary_cross_entropy")
    y = input.data if isinstance(input, Tensor) else np.asarray(input)
    if y.dtype.kind in "iufb" and not np.all((y >= 0) & (y <= 1)):
        raise ValueError(
            "binary_cross_entropy: every input must be a probability in [0, 1] "
            "(for logits use binary_cross_entropy_with_logits)"
        )
    return _bce(input, target, reduction=reduction)


@op(name="binary_cross_entropy_with_logits")
def _bce_logits(a, t, reduction="mean"):
    """E = Σₙ [max(aₙ, 0) − aₙtₙ + log(1 + e^(−|aₙ|))];  δ_a = (σ(a) − t) δ_E,  δ_t = −a δ_E"""
    e = np.exp(-np.abs(a))  # never overflows
    losses = np.maximum(a, 0) - a * t + np.log1p(e)
    out, scale = _reduce(losses, reduction)
    return out, (a, t, e, scale, reduction)


def _bce_logits_a(g, a, t, e, scale, reduction):
    sigma = np.where(a >= 0, 1, e) / (1 + e)  # σ(a) in the form that does not cancel for each sign
    sigma -= t
    sigma *= _scaled(g, scale, reduction)
    return sigma


def _bce_logits_t(g, a, t, e, scale, reduction):
    return -a * _scaled(g, scale, reduction)


_bce_logits.vjp(_bce_logits_a, _bce_logits_t)
_bce_logits.graph_vjp(
    lambda g, z, xs, saved: (ad.sigmoid(_input(xs, saved, 0)) - _input(xs, saved, 1)) * (g * saved[3]),
    lambda g, z, xs, saved: -_input(xs, saved, 0) * (g * saved[3]),
)
_bce_logits.zero_safe_vjp(_zero_safe, _zero_safe)


def binary_cross_entropy_with_logits(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """E = −(1/N) Σₙ [tₙ log σ(aₙ) + (1 − tₙ) log(1 − σ(aₙ))] for logits a, computed stably.

    >>> import autodiff as ad, nn
    >>> round(nn.functional.binary_cross_entropy_with_logits(ad.Tensor([0.0]), ad.Tensor([1.0])).item(), 4)
    0.6931
    """
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    return _bce_logits(input, target, reduction=reduction)


# ---------------------------------------------------------------------- cross-entropy
# In nn/modules/cross_entropy.py: class indices, their checks and the fused op. Imported here, after
# the losses above, which nn/modules/loss.py (imported by it) reads when it is defined.
# ---------------------------------------------------------------------- issue 25: convolutions, losses, activations
# Written beside their modules (nn/modules/conv.py, conv_transpose.py, pooling.py, padding.py, upsampling.py,
# activation_functions.py, loss.py); imported last, as those files import this one's losses and checks.
from nn.modules.activation_functions import (  # noqa: E402, F401
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    normalize,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    tanh,
)

# ---------------------------------------------------------------------- attention (issue 25)
from nn.modules.attention import scaled_dot_product_attention  # noqa: E402, F401
from nn.modules.conv import conv1d, conv2d  # noqa: E402, F401
from nn.modules.conv_transpose import conv_transpose1d, conv_transpose2d  # noqa: E402, F401
from nn.modules.cross_entropy import (  # noqa: E402, F401
    _INT64,
    _class_indices,
    _cross_entropy,
    _ignored_targets,
    check_class_weights,
    check_ignore_index,
    check_label_smoothing,
    cross_entropy,
)
from nn.modules.loss import (  # noqa: E402, F401
    _soft_cross_entropy,
    huber_loss,
    is_probabilities,
    kl_div,
    l1_loss,
    nll_loss,
    smooth_l1_loss,
)
from nn.modules.padding import pad  # noqa: E402, F401
from nn.modules.pooling import (  # noqa: E402, F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from nn.modules.upsampling import interpolate  # noqa: E402, F401
