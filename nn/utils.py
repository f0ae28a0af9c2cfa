"""Gradient clipping, with torch.nn.utils' names: `clip_grad_norm_` and `clip_grad_value_`.

Both act on the `.grad` arrays between `backward()` and `optimizer.step()`. They replace each
`.grad` with a new array rather than writing into it (a gradient array may be shared).

>>> import numpy as np
>>> import nn
>>> w = nn.Parameter([0.0, 0.0]); w.grad = np.array([3.0, 4.0])
>>> float(nn.utils.clip_grad_norm_([w], max_norm=1.0))
5.0
>>> np.round(w.grad, 6).tolist()
[0.6, 0.8]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autodiff import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Any, owner: str) -> list[Tensor]:
    ps = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameters must be Tensors, such as model.parameters(); got a {type(p).__name__}")
    return [p for p in ps if p.grad is not None]


def _number(value: Any, name: str, owner: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r:.40}") from None


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together by min(1, max_norm / (‖g‖ + 10⁻⁶)), ‖g‖ the norm of all of them as one vector.

    `norm_type` is p of the p-norm (`inf` for the largest |gᵢ|). Returns the norm before clipping
    (a 0-d Tensor, as torch does). A NaN or infinite norm raises `RuntimeError` with
    `error_if_nonfinite`, and nothing changes.
    """
    owner = "clip_grad_norm_"
    max_norm, p = _number(max_norm, "max_norm", owner), _number(norm_type, "norm_type", owner)
    ps = _grads(parameters, owner)
    if not ps:
        return Tensor(0.0)
    norms = np.array([np.linalg.norm(q.grad.ravel(), ord=p) for q in ps], dtype=np.float64)
    total = float(np.linalg.norm(norms, ord=p))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{owner}: the total norm of the gradients is {total}; nothing was clipped (pass "
            "error_if_nonfinite=False to clip anyway)"
        )
    coef = min(max_norm / (total + 1e-6), 1.0)
    for q in ps:
        q.grad = q.grad * coef
    return Tensor(total, dtype=ps[0].grad.dtype)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into [−clip_value, clip_value]."""
    c = _number(clip_value, "clip_value", "clip_grad_value_")
    for q in _grads(parameters, "clip_grad_value_"):
        q.grad = np.clip(q.grad, -c, c)
