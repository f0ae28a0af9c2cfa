"""Learning-rate schedules with torch.optim.lr_scheduler's names and exact arithmetic.

A scheduler changes `group["lr"]` of its optimizer's parameter groups; call `scheduler.step()`
once an epoch, after `optimizer.step()` (`ReduceLROnPlateau.step(metric)` with the held-out loss).
Making one records each group's `initial_lr` and counts as epoch 0, as in torch. Each keeps its
state in plain numbers (`state_dict()` / `load_state_dict()`), so a checkpoint can hold it.

>>> import nn
>>> opt = nn.SGD([nn.Parameter([1.0])], lr=1.0)
>>> sched = nn.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> for _ in range(4):
...     opt.step(); sched.step()
>>> sched.get_last_lr()
[0.25]
"""

from __future__ import annotations

import math
from typing import Any

from nn.optim.optimizer import Optimizer, hyper

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "ReduceLROnPlateau", "StepLR"]


def _optimizer(optimizer: Any, owner: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an nn optimizer such as nn.SGD(...), got a {type(optimizer).__name__}")
    return optimizer


class _Stateful:
    """`state_dict()` is every attribute but the optimizer; `load_state_dict` checks the keys first."""

    optimizer: Optimizer

    def state_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ours = self.state_dict()
        if not isinstance(state, dict) or set(state) != set(ours):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected the keys {sorted(ours)}, got "
                f"{sorted(state) if isinstance(state, dict) else type(state).__name__}; nothing was loaded"
            )
        vars(self).update({k: (list(v) if isinstance(v, list) else v) for k, v in state.items()})


class LRScheduler(_Stateful):
    """Base class: `step()` moves to the next epoch and sets every group's lr to `_next_lr(...)`."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = _optimizer(optimizer, type(self).__name__)
        for group in self.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in self.optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def _next_lr(self, lr: float, base_lr: float) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Next epoch: every group's lr as the schedule says."""
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._next_lr(group["lr"], base)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """Each group's lr as the last `step()` set it."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """η ← γη every `step_size` epochs: η_e = η₀ γ^⌊e / step_size⌋."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, hyper(gamma, "gamma", "StepLR")
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        e = self.last_epoch
        return lr if e == 0 or e % self.step_size else lr * self.gamma


class ExponentialLR(LRScheduler):
    """η ← γη every epoch: η_e = η₀ γᵉ."""

    def __init__(self, optimizer: Any, gamma: float) -> None:
        self.gamma = hyper(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        return lr if self.last_epoch == 0 else lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """η_e = η_min + (η₀ − η_min)(1 + cos(πe / T_max)) / 2, in torch's recursive form (restarting
    upwards after T_max), so the values agree with torch's to the last bit."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, hyper(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer)

    def _next_lr(self, lr: float, base_lr: float) -> float:
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        if e == 0:
            return lr
        if (e - 1 - t) % (2 * t) == 0:
            return lr + (base_lr - lo) * (1 - math.cos(math.pi / t)) / 2
        return (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) * (lr - lo) + lo


class ReduceLROnPlateau(_Stateful):
    """η ← max(factor · η, min_lr) once the metric has not improved for more than `patience` epochs.

    Exactly torch's: improvement is relative (`threshold_mode="rel"`: better than best·(1 ∓
    threshold)) or absolute; after a cut it waits `cooldown` epochs; a cut smaller than `eps` is
    not made.
    """

    def __init__(
        self,
        optimizer: Any,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        self.optimizer = _optimizer(optimizer, "ReduceLROnPlateau")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.factor = hyper(factor, "factor", "ReduceLROnPlateau", 1.0)
        for name, n in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an int ≥ 0, got {n!r}")
        groups = self.optimizer.param_groups
        lows = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(lows) != len(groups):
            raise ValueError(f"ReduceLROnPlateau: {len(lows)} min_lr values for {len(groups)} parameter groups")
        self.min_lrs = [hyper(v, "min_lr", "ReduceLROnPlateau") for v in lows]
        self.mode, self.threshold_mode = mode, threshold_mode
        self.threshold, self.eps = hyper(threshold, "threshold", "ReduceLROnPlateau"), hyper(eps, "eps", "ReduceLROnPlateau")
        self.patience, self.cooldown = patience, cooldown
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in groups]

    def _better(self, a: float) -> bool:
        best, th = self.best, self.threshold
        if self.mode == "min":
            return a < best * (1 - th) if self.threshold_mode == "rel" else a < best - th
        return a > best * (th + 1) if self.threshold_mode == "rel" else a > best + th

    def step(self, metrics: Any) -> None:
        """One epoch's metric (the held-out loss in mode "min"): cut every group's lr after a plateau."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number, got {metrics!r:.40}") from None
        self.last_epoch += 1
        if self._better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """Each group's lr after the last `step()`."""
        return list(self._last_lr)
