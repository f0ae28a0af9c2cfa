"""JAX-style transforms over functions of Tensors: grad, value_and_grad, jacobian, hessian, hvp.

Each takes the function's positional arguments (Tensors, arrays or numbers); the one(s) named by
`argnums` become fresh leaves to differentiate with respect to, unless they already are Tensors
that require grad, in which case they are used as they are so the transforms nest:
`grad(grad(f))(x)` is f''(x).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff.backward import grad as _grad
from autodiff.grad_mode import is_grad_enabled
from autodiff.ops.shape import stack
from autodiff.tensor import Tensor


def _prepare(args: Sequence[Any], argnums: int | Sequence[int]) -> tuple[list[Any], list[Tensor], bool]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    wrt = []
    nested = False
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"argnums {n} is out of range for {len(args)} positional arguments")
        a = args[n]
        if isinstance(a, Tensor) and a.requires_grad:
            nested = True  # someone outside may differentiate these gradients again
        else:
            a = Tensor(a, requires_grad=True)
            args[n] = a
        wrt.append(a)
    return args, wrt, nested and is_grad_enabled()


def _scalar(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor) or out.size != 1:
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"{who}: the function must return a one-element Tensor, got {shape}")
    return out


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[Tensor, Any]]:
    """`value_and_grad(f)(*args) -> (f(*args), ∂f/∂args[argnums])` for a one-element output.

    The gradient is a Tensor, or a tuple of them when `argnums` is a tuple.
    """

    def wrapped(*args: Any) -> tuple[Tensor, Any]:
        args, wrt, nested = _prepare(args, argnums)
        out = _scalar(f(*args), "value_and_grad")
        if not out.requires_grad:
            grads = tuple(Tensor(np.zeros_like(w.data)) for w in wrt)
        else:
            grads = _grad(out, wrt, create_graph=nested)
        return out, grads[0] if isinstance(argnums, int) else grads

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """`grad(f)(*args)`: the gradient of a one-element f with respect to args[argnums].

    >>> import autodiff as ad
    >>> from autodiff.functional import grad
    >>> f = lambda x: (x ** 3).sum()
    >>> grad(f)(ad.Tensor([1.0])).data          # 3x²
    array([3.])
    >>> grad(grad(f))(ad.Tensor([1.0])).data    # 6x
    array([6.])
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def jacobian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """`jacobian(f)(*args)`: J[i..., j...] = ∂f(args)[i...] / ∂args[argnums][j...], of shape
    `out.shape + x.shape`, one reverse pass per output element."""

    def wrapped(*args: Any) -> Tensor:
        args, (x,), nested = _prepare(args, argnums)
        out = f(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"jacobian: the function must return a Tensor, got {type(out).__name__}")
        if not out.requires_grad or out.size == 0:
            return Tensor(np.zeros(out.shape + x.shape, dtype=x.dtype))
        rows = []
        for k in range(out.size):
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.flat[k] = 1
            rows.append(_grad(out, x, seed, create_graph=nested)[0])
        return stack(rows).reshape(*out.shape, *x.shape)

    return wrapped


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    """`hessian(f)(*args)`: H = ∂²f/∂x², of shape `x.shape + x.shape`, for a one-element f."""

    def wrapped(*args: Any) -> Tensor:
        args, _, _ = _prepare(args, argnums)

        def gradient(*a: Any) -> Tensor:
            out = _scalar(f(*a), "hessian")
            if not out.requires_grad:
                return Tensor(np.zeros_like(a[argnums].data))
            return _grad(out, a[argnums], create_graph=True)[0]

        return jacobian(gradient, argnums)(*args)

    return wrapped


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Tensor:
    """The Hessian-vector product H v = ∂/∂x (∇f(x) · v) of a one-element f, with x's shape,
    in two reverse passes and without forming H."""
    (x,), (xt,), nested = _prepare([x], 0)
    v = v.data if isinstance(v, Tensor) else np.asarray(v, dtype=xt.dtype)
    if v.shape != xt.shape:
        raise ValueError(f"hvp: v has shape {v.shape} but x has shape {xt.shape}")
    out = _scalar(f(xt), "hvp")
    if not out.requires_grad:
        return Tensor(np.zeros_like(xt.data))
    (g,) = _grad(out, xt, create_graph=True)
    if not g.requires_grad:  # f is linear in x: the Hessian is zero
        return Tensor(np.zeros_like(xt.data))
    return _grad((g * v).sum(), xt, create_graph=nested)[0]
