"""One ONNX writer per layer kind: `write(graph, module, x) -> y`, the names of the tensors in and out.

ONNX float attributes are float32, so a setting that float32 cannot hold exactly (LeakyReLU's 0.01,
SELU's α) would be rounded: such activations are written as elementwise ops with their constants
as tensors in the model's dtype, which keeps float64 exports equal to ours to ~1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import nn
from nn.modules.activation_functions import SELU_ALPHA, SELU_SCALE
from nn.modules.conv import _padding


class Graph:
    """The nodes and initializers being written, in one float dtype."""

    def __init__(self, dtype: np.dtype) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype, self.nodes, self.weights, self._count = dtype, [], [], 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        name = self.name(hint)
        self.weights.append(self.numpy_helper.from_array(np.asarray(value, dtype or self.dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attributes))
        return out


def refuse(m: Any, why: str) -> TypeError:
    return TypeError(f"export_onnx: {type(m).__name__} {why}")


# ---------------------------------------------------------------------- activations
def _where_positive(g: Graph, x: str, negative: str) -> str:
    """x where x > 0, else `negative` (torch's branch condition for leaky ReLU, ELU, CELU)."""
    return g.op("Where", g.op("Greater", x, g.const(0.0)), x, negative)


def _elu(g: Graph, x: str, alpha: float, scale: float = 1.0) -> str:
    xs = x if scale == 1.0 else g.op("Mul", x, g.const(scale))
    return _where_positive(g, x, g.op("Mul", g.const(alpha), g.op("Sub", g.op("Exp", xs), g.const(1.0))))


def _log1pexp(g: Graph, x: str) -> str:
    """log(1 + eˣ) = max(x, 0) + log(1 + e^(−|x|)), which cannot overflow (and, unlike ONNX's Softplus, runs in float64)."""
    return g.op("Add", g.op("Max", x, g.const(0.0)), g.op("Log", g.op("Add", g.const(1.0), g.op("Exp", g.op("Neg", g.op("Abs", x))))))


def _softplus(g: Graph, m: Any, x: str) -> str:
    bx = g.op("Mul", x, g.const(m.beta))
    smooth = g.op("Div", _log1pexp(g, bx), g.const(m.beta))
    return g.op("Where", g.op("Greater", bx, g.const(m.threshold)), x, smooth)


def _gelu(g: Graph, m: Any, x: str) -> str:
    if m.approximate == "tanh":
        cube = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Mul", g.const(math.sqrt(2 / math.pi)), g.op("Add", x, g.op("Mul", g.const(0.044715), cube)))
        phi = g.op("Add", g.const(1.0), g.op("Tanh", inner))
    else:
        phi = g.op("Add", g.const(1.0), g.op("Erf", g.op("Mul", x, g.const(math.sqrt(0.5)))))
    return g.op("Mul", g.op("Mul", g.const(0.5), x), phi)


def _hardsigmoid(g: Graph, x: str) -> str:
    return g.op("Div", g.op("Clip", g.op("Add", x, g.const(3.0)), g.const(0.0), g.const(6.0)), g.const(6.0))


def _along(g: Graph, m: Any, x: str, op_type: str) -> str:
    if m.dim is None:
        raise refuse(m, "needs dim")
    return g.op(op_type, x, axis=int(m.dim))


ACTIVATIONS: dict[type, Callable[[Graph, Any, str], str]] = {
    nn.Tanh: lambda g, m, x: g.op("Tanh", x),
    nn.Sigmoid: lambda g, m, x: g.op("Sigmoid", x),
    nn.ReLU: lambda g, m, x: g.op("Relu", x),
    nn.Identity: lambda g, m, x: g.op("Identity", x),
    nn.Dropout: lambda g, m, x: g.op("Identity", x),  # inference: dropout is the identity
    nn.LeakyReLU: lambda g, m, x: _where_positive(g, x, g.op("Mul", x, g.const(m.negative_slope))),
    nn.ELU: lambda g, m, x: _elu(g, x, m.alpha),
    nn.CELU: lambda g, m, x: _elu(g, x, m.alpha, 1 / m.alpha),
    nn.SELU: lambda g, m, x: g.op("Mul", g.const(SELU_SCALE), _elu(g, x, SELU_ALPHA)),
    nn.Softplus: _softplus,
    nn.GELU: _gelu,
    nn.SiLU: lambda g, m, x: g.op("Mul", x, g.op("Sigmoid", x)),
    nn.Mish: lambda g, m, x: g.op("Mul", x, g.op("Tanh", _log1pexp(g, x))),
    nn.Hardtanh: lambda g, m, x: g.op("Clip", x, g.const(m.min_val), g.const(m.max_val)),
    nn.ReLU6: lambda g, m, x: g.op("Clip", x, g.const(0.0), g.const(6.0)),
    nn.Hardsigmoid: lambda g, m, x: _hardsigmoid(g, x),
    nn.Hardswish: lambda g, m, x: g.op("Mul", x, _hardsigmoid(g, x)),
    nn.Softsign: lambda g, m, x: g.op("Softsign", x),
    nn.LogSigmoid: lambda g, m, x: g.op("Neg", _log1pexp(g, g.op("Neg", x))),
    nn.Softmax: lambda g, m, x: _along(g, m, x, "Softmax"),
    nn.LogSoftmax: lambda g, m, x: _along(g, m, x, "LogSoftmax"),
    nn.Softmin: lambda g, m, x: _along(g, m, g.op("Neg", x), "Softmax"),
}


# ---------------------------------------------------------------------- layers with weights or windows
def _linear(g: Graph, m: Any, x: str) -> str:
    inputs = [x, g.const(m.weight.data, "weight")]
    if m.bias is not None:
        inputs.append(g.const(m.bias.data, "bias"))
    return g.op("Gemm", *inputs, transB=1)  # x Wᵀ + b


def _pads(per_axis: Any) -> list[int]:
    """((before, after) per axis) as ONNX's [begins…, ends…]."""
    return [b for b, _ in per_axis] + [a for _, a in per_axis]


def _conv(g: Graph, m: Any, x: str) -> str:
    per_axis = _padding(m.padding, m.kernel_size, m.stride, m.dilation, type(m).__name__)
    if m.padding_mode != "zeros":
        if m.padding_mode == "circular":
            raise refuse(m, "with padding_mode='circular' is not supported (ONNX's wrap padding needs opset 19)")
        pads = [0, 0, *(b for b, _ in per_axis), 0, 0, *(a for _, a in per_axis)]
        x = g.op("Pad", x, g.const(pads, "pads", np.int64), mode={"reflect": "reflect", "replicate": "edge"}[m.padding_mode])
        per_axis = [(0, 0)] * len(per_axis)
    inputs = [x, g.const(m.weight.data, "weight")] + ([g.const(m.bias.data, "bias")] if m.bias is not None else [])
    return g.op("Conv", *inputs, group=m.groups, dilations=list(m.dilation), kernel_shape=list(m.kernel_size),
                pads=_pads(per_axis), strides=list(m.stride))


def _conv_transpose(g: Graph, m: Any, x: str) -> str:
    inputs = [x, g.const(m.weight.data, "weight")] + ([g.const(m.bias.data, "bias")] if m.bias is not None else [])
    return g.op("ConvTranspose", *inputs, group=m.groups, dilations=list(m.dilation), kernel_shape=list(m.kernel_size),
                pads=_pads([(p, p) for p in m.padding]), strides=list(m.stride), output_padding=list(m.output_padding))


def _max_pool(g: Graph, m: Any, x: str) -> str:
    return g.op("MaxPool", x, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                pads=_pads([(p, p) for p in m.padding]), dilations=list(m.dilation), ceil_mode=int(m.ceil_mode))


def _avg_pool(g: Graph, m: Any, x: str) -> str:
    if getattr(m, "divisor_override", None) is not None:
        raise refuse(m, "with divisor_override is not supported")
    if m.ceil_mode:
        raise refuse(m, "with ceil_mode=True is not supported (ONNX runtimes divide its last window differently)")
    return g.op("AveragePool", x, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                pads=_pads([(p, p) for p in m.padding]), count_include_pad=int(m.count_include_pad))


def _adaptive(g: Graph, m: Any, x: str) -> str:
    sizes = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
    if any(s != 1 for s in sizes):
        raise refuse(m, f"with output_size {m.output_size} is not supported (only 1: GlobalAveragePool)")
    return g.op("GlobalAveragePool", x)


def _flatten(g: Graph, m: Any, x: str) -> str:
    if m.start_dim != 1 or m.end_dim != -1:
        raise refuse(m, "other than Flatten(1, -1) is not supported")
    return g.op("Flatten", x, axis=1)


def _batch_norm(g: Graph, m: Any, x: str) -> str:
    if m.running_mean is None:
        raise refuse(m, "without running statistics is not supported")
    c = m.num_features
    scale = m.weight.data if m.weight is not None else np.ones(c)
    bias = m.bias.data if m.bias is not None else np.zeros(c)
    return g.op("BatchNormalization", x, g.const(scale), g.const(bias), g.const(m.running_mean.data),
                g.const(m.running_var.data), epsilon=m.eps)


def _layer_norm(g: Graph, m: Any, x: str) -> str:
    shape = m.normalized_shape
    scale = m.weight.data if m.weight is not None else np.ones(shape)
    inputs = [x, g.const(scale)] + ([g.const(m.bias.data)] if m.bias is not None else [])
    return g.op("LayerNormalization", *inputs, axis=-len(shape), epsilon=m.eps)


def _pad(g: Graph, m: Any, x: str) -> str:
    k = len(m.padding) // 2
    widths = [(m.padding[2 * i], m.padding[2 * i + 1]) for i in range(k)][::-1]  # torch's order is last axis first
    pads = [0, 0, *(b for b, _ in widths), 0, 0, *(a for _, a in widths)]  # batched: (N, C, …)
    mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}.get(m._mode)
    if mode is None:
        raise refuse(m, "is not supported (ONNX's wrap padding needs opset 19)")
    inputs = [x, g.const(pads, "pads", np.int64)]
    if mode == "constant":
        inputs.append(g.const(m.value or 0.0, "value"))
    return g.op("Pad", *inputs, mode=mode)


def _upsample(g: Graph, m: Any, x: str) -> str:
    if m.mode == "nearest":
        modes = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        modes = {"mode": "linear",
                 "coordinate_transformation_mode": "align_corners" if m.align_corners else "pytorch_half_pixel"}
    k = 1 if m.mode == "linear" else 2
    if m.size is not None:
        sizes = [m.size] * k if isinstance(m.size, int) else list(m.size)
        batch_channels = g.op("Slice", g.op("Shape", x), g.const([0], "start", np.int64), g.const([2], "end", np.int64))
        full = g.op("Concat", batch_channels, g.const(sizes, "size", np.int64), axis=0)
        return g.op("Resize", x, "", "", full, **modes)
    if m.recompute_scale_factor:
        raise refuse(m, "with recompute_scale_factor=True is not supported")
    scales = [m.scale_factor] * k if np.ndim(m.scale_factor) == 0 else list(m.scale_factor)
    return g.op("Resize", x, "", g.const([1.0, 1.0, *scales], "scales", np.float32), **modes)


def _embedding(g: Graph, m: Any, x: str) -> str:
    return g.op("Gather", g.const(m.weight.data, "weight"), x, axis=0)


LAYERS: dict[type, Callable[[Graph, Any, str], str]] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.ConvTranspose1d: _conv_transpose,
    nn.ConvTranspose2d: _conv_transpose,
    nn.MaxPool1d: _max_pool,
    nn.MaxPool2d: _max_pool,
    nn.AvgPool1d: _avg_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool1d: _adaptive,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.Flatten: _flatten,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.Upsample: _upsample,
    nn.Embedding: _embedding,
    **{cls: _pad for cls in (nn.ZeroPad1d, nn.ZeroPad2d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ReflectionPad1d,
                             nn.ReflectionPad2d, nn.ReplicationPad1d, nn.ReplicationPad2d, nn.CircularPad1d,
                             nn.CircularPad2d)},
    **ACTIVATIONS,
}
