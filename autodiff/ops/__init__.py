"""Every differentiable op, each as a function of Tensors (also reachable as Tensor methods)."""

from autodiff.ops.activations import erf, gelu, leaky_relu, softplus
from autodiff.ops.arithmetic import add, div, matmul, mul, neg, pow, sub
from autodiff.ops.elementwise import abs, clip, cos, exp, log, maximum, minimum, relu, sigmoid, sin, sqrt, tanh
from autodiff.ops.neural import log_softmax, softmax
from autodiff.ops.reductions import logsumexp, max, mean, min, sum
from autodiff.ops.shape import astype, broadcast_to, concatenate, getitem, reshape, scatter, stack, transpose, where

# isort: split
# elementwise, rounding, reductions and statistics (issue 24, the op surface)
from autodiff.ops.algebraic import cbrt, fabs, hypot, reciprocal, square
from autodiff.ops.logexp import exp2, expm1, log1p, log2, log10, logaddexp
from autodiff.ops.products import cumprod, cumsum, prod
from autodiff.ops.rounding import ceil, floor, floor_divide, fmod, remainder, rint, round, sign, trunc
from autodiff.ops.statistics import all, any, argmax, argmin, average, nanmean, nansum, norm, std, var, vector_norm
from autodiff.ops.trigonometric import (
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cosh,
    deg2rad,
    rad2deg,
    sinc,
    sinh,
    tan,
)

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "div", "erf", "exp", "gelu", "getitem",
    "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pow",
    "relu", "reshape", "scatter", "sigmoid", "sin", "softmax", "softplus", "sqrt", "stack", "sub", "sum", "tanh",
    "transpose", "where",
]

# shape, indexing and linear algebra (issue 24)
from autodiff.ops.contractions import dot, inner, kron, outer, tensordot, vdot
from autodiff.ops.einsum import einsum
from autodiff.ops.indexing import (
    argsort,
    diag,
    diagonal,
    gather,
    sort,
    take,
    take_along_axis,
    trace,
    tril,
    triu,
)
from autodiff.ops.indexing import (
    sort_with_indices as sort_with_indices,
)
from autodiff.ops.joining import array_split, cat, chunk, column_stack, dstack, hstack, split, vstack

# for Tensor methods (x.det(), x.inverse()); the public names are in ad.linalg
from autodiff.ops.linalg import cholesky as cholesky
from autodiff.ops.linalg import det as det
from autodiff.ops.linalg import inv as inv
from autodiff.ops.linalg import pinv as pinv
from autodiff.ops.movement import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    expand,
    expand_dims,
    flatten,
    flip,
    fliplr,
    flipud,
    moveaxis,
    permute,
    ravel,
    repeat,
    roll,
    squeeze,
    swapaxes,
    tile,
    unsqueeze,
    view,
)
from autodiff.ops.padding import pad

__all__ += [
    "argsort", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "cat", "chunk", "column_stack", "diag",
    "diagonal", "dot", "dstack", "einsum", "expand", "expand_dims", "flatten", "flip", "fliplr", "flipud", "gather",
    "hstack", "inner", "kron", "moveaxis", "outer", "pad", "permute", "ravel", "repeat", "roll", "sort", "split",
    "squeeze", "swapaxes", "take", "take_along_axis", "tensordot", "tile", "trace", "tril", "triu", "unsqueeze",
    "vdot", "view", "vstack",
]

# PyTorch's names for the same ops (issue 24, the op surface)
asin, acos, atan, atan2, asinh, acosh, atanh = arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh
__all__ += [
    "acos", "acosh", "all", "any", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax",
    "argmin", "asin", "asinh", "atan", "atan2", "atanh", "average", "cbrt", "ceil", "cosh", "cumprod", "cumsum",
    "deg2rad", "exp2", "expm1", "fabs", "floor", "floor_divide", "fmod", "hypot", "log1p", "log2", "log10", "logaddexp",
    "nanmean", "nansum", "norm", "prod", "rad2deg", "reciprocal", "remainder", "rint", "round", "sign", "sinc", "sinh",
    "square", "std", "tan", "trunc", "var", "vector_norm",
]
