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


def _reduce(losses: np.ndarray, reduction: str) -> tuple[np.ndarray, float]:
    """The reduced loss and the factor ∂(reduced)/∂(each loss): 1/N for a mean, 1 otherwise."""
    if reduction == "none":
        return losses, 1.0
    total = losses.sum()
    if reduction == "sum":
        return total, 1.0
    return total / max(losses.size, 1), 1.0 / max(losses.size, 1)


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


# ---------------------------------------------------------------------- cross-entropy
def _class_indices(target: Any, logits_shape: tuple[int, ...], name: str) -> np.ndarray:
    """`target` as an int array of class indices matching the logits, or a clear error."""
    t = target.data if isinstance(target, Tensor) else target
    try:
        t = np.asarray(t)
    except (ValueError, TypeError):
        raise TypeError(f"{name}: target must be an array of integer class indices, got {type(target).__name__}") from None
    n_classes = logits_shape[-1]
    expected = logits_shape[:-1]
    if t.dtype.kind not in "iuf":  # not bool: True is no class index
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {t.dtype}")
    if t.shape != expected:
        raise ValueError(
            f"{name}: target must be class indices of shape {expected} for logits of shape {logits_shape}, "
            f"got shape {t.shape}"
        )
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or not np.array_equal(t, np.round(t)):
            raise ValueError(f"{name}: target must hold integer class indices, got non-integer values")
        t = t.astype(np.intp)
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)][0]
        raise ValueError(f"{name}: class index {int(bad)} is out of range for {n_classes} classes (0..{n_classes - 1})")
    return t


@op(name="cross_entropy")
def _cross_entropy(logits, target=None, reduction="mean"):
    """E = −Σₙ log softmax(aₙ)[tₙ] (÷N for the mean);  δ_a = (softmax(a) − onehot(t)) δ_E (÷N)"""
    z = logits - logits.max(axis=-1, keepdims=True)  # shifted by the maximum: exp cannot overflow
    p = np.exp(z)
    s = p.sum(axis=-1, keepdims=True)
    p /= s
    # Where each target logit sits: index `picked` picks z_{n, t_n} (and onehot's ones).
    picked = target if logits.ndim == 1 else (np.arange(len(target)), target)
    losses = np.log(s[..., 0]) - z[picked]
    out, scale = _reduce(np.asarray(losses), reduction)
    return out, (p, picked, scale, reduction)


@_cross_entropy.vjp
def _(g, p, picked, scale, reduction):
    s = _scaled(g, scale, reduction)
    d = p * (s[:, None] if reduction == "none" and p.ndim == 2 else s)  # fresh: p stays intact for a second backward
    d[picked] -= s
    return d


@_cross_entropy.graph_vjp
def _(g, z, xs, saved):
    p, picked, scale, reduction = saved
    onehot = np.zeros_like(p)
    onehot[picked] = 1
    s = g * scale
    if reduction == "none" and p.ndim == 2:
        s = s.reshape(-1, 1)
    return (ad.softmax(xs[0], axis=-1) - onehot) * s


_cross_entropy.zero_safe_vjp(_zero_safe)


def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """E = −(1/N) Σₙ log softmax(aₙ)[tₙ] for logits `input` of shape (N, C) and class indices `target` (N,).

    One logit vector of shape (C,) with a single class index also works. Computed through a
    stable log-softmax, so any finite logits give a finite loss.

    >>> import autodiff as ad, nn
    >>> round(nn.functional.cross_entropy(ad.Tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """
    check_reduction(reduction, "cross_entropy")
    shape = _shape(input)
    if len(shape) not in (1, 2) or shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,) with C ≥ 1, got {shape}")
    t = _class_indices(target, shape, "cross_entropy")
    return _cross_entropy(input, target=t, reduction=reduction)


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
