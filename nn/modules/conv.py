"""Convolution and pooling over images (N, C, H, W), torch's semantics: Conv2d, MaxPool2d, AvgPool2d, Flatten.

im2col is one op, `unfold` (a strided view of the padded input, copied once into patches
(N, H_out, W_out, C, kh, kw)), whose VJP is its adjoint `fold` (col2im: kh·kw strided additions),
and the other way round, so gradients of any order exist. A convolution is then one matmul of the
patches with the weights, a pooling one max or mean over the window. Max pooling splits the
gradient between tied maxima (torch gives it to the first): the same wherever a tie sits on a
ReLU's zeros, as it does after a ReLU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import autodiff as ad
from autodiff import Tensor
from autodiff.op import op
from nn.modules.linear import _linear
from nn.modules.module import Module
from nn.parameter import Parameter


def _pair(value: Any, what: str, owner: str, low: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low for v in pair):
        raise ValueError(f"{owner}: {what} must be an int ≥ {low} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


# ---------------------------------------------------------------------- im2col and its adjoint as ops
def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


@op(name="unfold")
def unfold(x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), fill=0.0):
    """im2col: z[n, h, w, c, i, j] = x[n, c, s·h + i − p, s·w + j − p] (padding is `fill`);  δ_x = fold(δ_z)"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, hh, ww = x.shape
    xp = np.full((n, c, hh + 2 * ph, ww + 2 * pw), fill, x.dtype) if ph or pw else x
    if ph or pw:
        xp[:, :, ph:ph + hh, pw:pw + ww] = x
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, H', W', kh, kw), a view
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)), (x.shape, kernel, stride, padding)


@op(name="fold")
def fold(z, shape=None, kernel=(1, 1), stride=(1, 1), padding=(0, 0)):
    """col2im, the adjoint of unfold: x[n, c, y, x] = Σ of the z entries that unfold copied from there;  δ_z = unfold(δ_x)"""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, hh, ww = shape
    h_out, w_out = z.shape[1], z.shape[2]
    out = np.zeros((n, c, hh + 2 * ph, ww + 2 * pw), z.dtype)
    zt = z.transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, H', W')
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * (h_out - 1) + 1:sh, j:j + sw * (w_out - 1) + 1:sw] += zt[:, :, i, j]
    return out[:, :, ph:ph + hh, pw:pw + ww], (kernel, stride, padding)


unfold.vjp(lambda g, shape, kernel, stride, padding: fold(g, shape, kernel, stride, padding).data)
unfold.graph_vjp(lambda g, z, xs, saved: fold(g, *saved))
fold.vjp(lambda g, kernel, stride, padding: unfold(g, kernel, stride, padding).data)
fold.graph_vjp(lambda g, z, xs, saved: unfold(g, *saved))


def patches(x: Any, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int], owner: str,
            fill: float = 0.0) -> Tensor:
    """The (N, H_out, W_out, C, kh, kw) windows of x (N, C, H, W), H_out = ⌊(H + 2p − kh) / s⌋ + 1."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected input of shape (N, C, H, W), got {x.shape}")
    h_out = _out_size(x.shape[2], kernel[0], stride[0], padding[0])
    w_out = _out_size(x.shape[3], kernel[1], stride[1], padding[1])
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{owner}: the kernel {kernel} is larger than the padded input {x.shape[2:]} + {padding}")
    return unfold(x, kernel, stride, padding, fill)


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
        p = patches(x, self.kernel_size, self.stride, self.padding, "Conv2d")  # (N, H', W', C, kh, kw)
        n, h, w = p.shape[:3]
        k = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        cols, weight = p.reshape(n * h * w, k), self.weight.reshape(self.out_channels, k)  # the weights' (c, i, j) order
        # one 2-D product, Linear's fused op: its weight gradient is one matmul, not one per image summed
        y = cols @ weight.T if self.bias is None else _linear(cols, weight, self.bias)
        return y.reshape(n, h, w, self.out_channels).transpose(0, 3, 1, 2)

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


def _pooled(p: Tensor, how: str) -> Tensor:
    """(N, H', W', C, kh, kw) windows reduced to (N, C, H', W')."""
    n, h, w, c = p.shape[:4]
    flat = p.reshape(n, h, w, c, -1)
    return (flat.max(axis=4) if how == "max" else flat.mean(axis=4)).transpose(0, 3, 1, 2)


class MaxPool2d(_Pool2d):
    """y[n, c, h, w] = max over the window of x (padding is −∞): torch's MaxPool2d; stride defaults to the kernel."""

    def forward(self, x: Any) -> Tensor:
        return _pooled(patches(x, self.kernel_size, self.stride, self.padding, "MaxPool2d", fill=-np.inf), "max")


class AvgPool2d(_Pool2d):
    """y[n, c, h, w] = mean over the window of x, padding counted as zeros: torch's AvgPool2d (count_include_pad)."""

    def forward(self, x: Any) -> Tensor:
        return _pooled(patches(x, self.kernel_size, self.stride, self.padding, "AvgPool2d"), "mean")


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
