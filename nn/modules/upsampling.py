"""Resizing, torch's semantics: `nn.functional.interpolate` and `Upsample` (nearest, linear, bilinear).

Nearest picks x at src = min(⌊dst · scale⌋, n − 1), with torch's scale in float32 (1/scale_factor
when given, else n/m), so the same pixels are picked. Linear interpolation is separable: along
each axis y = A x with A's row i holding (1 − λ, λ) at (i₀, i₀ + 1), src = dst·(n − 1)/(m − 1) with
align_corners, else (dst + ½)·scale − ½ clamped at 0; bilinear is A_H x A_Wᵀ, and its gradient
A_Hᵀ δ A_W comes from matmul.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autodiff import Tensor
from nn.modules.module import Module

__all__ = ["Upsample", "interpolate"]

MODES = {"nearest": None, "linear": 1, "bilinear": 2}


def _sizes(x: Tensor, size: Any, scale_factor: Any, k: int) -> tuple[list[int], list[float | None]]:
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = [size] * k if isinstance(size, (int, np.integer)) else list(size)
        if len(sizes) != k or any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 for m in sizes):
            raise ValueError(f"interpolate: size must be a positive int or {k} of them, got {size!r}")
        return [int(m) for m in sizes], [None] * k
    scales = [scale_factor] * k if np.ndim(scale_factor) == 0 else list(scale_factor)
    if len(scales) != k or any(isinstance(s, bool) or not isinstance(s, (int, float, np.number)) or not s > 0
                               for s in scales):
        raise ValueError(f"interpolate: scale_factor must be a positive number or {k} of them, got {scale_factor!r}")
    sizes = [math.floor(n * float(s)) for n, s in zip(x.shape[2:], scales)]
    if min(sizes) < 1:
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} leaves no output for input {x.shape}")
    return sizes, [float(s) for s in scales]


def _nearest_index(n: int, m: int, scale: float | None) -> np.ndarray:
    """torch's nearest source index for each of m outputs, computed in float32 as torch does."""
    if m == n:
        return np.arange(m)
    if m == 2 * n:
        return np.arange(m) >> 1
    s = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(m)
    return np.minimum(np.floor(np.arange(m, dtype=np.float32) * s).astype(np.int64), n - 1)


def _linear_matrix(n: int, m: int, scale: float | None, align_corners: bool, dtype: Any) -> np.ndarray:
    """The (m, n) matrix of linear interpolation weights, torch's source positions."""
    dst = np.arange(m, dtype=np.float64)
    if align_corners:
        src = dst * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        s = 1.0 / scale if scale else n / m
        src = np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    a = np.zeros((m, n), dtype)
    rows = np.arange(m)
    a[rows, i0] += 1 - lam
    a[rows, i1] += lam
    return a


def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """x resized to `size` (or by `scale_factor`) over its spatial axes: torch's interpolate.

    `mode` "nearest" (any of (N, C, L) and (N, C, H, W)), "linear" ((N, C, L)) or "bilinear"
    ((N, C, H, W)), with `align_corners` as torch: True maps the corner pixels' centres onto each
    other, False (the default) their outer edges.

    >>> import numpy as np, nn
    >>> nn.functional.interpolate(np.array([[[1.0, 3.0]]]), scale_factor=2, mode="linear").data
    array([[[1. , 1.5, 2.5, 3. ]]])
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if mode not in MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if x.ndim not in (3, 4) or (MODES[mode] is not None and x.ndim != MODES[mode] + 2):
        want = {None: "(N, C, L) or (N, C, H, W)", 1: "(N, C, L)", 2: "(N, C, H, W)"}[MODES[mode]]
        raise ValueError(f"interpolate: mode {mode!r} takes input of shape {want}, got {x.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to the linear modes")
    k = x.ndim - 2
    sizes, scales = _sizes(x, size, scale_factor, k)
    if recompute_scale_factor:
        scales = [None] * k
    if min(x.shape[2:]) < 1:
        raise ValueError(f"interpolate: the input's spatial axes must not be empty, got shape {x.shape}")
    if mode == "nearest":
        index = [_nearest_index(n, m, s) for n, m, s in zip(x.shape[2:], sizes, scales)]
        out = x[:, :, index[0]]
        return out if k == 1 else out[:, :, :, index[1]]
    a = [_linear_matrix(n, m, s, bool(align_corners), x.dtype) for n, m, s in zip(x.shape[2:], sizes, scales)]
    out = x @ a[-1].T
    return out if k == 1 else a[0] @ out


class Upsample(Module):
    """Resize by `scale_factor` or to `size`: `interpolate` as a layer (mode nearest, linear or bilinear)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"Upsample: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Any) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}" + (f", align_corners={self.align_corners}" if self.align_corners else "")
