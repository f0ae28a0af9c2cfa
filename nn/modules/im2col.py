"""im2col and its adjoint as ops: `unfold` copies every window of an image into a row, `fold` adds rows back.

`unfold` is a strided view of the padded input, copied once into patches (N, H_out, W_out, C, kh, kw);
its VJP is its adjoint `fold` (col2im: kh·kw strided additions), and the other way round, so
gradients of any order exist. Convolutions, transposed convolutions and pooling are built on them.
Padding is (ph, pw) on both sides, or ((top, bottom), (left, right)); dilation d spreads the
kernel's taps d apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autodiff.op import op


def sides(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """(ph, pw) or ((top, bottom), (left, right)) as ((top, bottom), (left, right))."""
    return tuple((int(p), int(p)) if np.ndim(p) == 0 else (int(p[0]), int(p[1])) for p in padding)


def out_size(n: int, k: int, s: int, before: int, after: int, d: int = 1) -> int:
    """How many windows of k taps d apart fit, s apart, in n values padded by before + after."""
    return (n + before + after - d * (k - 1) - 1) // s + 1


@op(name="unfold")
def unfold(x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), fill=0.0, dilation=(1, 1)):
    """im2col: z[n, h, w, c, i, j] = x[n, c, s·h + d·i − p, s·w + d·j − p] (padding is `fill`);  δ_x = fold(δ_z)"""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (pt, pb), (pl, pr) = sides(padding)
    n, c, hh, ww = x.shape
    padded = pt or pb or pl or pr
    xp = np.full((n, c, hh + pt + pb, ww + pl + pr), fill, x.dtype) if padded else x
    if padded:
        xp[:, :, pt:pt + hh, pl:pl + ww] = x
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, H', W', span), a view
    if dh > 1 or dw > 1:
        windows = windows[..., ::dh, ::dw]
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)), (x.shape, kernel, stride, padding, dilation)


@op(name="fold")
def fold(z, shape=None, kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """col2im, the adjoint of unfold: x[n, c, y, x] = Σ of the z entries that unfold copied from there;  δ_z = unfold(δ_x)"""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (pt, pb), (pl, pr) = sides(padding)
    n, c, hh, ww = shape
    h_out, w_out = z.shape[1], z.shape[2]
    out = np.zeros((n, c, hh + pt + pb, ww + pl + pr), z.dtype)
    zt = z.transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, H', W')
    for i in range(kh):
        for j in range(kw):
            out[:, :, dh * i:dh * i + sh * (h_out - 1) + 1:sh, dw * j:dw * j + sw * (w_out - 1) + 1:sw] += zt[:, :, i, j]
    return out[:, :, pt:pt + hh, pl:pl + ww], (kernel, stride, padding, dilation, (h_out, w_out))


def _unfold_vjp(g, shape, kernel, stride, padding, dilation):
    return fold(g, shape, kernel, stride, padding, dilation).data


def _fold_vjp(g, kernel, stride, padding, dilation, counts):
    # A transposed convolution's output_padding can leave room for windows that z did not fill: cut them off.
    return unfold(g, kernel, stride, padding, 0.0, dilation).data[:, :counts[0], :counts[1]]


def _fold_graph_vjp(g, z, xs, saved):
    kernel, stride, padding, dilation, (h, w) = saved
    cols = unfold(g, kernel, stride, padding, 0.0, dilation)
    return cols if cols.shape[1:3] == (h, w) else cols[:, :h, :w]


unfold.vjp(_unfold_vjp)
unfold.graph_vjp(lambda g, z, xs, saved: fold(g, *saved))
fold.vjp(_fold_vjp)
fold.graph_vjp(_fold_graph_vjp)
