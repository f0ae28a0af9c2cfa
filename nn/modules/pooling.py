"""Pooling, torch's semantics: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d and their modules.

Max and average pooling reduce the windows that `unfold` copies out (padding −∞ for the max, 0 for
the mean). With `ceil_mode` a last, partial window is kept when it starts inside the input or its
left padding; torch's average then divides by the part of the window inside the padded input
(`count_include_pad`) or inside the input alone. Adaptive average pooling averages the windows
[⌊i·n/m⌋, ⌈(i+1)·n/m⌉) of each axis: a product of one averaging matrix per axis. Max pooling
splits the gradient between tied maxima (torch gives it to the first): the same wherever a tie
sits on a ReLU's zeros, as it does after a ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor
from nn.modules.conv import _batched, _ints, _pair
from nn.modules.im2col import unfold
from nn.modules.module import Module

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def _pool_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = d * (k - 1) + 1
    out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:  # the last window must start inside the input or its left padding
        out -= 1
    return out


class _Geometry:
    """A pooling's kernel, stride, padding, dilation and ceil_mode on (H, W), checked once."""

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, owner: str) -> None:
        self.owner = owner
        self.kernel = _pair(kernel_size, "kernel_size", owner, 1)
        self.stride = self.kernel if stride is None or stride == () else _pair(stride, "stride", owner, 1)
        self.padding = _pair(padding, "padding", owner, 0)
        self.dilation = _pair(dilation, "dilation", owner, 1)
        self.ceil_mode = bool(ceil_mode)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel)):
            raise ValueError(f"{owner}: padding {self.padding} must be at most half the kernel {self.kernel}")

    def windows(self, x: Tensor, fill: float) -> Tensor:
        """The (N, H', W', C, kh, kw) windows, with the extra right padding a ceil_mode window needs."""
        if x.ndim != 4:
            raise ValueError(f"{self.owner}: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
        sizes = [_pool_size(n, k, s, p, d, self.ceil_mode)
                 for n, k, s, p, d in zip(x.shape[2:], self.kernel, self.stride, self.padding, self.dilation)]
        if min(sizes) < 1:
            raise ValueError(f"{self.owner}: the kernel {self.kernel} is larger than the padded input "
                             f"{x.shape[2:]} + {self.padding}")
        sides = []
        for n, m, k, s, p, d in zip(x.shape[2:], sizes, self.kernel, self.stride, self.padding, self.dilation):
            sides.append((p, max(p, (m - 1) * s + d * (k - 1) + 1 - n - p)))
        padding = tuple(sides) if any(a != b for a, b in sides) else self.padding
        return unfold(x, self.kernel, self.stride, padding, fill, self.dilation)

    def divisor(self, out: tuple[int, int], shape: tuple[int, int], count_include_pad: bool, dtype: Any) -> np.ndarray:
        """torch's divisor of each window's sum: its size inside the padded input, or inside the input alone."""
        per_axis = []
        for m, n, k, s, p in zip(out, shape, self.kernel, self.stride, self.padding):
            start = np.arange(m) * s - p
            end = np.minimum(start + k, n + p)
            size = end - start
            if not count_include_pad:
                size = np.minimum(end, n) - np.maximum(start, 0)
            per_axis.append(size)
        return np.multiply.outer(*per_axis).astype(dtype)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """y[n, c, h, w] = max of x over the window at (s·h − p, s·w − p) (padding is −∞): torch's max_pool2d."""
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    x, added = _batched(input, 4, "max_pool2d")
    geometry = _Geometry(kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    p = geometry.windows(x, -np.inf)
    n, h, w, c = p.shape[:4]
    y = p.reshape(n, h, w, c, -1).max(axis=4).transpose(0, 3, 1, 2)
    return y[0] if added else y


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n, c, h, w] = mean of x over the window (padding counts as zeros with `count_include_pad`): torch's avg_pool2d."""
    x, added = _batched(input, 4, "avg_pool2d")
    geometry = _Geometry(kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    p = geometry.windows(x, 0.0)
    n, h, w, c = p.shape[:4]
    flat = p.reshape(n, h, w, c, -1)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) or divisor_override < 1:
            raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got {divisor_override!r}")
        y = flat.sum(axis=4) * (1.0 / int(divisor_override))
    elif not ceil_mode and (count_include_pad or geometry.padding == (0, 0)):
        y = flat.mean(axis=4)  # every window whole
    else:
        y = flat.sum(axis=4) / geometry.divisor((h, w), x.shape[2:], count_include_pad, x.dtype)[:, :, None]
    y = y.transpose(0, 3, 1, 2)
    return y[0] if added else y


def _as_2d(x: Any, owner: str) -> tuple[Tensor, bool]:
    x, added = _batched(x, 3, owner)
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), added


def _from_2d(y: Tensor, added: bool) -> Tensor:
    y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y[0] if added else y


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """y[n, c, l] = max of x over the window at s·l − p: torch's max_pool1d, as max_pool2d of height 1."""
    o = "max_pool1d"
    (k,) = _ints(kernel_size, 1, "kernel_size", o, 1)
    s = k if stride is None or stride == () else _ints(stride, 1, "stride", o, 1)[0]
    x, added = _as_2d(input, o)
    y = max_pool2d(x, (1, k), (1, s), (0, _ints(padding, 1, "padding", o, 0)[0]),
                   (1, _ints(dilation, 1, "dilation", o, 1)[0]), ceil_mode, return_indices)
    return _from_2d(y, added)


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """y[n, c, l] = mean of x over the window at s·l − p: torch's avg_pool1d, as avg_pool2d of height 1."""
    o = "avg_pool1d"
    (k,) = _ints(kernel_size, 1, "kernel_size", o, 1)
    s = k if stride is None or stride == () else _ints(stride, 1, "stride", o, 1)[0]
    x, added = _as_2d(input, o)
    y = avg_pool2d(x, (1, k), (1, s), (0, _ints(padding, 1, "padding", o, 0)[0]), ceil_mode, count_include_pad)
    return _from_2d(y, added)


def _averaging(n: int, m: int, dtype: Any) -> np.ndarray:
    """The (m, n) matrix whose row i averages [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)."""
    a = np.zeros((m, n), dtype)
    for i in range(m):
        start, end = (i * n) // m, -(-((i + 1) * n) // m)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _output_size(output_size: Any, shape: tuple[int, ...], owner: str) -> tuple[int, ...]:
    k = len(shape)
    sizes = (output_size,) * k if output_size is None or isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != k:
        raise ValueError(f"{owner}: output_size must be an int or {k} of them (None keeps an axis), got {output_size!r}")
    sizes = tuple(n if m is None else m for m, n in zip(sizes, shape))
    if any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 for m in sizes):
        raise ValueError(f"{owner}: output_size must be positive ints, got {output_size!r}")
    return tuple(int(m) for m in sizes)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """y = A_H x A_Wᵀ, A's row i averaging the window [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) of its axis: torch's adaptive_avg_pool2d."""
    x, added = _batched(input, 4, "adaptive_avg_pool2d")
    if min(x.shape[2:], default=0) < 1:
        raise ValueError(f"adaptive_avg_pool2d: the input's spatial axes must not be empty, got shape {x.shape}")
    oh, ow = _output_size(output_size, x.shape[2:], "adaptive_avg_pool2d")
    y = _averaging(x.shape[2], oh, x.dtype) @ x @ _averaging(x.shape[3], ow, x.dtype).T
    return y[0] if added else y


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    """y = x A_Lᵀ, row i of A averaging the window [⌊i·n/m⌋, ⌈(i+1)·n/m⌉): torch's adaptive_avg_pool1d."""
    x, added = _batched(input, 3, "adaptive_avg_pool1d")
    if x.shape[2] < 1:
        raise ValueError(f"adaptive_avg_pool1d: the input's length must not be 0, got shape {x.shape}")
    (m,) = _output_size(output_size, x.shape[2:], "adaptive_avg_pool1d")
    y = x @ _averaging(x.shape[2], m, x.dtype).T
    return y[0] if added else y


# ---------------------------------------------------------------------- modules
class _Pool(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False, **options: Any
                 ) -> None:
        n = 1 if type(self).__name__.endswith("1d") else 2
        owner = type(self).__name__
        self.kernel_size = _ints(kernel_size, n, "kernel_size", owner, 1)
        self.stride = self.kernel_size if stride is None else _ints(stride, n, "stride", owner, 1)
        self.padding = _ints(padding, n, "padding", owner, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{owner}: padding {self.padding} must be at most half the kernel {self.kernel_size}")
        self.ceil_mode = bool(ceil_mode)
        for name, value in options.items():
            setattr(self, name, value)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class MaxPool2d(_Pool):
    """y[n, c, h, w] = max over the window of x (padding is −∞): torch's MaxPool2d; stride defaults to the kernel."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        if return_indices:
            raise ValueError("MaxPool2d: return_indices=True is not supported")
        super().__init__(kernel_size, stride, padding, ceil_mode, dilation=_pair(dilation, "dilation", "MaxPool2d", 1))

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class MaxPool1d(_Pool):
    """y[n, c, l] = max over the window of x (padding is −∞): torch's MaxPool1d over (N, C, L)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        if return_indices:
            raise ValueError("MaxPool1d: return_indices=True is not supported")
        super().__init__(kernel_size, stride, padding, ceil_mode, dilation=_ints(dilation, 1, "dilation", "MaxPool1d", 1))

    def forward(self, x: Any) -> Tensor:
        return max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class AvgPool2d(_Pool):
    """y[n, c, h, w] = mean over the window of x: torch's AvgPool2d (ceil_mode, count_include_pad, divisor_override)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad=bool(count_include_pad),
                         divisor_override=divisor_override)

    def forward(self, x: Any) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)


class AvgPool1d(_Pool):
    """y[n, c, l] = mean over the window of x: torch's AvgPool1d over (N, C, L)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad=bool(count_include_pad))

    def forward(self, x: Any) -> Tensor:
        return avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """y of spatial size `output_size` (an int, or (H', W') with None keeping an axis), each value a window's mean."""

    def __init__(self, output_size: Any) -> None:
        _output_size(output_size, (1, 1), "AdaptiveAvgPool2d")  # refuse a bad one now
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """y of length `output_size`, each value the mean of a window of about L / output_size values."""

    def __init__(self, output_size: int) -> None:
        _output_size(output_size, (1,), "AdaptiveAvgPool1d")
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        return adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

