"""Convolutions, torch's semantics: conv1d / conv2d and Conv1d / Conv2d (the transposed ones: `conv_transpose`).

A convolution is `unfold` (im2col, nn.modules.im2col) and one matmul of the patches with the
weights; with groups, one batched matmul over the groups. A transposed convolution is the
adjoint: one matmul spreads every input pixel over a kernel-sized patch, and `fold` adds the
overlapping patches. 1-D is 2-D with a height of 1. Padding modes other than zeros pad first
(`nn.functional.pad`), as torch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.modules.im2col import fold, out_size, unfold
from nn.modules.linear import _linear
from nn.modules.module import Module
from nn.modules.padding import pad
from nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "conv1d", "conv2d", "fold", "unfold"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ints(value: Any, n: int, what: str, owner: str, low: int) -> tuple[int, ...]:
    """An int or n of them, each ≥ low, as an n-tuple, or a ValueError naming `what`."""
    one = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    try:
        ints = (value,) * n if one else tuple(value)
    except TypeError:
        ints = ()
    if len(ints) != n or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low for v in ints):
        raise ValueError(f"{owner}: {what} must be an int ≥ {low} or {n} of them, got {value!r}")
    return tuple(int(v) for v in ints)


def _pair(value: Any, what: str, owner: str, low: int) -> tuple[int, int]:
    return _ints(value, 2, what, owner, low)  # type: ignore[return-value]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _padding(padding: Any, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], owner: str
             ) -> tuple[tuple[int, int], ...]:
    """The (before, after) padding of each spatial axis: ints, or "valid" (none) or "same" (output size = input size)."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{owner}: padding='same' needs stride 1, got stride {stride}")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)  # torch puts the odd one after
        raise ValueError(f"{owner}: padding must be an int, a tuple of ints, 'valid' or 'same', got {padding!r}")
    return tuple((p, p) for p in _ints(padding, len(kernel), "padding", owner, 0))


# ---------------------------------------------------------------------- convolution
def _conv2d(x: Tensor, weight: Any, bias: Any, stride: tuple[int, int], padding: tuple, dilation: tuple[int, int],
            groups: int, owner: str) -> Tensor:
    """y[n, o] = b_o + Σ_c Σ_ij w[o, c, i, j] x[n, g·C/G + c, s·h + d·i − p, s·w + d·j − p], o in group g."""
    weight = _tensor(weight)
    if weight.ndim != 4:
        raise ValueError(f"{owner}: weight must have shape (out_channels, in_channels/groups, kh, kw), got {weight.shape}")
    if x.ndim != 4:
        raise ValueError(f"{owner}: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    out_c, c_g, kh, kw = weight.shape
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 or out_c % groups:
        raise ValueError(f"{owner}: groups must be a positive int dividing out_channels {out_c}, got {groups!r}")
    if x.shape[1] != c_g * groups:
        raise ValueError(f"{owner}: input has {x.shape[1]} channels, weight {weight.shape} with groups={groups} "
                         f"expects {c_g * groups}")
    (pt, pb), (pl, pr) = padding
    h_out = out_size(x.shape[2], kh, stride[0], pt, pb, dilation[0])
    w_out = out_size(x.shape[3], kw, stride[1], pl, pr, dilation[1])
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{owner}: the kernel {(kh, kw)} (dilation {dilation}) is larger than the padded input "
                         f"{x.shape[2:]} + {padding}")
    sym = pt == pb and pl == pr
    p = unfold(x, (kh, kw), stride, (pt, pl) if sym else padding, 0.0, dilation)  # (N, H', W', C, kh, kw)
    n = x.shape[0]
    k = c_g * kh * kw
    if groups == 1:
        # one 2-D product, Linear's fused op: its weight gradient is one matmul, not one per image summed
        cols, w = p.reshape(n * h_out * w_out, k), weight.reshape(out_c, k)  # the weights' (c, i, j) order
        if bias is None:
            y = cols @ w.T
        else:
            y = _linear(cols, w, _tensor(bias))
    else:  # one product per group, batched: (G, M, k) @ (G, k, O/G)
        cols = p.reshape(n * h_out * w_out, groups, k).transpose(1, 0, 2)
        w = weight.reshape(groups, out_c // groups, k).transpose(0, 2, 1)
        y = (cols @ w).transpose(1, 0, 2).reshape(n * h_out * w_out, out_c)
        if bias is not None:
            y = y + bias
    return y.reshape(n, h_out, w_out, out_c).transpose(0, 3, 1, 2)


def _batched(x: Any, ndim: int, owner: str) -> tuple[Tensor, bool]:
    """x with a batch axis (torch takes one unbatched sample too), and whether one was added."""
    x = _tensor(x)
    if x.ndim == ndim - 1:
        return x.reshape(1, *x.shape), True
    if x.ndim != ndim:
        raise ValueError(f"{owner}: expected input with {ndim} dimensions (or {ndim - 1} unbatched), got shape {x.shape}")
    return x, False


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """y[n, o, h, w] = b_o + Σ_c Σ_ij w[o, c, i, j] x[n, c, s·h + d·i − p, s·w + d·j − p]: torch's conv2d.

    `padding` is an int, a pair, "valid" or "same"; `groups` splits the channels into groups that
    each see their own C/groups inputs (weight (out_channels, in_channels/groups, kh, kw)).

    >>> import numpy as np, nn
    >>> nn.functional.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))).data
    array([[[[4., 4.],
             [4., 4.]]]])
    """
    x, added = _batched(input, 4, "conv2d")
    kernel = tuple(_tensor(weight).shape[2:])
    stride, dilation = _pair(stride, "stride", "conv2d", 1), _pair(dilation, "dilation", "conv2d", 1)
    y = _conv2d(x, weight, bias, stride, _padding(padding, kernel, stride, dilation, "conv2d"), dilation, groups, "conv2d")
    return y[0] if added else y


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           groups: int = 1) -> Tensor:
    """y[n, o, l] = b_o + Σ_c Σ_i w[o, c, i] x[n, c, s·l + d·i − p]: torch's conv1d, as conv2d of height 1."""
    x, added = _batched(input, 3, "conv1d")
    weight = _tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must have shape (out_channels, in_channels/groups, k), got {weight.shape}")
    (s,), (d,) = _ints(stride, 1, "stride", "conv1d", 1), _ints(dilation, 1, "dilation", "conv1d", 1)
    (p,) = _padding(padding, weight.shape[2:], (s,), (d,), "conv1d")
    y = _conv2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]), weight.reshape(*weight.shape[:2], 1, weight.shape[2]),
                bias, (1, s), ((0, 0), p), (1, d), groups, "conv1d")
    y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y[0] if added else y


def _check_output_padding(output_padding: tuple, stride: tuple, dilation: tuple, owner: str) -> None:
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{owner}: output_padding {output_padding} must be smaller than the stride {stride} or the "
                         f"dilation {dilation}")


class _ConvNd(Module):
    _n = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 rng: np.random.Generator | None = None, dtype: Any = None, *, transposed: bool = False,
                 output_padding: Any = 0) -> None:
        owner = type(self).__name__
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{owner}: {what} must be a positive int, got {n!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{owner}: groups ({groups}) must divide in_channels ({in_channels}) and out_channels "
                             f"({out_channels})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{owner}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, "
                             f"got {padding_mode!r}")
        if transposed and padding_mode != "zeros":
            raise ValueError(f"{owner}: only padding_mode='zeros' is supported, as in torch")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _ints(kernel_size, self._n, "kernel_size", owner, 1)
        self.stride = _ints(stride, self._n, "stride", owner, 1)
        self.dilation = _ints(dilation, self._n, "dilation", owner, 1)
        if isinstance(padding, str):
            if transposed:
                raise ValueError(f"{owner}: padding must be ints, got {padding!r}")
            _padding(padding, self.kernel_size, self.stride, self.dilation, owner)  # refuse a bad one now
            self.padding = padding
        else:
            self.padding = _ints(padding, self._n, "padding", owner, 0)
        self.padding_mode = padding_mode
        if transposed:
            self.output_padding = _ints(output_padding, self._n, "output_padding", owner, 0)
            _check_output_padding(self.output_padding, self.stride, self.dilation, owner)
        shape = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        rng = ad.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(shape[1] * np.prod(self.kernel_size))  # torch's: 1/√fan_in, fan_in from weight.shape[1]
        self.weight = Parameter(rng.uniform(-bound, bound, (*shape, *self.kernel_size)), dtype=dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels), dtype=dtype) if bias else None

    def _checked(self, x: Any) -> Tensor:
        x = _tensor(x)
        if x.ndim not in (self._n + 1, self._n + 2) or x.shape[-self._n - 1] != self.in_channels:
            dims = ", ".join(("L",) if self._n == 1 else ("H", "W"))
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, {dims}), got {x.shape}")
        return x

    def _padded(self, x: Any) -> tuple[Any, Any]:
        """The input and the padding left for the convolution: a non-zeros mode pads here, as torch does."""
        x = self._checked(x)
        if self.padding_mode == "zeros":
            return x, self.padding
        per_axis = _padding(self.padding, self.kernel_size, self.stride, self.dilation, type(self).__name__)
        widths = tuple(w for before_after in reversed(per_axis) for w in before_after)  # torch's order: last axis first
        x, added = _batched(x, self._n + 2, type(self).__name__)
        x = pad(x, widths, mode=self.padding_mode)
        return (x[0] if added else x), 0

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            text += f", padding={self.padding!r}"
        if getattr(self, "output_padding", (0,) * self._n) != (0,) * self._n:
            text += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._n:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text + f", bias={self.bias is not None}"


class Conv2d(_ConvNd):
    """y[n, o] = b_o + Σ_c Σ_ij w[o, c, i, j] x[n, c, s·h + d·i − p, s·w + d·j − p]: torch's Conv2d (a cross-correlation).

    Weights (out_channels, in_channels/groups, kh, kw) and biases start uniform in ±1/√(in_channels/groups·kh·kw),
    as torch's. `padding` is ints, "valid" or "same"; `padding_mode` zeros, reflect, replicate or circular.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         rng, dtype)

    def forward(self, x: Any) -> Tensor:
        x, padding = self._padded(x)
        return conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """y[n, o, l] = b_o + Σ_c Σ_i w[o, c, i] x[n, c, s·l + d·i − p]: torch's Conv1d over signals (N, C, L)."""

    _n = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         rng, dtype)

    def forward(self, x: Any) -> Tensor:
        x, padding = self._padded(x)
        return conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)
