"""Losses as modules: `nn.MSELoss()(y, t)` is `nn.functional.mse_loss(y, t)` with its reduction fixed."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.tracing import replay_check, tracing
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


# ---------------------------------------------------------------------- more losses (issue 25)
# Compositions of ops (their gradients, of any order, come from the engine), written here beside
# their modules; `nn.functional` exports them under torch's names.
def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _reduced(losses: Tensor, reduction: str) -> Tensor:
    """The mean or sum of `losses`, or them as they are; the mean of none is 0, as for every loss here."""
    if reduction == "none":
        return losses
    if reduction == "sum" or losses.size == 0:
        return losses.sum()
    return losses.mean()


def _ignored_targets(t: np.ndarray, shape: tuple, ignore_index: int) -> bool:
    """`_class_indices`'s choice for a replay of a compiled nll_loss (its errors included)."""
    return F._class_indices(t, shape, ignore_index, "nll_loss")[1]


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """E = −Σₙ w_{tₙ} xₙ[tₙ] / Σₙ w_{tₙ} for log-probabilities x (N, C) (or (C,), or (N, C, d₁, …)) and class indices t.

    torch's nll_loss: `weight` C class weights (constants; 1 without), targets equal to
    `ignore_index` count for nothing; the mean divides by the sum of the counted targets' weights
    (NaN if that is 0, as torch; an empty batch gives 0). `log_softmax` then `nll_loss` is `cross_entropy`.

    >>> import autodiff as ad, nn
    >>> nn.functional.nll_loss(ad.Tensor([[-1.0, -2.0], [-3.0, -4.0]]), [1, 0]).item()
    2.5
    """
    name = "nll_loss"
    F.check_reduction(reduction, name)
    x = _tensor(input)
    if x.ndim == 0 or x.shape[1 if x.ndim > 1 else 0] == 0:
        raise ValueError(f"{name}: input must have shape (C,), (N, C) or (N, C, d1, ...) with C ≥ 1, got {x.shape}")
    ignore_index = F.check_ignore_index(ignore_index, name)
    t, ignored = F._class_indices(target, x.shape, ignore_index, name)
    if tracing():  # under ad.compile: every replay checks its own targets and takes the same path
        replay_check(_ignored_targets, (t, x.shape, ignore_index), ignored)
    w = F.check_class_weights(weight, name)
    n_classes = x.shape[1 if x.ndim > 1 else 0]
    if w is not None and w.shape != (n_classes,):
        raise ValueError(f"{name}: weight must have shape ({n_classes},), one weight per class, got shape {w.shape}")
    keep = t != ignore_index if ignored else None
    if keep is not None:
        t = np.where(keep, t, 0)  # any class: its weight below is 0
    grids = np.ix_(*(np.arange(n) for n in t.shape))
    picked = x[(t,) if x.ndim == 1 else (grids[0], t, *grids[1:])]
    wt = np.ones(t.shape, x.dtype) if w is None else w.astype(x.dtype)[t]
    if keep is not None:
        wt = wt * keep
    with np.errstate(invalid="ignore"):  # an ignored −∞ times its weight 0: NaN, replaced by 0 next
        losses = -picked * wt
    if keep is not None:
        losses = ad.where(keep, losses, 0.0)  # exactly 0, also where an ignored log-probability is −∞
    if reduction != "mean" or t.size == 0:
        return _reduced(losses, reduction)
    with np.errstate(invalid="ignore", divide="ignore"):
        return losses.sum() / wt.sum()


def _soft_cross_entropy(input: Any, target: Any, reduction: str, weight: Any, label_smoothing: float) -> Tensor:
    """torch's cross-entropy with probability targets q (the input's shape): Eₙ = −Σ_c w_c q̃ₙc log softmax(xₙ)_c,
    q̃ = (1 − ε) q + ε/C; the mean divides by the number of samples (not by weights). δ_q too, if q needs one."""
    x, q = _tensor(input), _tensor(target)
    axis = 1 if x.ndim > 1 else 0
    n_classes = x.shape[axis]
    eps = F.check_label_smoothing(label_smoothing, "cross_entropy")
    w = F.check_class_weights(weight, "cross_entropy")
    if w is not None and w.shape != (n_classes,):
        raise ValueError(f"cross_entropy: weight must have shape ({n_classes},), one weight per class, got {w.shape}")
    if eps:
        q = q * (1 - eps) + eps / n_classes
    terms = ad.log_softmax(x, axis=axis) * q
    if w is not None:
        terms = terms * w.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    return _reduced(-terms.sum(axis=axis), reduction)


def is_probabilities(target: Any, shape: tuple[int, ...]) -> bool:
    """Whether a cross-entropy target holds class probabilities: floats of the input's own shape, as torch decides."""
    if isinstance(target, Tensor):  # floats always; its shape, not its data (a compiled call would read that)
        return target.shape == tuple(shape)
    return np.shape(target) == tuple(shape) and np.asarray(target).dtype.kind == "f"


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """E = Σ t (log t − x) for log-probabilities x and probabilities t (0 where t = 0): torch's kl_div.

    `log_target=True` takes log t instead: E = Σ eᵗ (t − x). `reduction` "batchmean" divides the sum
    by the batch size (the true KL divergence per sample); "mean" by the number of elements, as torch.

    >>> import numpy as np, autodiff as ad, nn
    >>> round(nn.functional.kl_div(ad.Tensor(np.log([[0.5, 0.5]])), ad.Tensor([[0.9, 0.1]]), reduction="sum").item(), 4)
    0.368
    """
    if reduction != "batchmean":
        F.check_reduction(reduction, "kl_div")
    F._same_shape(input, target, "kl_div")
    x, t = _tensor(input), _tensor(target)
    if log_target:
        losses = ad.exp(t) * (t - x)
    else:
        zero = t == 0  # a comparison of Tensors: a compiled kl_div runs eagerly rather than keep one call's mask
        # t log t with 0 log 0 = 0; log of a harmless 1 where t = 0, so its gradient cannot be NaN
        losses = ad.where(zero, 0.0, t * ad.log(ad.where(zero, 1.0, t))) - t * x
    if reduction == "batchmean":
        total = losses.sum()
        return total if x.ndim == 0 or x.shape[0] == 0 else total * (1.0 / x.shape[0])
    return _reduced(losses, reduction)


def _difference(input: Any, target: Any, name: str, reduction: str) -> Tensor:
    F.check_reduction(reduction, name)
    F._same_shape(input, target, name)
    return _tensor(input) - target


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """E = (1/N) Σₙ |yₙ − tₙ|;  δ_y = sign(y − t) / N (0 where y = t)"""
    return _reduced(ad.abs(_difference(input, target, "l1_loss", reduction)), reduction)


def _positive(value: Any, what: str, name: str, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: {what} must be a number, got {type(value).__name__}")
    if not (value >= 0 if allow_zero else value > 0):
        raise ValueError(f"{name}: {what} must be {'≥ 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Eₙ = ½ dₙ² / β where |dₙ| < β, else |dₙ| − ½β (d = y − t): torch's smooth_l1_loss (β = 0: l1_loss)."""
    beta = _positive(beta, "beta", "smooth_l1_loss", allow_zero=True)
    d = _difference(input, target, "smooth_l1_loss", reduction)
    a = ad.abs(d)
    if beta == 0:
        return _reduced(a, reduction)
    m = ad.clip(a, hi=beta)  # |d| below β, else β: ½m²/β + (|d| − m) is either branch, with no mask
    return _reduced((0.5 / beta) * (m * m) + (a - m), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Eₙ = ½ dₙ² where |dₙ| < δ, else δ (|dₙ| − ½δ) (d = y − t): torch's huber_loss (β·smooth_l1 with β = δ)."""
    delta = _positive(delta, "delta", "huber_loss", allow_zero=False)
    d = _difference(input, target, "huber_loss", reduction)
    a = ad.abs(d)
    m = ad.clip(a, hi=delta)  # |d| below δ, else δ: ½m² + δ(|d| − m) is either branch, with no mask
    return _reduced(0.5 * (m * m) + delta * (a - m), reduction)


class NLLLoss(_Loss):
    """E = −Σₙ w_{tₙ} xₙ[tₙ] / Σₙ w_{tₙ} for log-probabilities x: `nn.functional.nll_loss` as a layer.

    `weight` is kept as the buffer `weight`, as in torch.
    """

    def __init__(self, reduction: str = "mean", *, weight: Any = None, ignore_index: int = -100) -> None:
        name = type(self).__name__
        reduction = F.check_reduction(reduction, name)
        w = F.check_class_weights(weight, name)
        self.ignore_index = F.check_ignore_index(ignore_index, name)
        self.weight = None if w is None else Buffer(w.copy())
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    """E = Σ t (log t − x) for log-probabilities x: `nn.functional.kl_div` as a layer (reduction also "batchmean")."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        if reduction != "batchmean":
            F.check_reduction(reduction, "KLDivLoss")
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input: Any, target: Any) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)


class L1Loss(_Loss):
    """E = (1/N) Σₙ |yₙ − tₙ|"""

    _fn = staticmethod(l1_loss)


class SmoothL1Loss(_Loss):
    """Eₙ = ½ dₙ² / β where |dₙ| < β, else |dₙ| − ½β"""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = _positive(beta, "beta", "SmoothL1Loss", allow_zero=True)

    def forward(self, input: Any, target: Any) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Eₙ = ½ dₙ² where |dₙ| < δ, else δ (|dₙ| − ½δ)"""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = _positive(delta, "delta", "HuberLoss", allow_zero=False)

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)
