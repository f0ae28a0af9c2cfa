"""autodiff: a small, fast reverse-mode automatic differentiation engine on NumPy.

>>> import autodiff as ad
>>> x = ad.Tensor([1.0, 2.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([2., 4.])
"""

# The Tensor first: importing it binds the ops to its methods, and every other module needs it.
from autodiff.tensor import Tensor  # isort: split

from autodiff import functional, testing
from autodiff.anomaly import detect_anomaly
from autodiff.backward import grad
from autodiff.compiler import compile
from autodiff.creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    zeros,
    zeros_like,
)
from autodiff.grad_mode import enable_grad, is_grad_enabled, no_grad
from autodiff.graph import draw_graph, explain, save_graph
from autodiff.ops import (
    abs,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cos,
    div,
    einsum,
    erf,
    exp,
    gelu,
    getitem,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pad,
    pow,
    relu,
    reshape,
    scatter,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    stack,
    sub,
    sum,
    tanh,
    transpose,
    where,
)
from autodiff.random import default_rng, manual_seed

__version__ = "0.1.0"


def __getattr__(name: str):
    # SciPy is optional: `ad.optimize` loads on first use.
    if name == "optimize":
        import autodiff.optimize

        return autodiff.optimize
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """Same as `Tensor(data, requires_grad, dtype, name)`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


__all__ = [
    "Tensor",
    "__version__",
    "abs",
    "add",
    "arange",
    "astype",
    "broadcast_to",
    "clip",
    "compile",
    "concatenate",
    "cos",
    "default_rng",
    "detect_anomaly",
    "div",
    "draw_graph",
    "empty",
    "enable_grad",
    "erf",
    "exp",
    "explain",
    "eye",
    "full",
    "full_like",
    "functional",
    "gelu",
    "getitem",
    "grad",
    "is_grad_enabled",
    "leaky_relu",
    "linspace",
    "log",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "no_grad",
    "ones",
    "ones_like",
    "optimize",
    "pow",
    "rand",
    "randint",
    "randn",
    "relu",
    "reshape",
    "save_graph",
    "scatter",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "sub",
    "sum",
    "tanh",
    "tensor",
    "testing",
    "transpose",
    "where",
    "zeros",
    "zeros_like",
]
__all__ += ["einsum", "pad"]
