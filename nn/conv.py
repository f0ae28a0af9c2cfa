"""Convolution and pooling over images (N, C, H, W), torch's semantics: Conv2d, MaxPool2d, AvgPool2d, Flatten.

im2col by slicing: each of the kh·kw kernel offsets is one strided slice of the padded input, and
stacking them gives the patches (N, C, kh·kw, H_out, W_out). A convolution is then one matmul of
the patches with the weights, a pooling one max or mean over the offsets. Slices, stack, matmul,
max and mean are differentiable ops, so every gradient (and gradient of a gradient) comes from the
engine. Max pooling splits the gradient between tied maxima (torch gives it to the first): the
same wherever a tie sits on a ReLU's zeros, as it does after a ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.module import Module
from nn.parameter import Parameter


def _pair(value: Any, what: str, owner: str, low: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low for v in pair):
        raise ValueError(f"{owner}: {what} must be an int ≥ {low} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _pad(x: Tensor, padding: tuple[int, int], value: float) -> Tensor:
    """x with `padding` rows and columns of `value` on each side of its last two axes."""
    ph, pw = padding
    if ph:
        rows = np.full((*x.shape[:2], ph, x.shape[3]), value, x.dtype)
        x = ad.concatenate([rows, x, rows], axis=2)
    if pw:
        cols = np.full((*x.shape[:3], pw), value, x.dtype)
        x = ad.concatenate([cols, x, cols], axis=3)
    return x


def patches(x: Any, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int], owner: str,
            fill: float = 0.0) -> Tensor:
    """The (N, C, kh·kw, H_out, W_out) windows of x (N, C, H, W), H_out = ⌊(H + 2p − kh) / s⌋ + 1."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected input of shape (N, C, H, W), got {x.shape}")
    (kh, kw), (sh, sw) = kernel, stride
    x = _pad(x, padding, fill)
    h_out, w_out = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{owner}: the kernel {kernel} is larger than the padded input {x.shape[2:]}")
    windows = [x[:, :, i:i + sh * (h_out - 1) + 1:sh, j:j + sw * (w_out - 1) + 1:sw] for i in range(kh) for j in range(kw)]
    return ad.stack(windows, axis=2)


class Conv2d(Module):
    """y[n, o] = b_o + Σ_c Σ_ij w[o, c, i, j] x[n, c, s·h + i − p, s·w + j − p]: torch's Conv2d (a cross-correlation).

    Weights (out_channels, in_channels, kh, kw) and biases start uniform in ±1/√(in_channels·kh·kw), as torch's.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], stride: Any = 1,
                 padding: Any = 0, bias: bool = True, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Conv2d: {what} must be a positive int, got {n!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _pair(stride, "stride", "Conv2d", 1)
        self.padding = _pair(padding, "padding", "Conv2d", 0)
        rng = ad.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        self.weight = Parameter(rng.uniform(-bound, bound, (out_channels, in_channels, *self.kernel_size)), dtype=dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels), dtype=dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        p = patches(x, self.kernel_size, self.stride, self.padding, "Conv2d")  # (N, C, K, H', W')
        n, c, k, h, w = p.shape
        cols = p.reshape(n, c * k, h * w).transpose(0, 2, 1)  # (N, H'W', C·K), in the weights' (c, i, j) order
        y = cols @ self.weight.reshape(self.out_channels, c * k).T  # (N, H'W', O)
        if self.bias is not None:
            y = y + self.bias
        return y.transpose(0, 2, 1).reshape(n, self.out_channels, h, w)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")


class _Pool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        owner = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", owner, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", owner, 1)
        self.padding = _pair(padding, "padding", owner, 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{owner}: padding {self.padding} must be at most half the kernel {self.kernel_size}")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y[n, c, h, w] = max over the window of x (padding is −∞): torch's MaxPool2d; stride defaults to the kernel."""

    def forward(self, x: Any) -> Tensor:
        return patches(x, self.kernel_size, self.stride, self.padding, "MaxPool2d", fill=-np.inf).max(axis=2)


class AvgPool2d(_Pool2d):
    """y[n, c, h, w] = mean over the window of x, padding counted as zeros: torch's AvgPool2d (count_include_pad)."""

    def forward(self, x: Any) -> Tensor:
        return patches(x, self.kernel_size, self.stride, self.padding, "AvgPool2d").mean(axis=2)


class Flatten(Module):
    """y = x reshaped to keep the axes before `start_dim` and join `start_dim` … `end_dim` into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        start, end = self.start_dim % max(x.ndim, 1), self.end_dim % max(x.ndim, 1)
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for {x.ndim} axes")
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
