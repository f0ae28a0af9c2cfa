"""Flatten: join axes into one, as torch's `nn.Flatten`."""

from __future__ import annotations

from typing import Any

from autodiff import Tensor
from nn.modules.module import Module


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Flatten(Module):
    """y = x reshaped to keep the axes before `start_dim` and join `start_dim` … `end_dim` into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        x = _tensor(x)
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for {x.ndim} axes")
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
