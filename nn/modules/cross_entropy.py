"""cross_entropy with PyTorch's name and options, as one fused op: E = −Σₙ log softmax(zₙ)_tₙ (÷ N),
δ_z = (softmax(z) − onehot(t)) / N; with it the checks of class indices, class weights, ignore_index
and label smoothing that nll_loss and the loss modules share. Re-exported by nn.functional.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.op import op
from autodiff.tracing import checks_class_indices, replay_check, tracing
from autodiff.zero_safe import masked
from nn.functional import _reduce, _scaled, _shape, check_reduction
from nn.modules.loss import _soft_cross_entropy, is_probabilities


def _class_indices(target: Any, logits_shape: tuple[int, ...], ignore_index: int, name: str) -> tuple[np.ndarray, bool]:
    """`target` as an int array of class indices matching the logits, or a clear error; and whether
    any of them is `ignore_index`. Classes are on axis 1 of (N, C, d₁, …), axis 0 of (C,)."""
    t = target.data if isinstance(target, Tensor) else target
    try:
        t = np.asarray(t)
    except (ValueError, TypeError):
        raise TypeError(f"{name}: target must be an array of integer class indices, got {type(target).__name__}") from None
    n_classes = logits_shape[1] if len(logits_shape) > 1 else logits_shape[0]
    expected = logits_shape[:1] + logits_shape[2:] if len(logits_shape) > 1 else ()
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
    ignored = False
    if t.size:
        if 0 <= ignore_index < n_classes:  # an ignored class: one more pass, only then
            ignored = bool((t == ignore_index).any())
        if t.min() < 0 or t.max() >= n_classes:
            bad = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
            if bad.any():
                raise ValueError(
                    f"{name}: class index {int(t[bad][0])} is out of range for {n_classes} classes "
                    f"(0..{n_classes - 1}) and is not ignore_index ({ignore_index})"
                )
            ignored = True
    return t, ignored


@checks_class_indices
def _ignored_targets(t: Any, shape: tuple, ignore_index: int) -> bool:
    """`_class_indices`'s choice for a replay of a compiled cross_entropy (its errors included).

    A compiled step runs it on every step, after the step before has flushed the caches: the
    common case (integer targets of the right shape, all in range, ignore_index no class) is
    answered by one reduction (int64 targets seen as uint64, where a negative one is past every
    class) or two, anything else by `_class_indices` itself."""
    a = t.data if type(t) is Tensor else t
    many = len(shape) > 1
    n_classes = shape[1] if many else shape[0]
    if (type(a) is np.ndarray and a.dtype.kind in "iu" and a.size and not 0 <= ignore_index < n_classes
            and a.shape == (shape[:1] + shape[2:] if many else ())):
        if a.dtype == _INT64:
            if np.maximum.reduce(a.view(np.uint64), axis=None) < n_classes:
                return False
        elif np.minimum.reduce(a, axis=None) >= 0 and np.maximum.reduce(a, axis=None) < n_classes:
            return False
    return _class_indices(t, shape, ignore_index, "cross_entropy")[1]


_INT64 = np.dtype(np.int64)  # native byte order: its uint64 view reads the same bits


def check_ignore_index(ignore_index: Any, name: str) -> int:
    """`ignore_index` as an int (the target value whose samples a loss skips), or a TypeError."""
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{name}: ignore_index must be an int, got {type(ignore_index).__name__} {ignore_index!r}")
    return int(ignore_index)


def check_label_smoothing(label_smoothing: Any, name: str) -> float:
    """`label_smoothing` ε as a float in [0, 1], or a TypeError or ValueError."""
    if isinstance(label_smoothing, (bool, np.bool_)) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{name}: label_smoothing must be a number in [0, 1], got {type(label_smoothing).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:  # NaN too
        raise ValueError(f"{name}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)  # a Python float: weak, so float32 stays float32


def check_class_weights(weight: Any, name: str) -> np.ndarray | None:
    """`weight` as a 1-D array of class weights (constants: no gradient), or a clear error; None stays None."""
    if weight is None:
        return None
    if isinstance(weight, Tensor):
        if weight.requires_grad:
            raise RuntimeError(
                f"{name}: weight requires grad, but class weights are constants here (as in PyTorch): "
                "pass weight.detach()"
            )
        w = weight.data
    else:
        try:
            w = np.asarray(weight)
        except (ValueError, TypeError):
            raise TypeError(f"{name}: weight must be a 1-D array of class weights, got {type(weight).__name__}") from None
        if w.dtype.kind not in "iuf":
            raise TypeError(f"{name}: weight must hold real numbers, got dtype {w.dtype}")
    if w.ndim != 1:
        raise ValueError(f"{name}: weight must be a 1-D array, one weight per class, got shape {w.shape}")
    return w


@op(name="cross_entropy")
def _cross_entropy(logits, target=None, reduction="mean", options=None):
    """E = −Σₙ log softmax(aₙ)[tₙ] (÷N for the mean);  δ_a = (softmax(a) − onehot(t)) δ_E (÷N)

    This is the plain case, (N, C) or (C,) logits and nothing else; with `options` =
    (weight, ignore_index, label_smoothing) see `_cross_entropy_options`.
    """
    if options is not None:
        return _cross_entropy_options(logits, target, reduction, *options)
    z = logits - logits.max(axis=-1, keepdims=True)  # shifted by the maximum: exp cannot overflow
    p = np.exp(z)
    s = p.sum(axis=-1, keepdims=True)
    p /= s
    # Where each target logit sits: index `picked` picks z_{n, t_n} (and onehot's ones).
    picked = target if logits.ndim == 1 else (np.arange(len(target)), target)
    losses = np.log(s[..., 0]) - z[picked]
    out, scale = _reduce(np.asarray(losses), reduction)
    return out, (p, picked, scale, reduction)


def _cross_entropy_options(logits, t, reduction, w, ignore_index, eps):
    """PyTorch's cross-entropy with class weights w, ignored targets and label smoothing ε.

    Sample n (an index (n, i₁, …) for logits (N, C, d₁, …)) has the unnormalised target distribution
    qₙ = (1 − ε) w_{tₙ} onehot(tₙ) + (ε/C) w, or qₙ = 0 where tₙ = ignore_index (w = 1 without
    weights). With pₙ = softmax(aₙ) over the classes and αₙ = Σₖ qₙₖ:
    Eₙ = −Σₖ qₙₖ log pₙₖ,  δ_aₙ = (αₙ pₙ − qₙ) δ_Eₙ;  the mean divides Σₙ Eₙ by Σₙ w_{tₙ} over the
    targets not ignored (the number of them without weights).
    """
    axis = 1 if logits.ndim > 1 else 0
    n_classes = logits.shape[axis]
    z = logits - logits.max(axis=axis, keepdims=True)
    p = np.exp(z)
    s = p.sum(axis=axis, keepdims=True)
    p /= s
    dtype = p.dtype
    keep = None if ignore_index is None else t != ignore_index
    if keep is not None:
        t = np.where(keep, t, 0)  # any class: its q is 0
    # (tₙ,) for one sample, else the index (n, tₙ, i₁, …) of each target logit, as open grids
    grids = np.ix_(*(np.arange(n) for n in t.shape))
    picked = (t,) if axis == 0 else (grids[0], t, *grids[1:])
    w = None if w is None else w.astype(dtype, copy=False)
    wt = np.ones(t.shape, dtype) if w is None else w[t]  # w_{tₙ}
    if keep is not None:
        wt = wt * keep
    log_s = np.log(np.squeeze(s, axis))
    on = (1 - eps) * wt  # q's weight on the target class
    alpha, spread = on, None
    with np.errstate(invalid="ignore"):  # 0 · ∞ of a −∞ logit: NaN as in PyTorch, or ignored (0 below)
        losses = on * (log_s - z[picked])
        if eps:
            c = eps / n_classes if keep is None else keep * np.asarray(eps / n_classes, dtype)  # q per unit of w
            w_b = 1 if w is None else w.reshape((-1,) + (1,) * (logits.ndim - axis - 1))  # w along the class axis
            spread = (c if keep is None else np.expand_dims(c, axis)) * w_b  # the (ε/C) w part of q, broadcastable
            w_sum = n_classes if w is None else w.sum()
            losses = losses + c * (w_sum * log_s - (z * w_b).sum(axis=axis))
            alpha = on + c * w_sum
    if keep is not None:
        losses = np.where(keep, losses, 0)  # exactly 0, also when a skipped logit is −∞
        keep = np.expand_dims(keep, axis)
    out, scale = _reduce(np.asarray(losses), reduction, total=wt.sum())
    return out, (p, picked, scale, reduction, (axis, np.expand_dims(alpha, axis), on, spread, keep))


@_cross_entropy.vjp
def _(g, p, picked, scale, reduction, options=None):
    s = _scaled(g, scale, reduction)
    if options is not None:
        axis, alpha, on, spread, keep = options
        sb = np.expand_dims(s, axis) if reduction == "none" else s  # per sample, along the class axis
        d = p * (alpha * sb)  # αₙ pₙ − qₙ, times δ
        d[picked] -= on * s
        if spread is not None:
            d -= spread * sb
        if keep is not None:
            np.copyto(d, 0, where=~keep)  # an ignored target passes on nothing, whatever its δ (NaN too)
        return d
    d = p * (s[:, None] if reduction == "none" and p.ndim == 2 else s)  # fresh: p stays intact for a second backward
    d[picked] -= s
    return d


@_cross_entropy.graph_vjp
def _(g, z, xs, saved):
    p, picked, scale, reduction = saved[:4]
    axis, alpha, on, spread, keep = saved[4] if len(saved) > 4 else (p.ndim - 1, 1, 1, None, None)
    q = np.zeros_like(p)
    q[picked] = on
    if spread is not None:
        q += spread
    s = g * scale
    if reduction == "none":  # one δ per sample, along the class axis
        s = s.reshape((*p.shape[:axis], 1, *p.shape[axis + 1:]))
    d = (ad.softmax(xs[0], axis=axis) * alpha - q) * s
    return d if keep is None else ad.where(keep, d, 0.0)


def _ce_unused(g: np.ndarray, p: np.ndarray, *saved: Any) -> np.ndarray:
    """Below a `where`: the logits whose sample's loss has δ = 0 (classes on axis 1, or the one
    reduced loss), for the zero-safe rule (autodiff.zero_safe)."""
    unused = np.asarray(g) == 0
    if unused.ndim == 0:
        return unused.reshape((1,) * p.ndim)
    return np.expand_dims(unused, 1 if p.ndim > 1 else 0)


_cross_entropy.zero_safe_vjp(masked(_ce_unused))


def cross_entropy(
    input: Any,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Tensor:
    """E = −(1/N) Σₙ log softmax(aₙ)[tₙ] for logits `input` (N, C) and class indices `target` (N,), as PyTorch's.

    Also one logit vector (C,) with one class index, and logits (N, C, d₁, …) with targets
    (N, d₁, …): classes on axis 1, each position a sample (`reduction="none"` gives (N, d₁, …)).
    Computed through a stable log-softmax, so any finite logits give a finite loss. The options,
    with PyTorch's meaning (sample n has the target distribution qₙ, and Eₙ = −Σₖ qₙₖ log pₙₖ):

    - `weight`: C class weights w (constants): qₙ = w_{tₙ} onehot(tₙ), and the mean is the weighted
      mean Σₙ Eₙ / Σₙ w_{tₙ}.
    - `ignore_index`: targets equal to it have qₙ = 0 (loss and gradient exactly 0) and do not
      count in the mean. If every target is ignored, or the weights of those counted add up to 0,
      the mean is NaN, as in PyTorch, and so is the gradient, except for ignored samples' logits,
      which get 0. An empty batch's mean is 0, as for every loss here (PyTorch: NaN).
    - `label_smoothing` ε in [0, 1]: qₙ = (1 − ε) w_{tₙ} onehot(tₙ) + (ε/C) w, the mean still divided
      by Σₙ w_{tₙ}.

    The gradient is δ_aₙ = (Σₖ qₙₖ · pₙ − qₙ) δ_Eₙ: (softmax − onehot) / N with no options.

    A `target` of floats with the logits' own shape holds class probabilities (soft labels), as in
    torch: Eₙ = −Σₖ wₖ q̃ₙₖ log pₙₖ with q̃ = (1 − ε) q + ε/C, the mean over samples (not weights),
    and a gradient for the target too when it requires one.

    >>> import autodiff as ad, nn
    >>> round(nn.functional.cross_entropy(ad.Tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    >>> nn.functional.cross_entropy(ad.Tensor([[0.0, 0.0], [5.0, 0.0]]), [1, -100], reduction="none").data.round(4)
    array([0.6931, 0.    ])
    """
    check_reduction(reduction, "cross_entropy")
    shape = _shape(input)
    if not shape or shape[1 if len(shape) > 1 else 0] == 0:
        raise ValueError(f"cross_entropy: logits must have shape (C,), (N, C) or (N, C, d1, ...) with C ≥ 1, got {shape}")
    if is_probabilities(target, shape):  # class probabilities, not indices: torch decides by shape and dtype
        return _soft_cross_entropy(input, target, reduction, weight, label_smoothing)
    if type(ignore_index) is not int:
        ignore_index = check_ignore_index(ignore_index, "cross_entropy")
    t, ignored = _class_indices(target, shape, ignore_index, "cross_entropy")
    if tracing():  # under ad.compile: every replay checks its own targets and chooses the same path
        replay_check(_ignored_targets, (t, shape, ignore_index), ignored)
    if weight is None and not ignored and len(shape) <= 2 and type(label_smoothing) is float and label_smoothing == 0.0:
        return _cross_entropy(input, target=t, reduction=reduction)  # the plain case: the fast path
    eps = check_label_smoothing(label_smoothing, "cross_entropy")
    w = check_class_weights(weight, "cross_entropy")
    n_classes = shape[1 if len(shape) > 1 else 0]
    if w is not None and w.shape != (n_classes,):
        raise ValueError(
            f"cross_entropy: weight must have shape ({n_classes},), one weight per class, for logits of shape "
            f"{shape}, got shape {w.shape}"
        )
    return _cross_entropy(input, target=t, reduction=reduction, options=(w, ignore_index if ignored else None, eps))
