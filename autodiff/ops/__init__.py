"""Every differentiable op, each as a function of Tensors (also reachable as Tensor methods)."""

from autodiff.ops.activations import erf, gelu, leaky_relu, softplus
from autodiff.ops.arithmetic import add, div, matmul, mul, neg, pow, sub
from autodiff.ops.elementwise import abs, clip, cos, exp, log, maximum, minimum, relu, sigmoid, sin, sqrt, tanh
from autodiff.ops.neural import log_softmax, softmax
from autodiff.ops.reductions import logsumexp, max, mean, min, sum
from autodiff.ops.shape import astype, broadcast_to, concatenate, getitem, reshape, scatter, stack, transpose, where

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "div", "erf", "exp", "gelu", "getitem",
    "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pow",
    "relu", "reshape", "scatter", "sigmoid", "sin", "softmax", "softplus", "sqrt", "stack", "sub", "sum", "tanh",
    "transpose", "where",
]

# shape, indexing and linear algebra (issue 24)
from autodiff.ops.einsum import einsum
from autodiff.ops.padding import pad

__all__ += ["einsum", "pad"]
