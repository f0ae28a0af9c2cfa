"""Transposed convolutions, torch's semantics: conv_transpose1d / conv_transpose2d and ConvTranspose1d / ConvTranspose2d.

The adjoint of a convolution in its input: one matmul spreads every input pixel over a
kernel-sized patch of weights, and `fold` (col2im) adds the overlapping patches; `padding` crops
the result, `output_padding` adds rows and columns at the end. 1-D is 2-D with a height of 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor
from nn.modules.conv import _batched, _check_output_padding, _ConvNd, _ints, _pair, _tensor
from nn.modules.im2col import fold

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "conv_transpose1d", "conv_transpose2d"]


def _conv_transpose2d(x: Tensor, weight: Any, bias: Any, stride: tuple, padding: tuple, output_padding: tuple,
                      groups: int, dilation: tuple, owner: str) -> Tensor:
    """The adjoint of conv2d in its input: every x[n, c, h, w] adds x · w[c, o] into the patch at (s·h − p, s·w − p)."""
    weight = _tensor(weight)
    if weight.ndim != 4:
        raise ValueError(f"{owner}: weight must have shape (in_channels, out_channels/groups, kh, kw), got {weight.shape}")
    in_c, o_g, kh, kw = weight.shape
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 or in_c % groups:
        raise ValueError(f"{owner}: groups must be a positive int dividing in_channels {in_c}, got {groups!r}")
    if x.ndim != 4 or x.shape[1] != in_c:
        raise ValueError(f"{owner}: expected input of shape (N, {in_c}, H, W) for weight {weight.shape}, got {x.shape}")
    _check_output_padding(output_padding, stride, dilation, owner)
    n, _, h, w = x.shape
    size = [(m - 1) * s - 2 * p + d * (k - 1) + op + 1
            for m, s, p, d, k, op in zip((h, w), stride, padding, dilation, (kh, kw), output_padding)]
    if min(size) < 1:
        raise ValueError(f"{owner}: padding {padding} leaves no output for input {x.shape[2:]} (output size {size})")
    rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, in_c)
    if groups == 1:
        z = rows @ weight.reshape(in_c, o_g * kh * kw)
    else:  # (G, M, C/G) @ (G, C/G, O/G·kh·kw), per group
        z = (rows.reshape(n * h * w, groups, in_c // groups).transpose(1, 0, 2)
             @ weight.reshape(groups, in_c // groups, o_g * kh * kw)).transpose(1, 0, 2)
    out_c = o_g * groups
    y = fold(z.reshape(n, h, w, out_c, kh, kw), (n, out_c, *size), (kh, kw), stride, padding, dilation)
    return y if bias is None else y + _tensor(bias).reshape(1, out_c, 1, 1)


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch's conv_transpose2d: the gradient of conv2d with respect to its input, as a layer.

    Weight (in_channels, out_channels/groups, kh, kw); output size (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.
    """
    x, added = _batched(input, 4, "conv_transpose2d")
    o = "conv_transpose2d"
    y = _conv_transpose2d(x, weight, bias, _pair(stride, "stride", o, 1), _pair(padding, "padding", o, 0),
                          _pair(output_padding, "output_padding", o, 0), groups, _pair(dilation, "dilation", o, 1), o)
    return y[0] if added else y


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch's conv_transpose1d, as conv_transpose2d of height 1; weight (in_channels, out_channels/groups, k)."""
    o = "conv_transpose1d"
    x, added = _batched(input, 3, o)
    weight = _tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"{o}: weight must have shape (in_channels, out_channels/groups, k), got {weight.shape}")
    (s,), (p,) = _ints(stride, 1, "stride", o, 1), _ints(padding, 1, "padding", o, 0)
    (op,), (d,) = _ints(output_padding, 1, "output_padding", o, 0), _ints(dilation, 1, "dilation", o, 1)
    y = _conv_transpose2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]),
                          weight.reshape(*weight.shape[:2], 1, weight.shape[2]), bias, (1, s), (0, p), (0, op), groups,
                          (1, d), o)
    y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y[0] if added else y


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d and ConvTranspose2d share: torch's constructor, and a forward through `_fn`."""

    _fn: Any

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         rng, dtype, transposed=True, output_padding=output_padding)

    def forward(self, x: Any) -> Tensor:
        return type(self)._fn(self._checked(x), self.weight, self.bias, self.stride, self.padding, self.output_padding,
                              self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """torch's ConvTranspose2d: weight (in_channels, out_channels/groups, kh, kw), init ±1/√(out_channels/groups·kh·kw)."""

    _fn = conv_transpose2d


class ConvTranspose1d(_ConvTransposeNd):
    """torch's ConvTranspose1d over signals (N, C, L): weight (in_channels, out_channels/groups, k)."""

    _n = 1
    _fn = conv_transpose1d
