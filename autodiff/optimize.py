"""A bridge to `scipy.optimize.minimize`: train Tensors with BFGS, L-BFGS-B, CG or Newton-CG.

SciPy gets the parameters flattened into one vector, our exact gradient as `jac`, and exact
Hessian-vector products as `hessp` for the methods that use them (two reverse passes each,
never forming the Hessian). SciPy is an optional extra: `pip install 'autodiff-playground[scipy]'`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autodiff.backward import grad
from autodiff.extras import require
from autodiff.tensor import Tensor, mark_modified

#: Methods that take Hessian-vector products (`hessp`).
HESSP_METHODS = {"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"}
#: Methods that need the whole Hessian (`hess`): built from one Hessian-vector product per column.
HESS_METHODS = {"dogleg", "trust-exact"}


def _params(params: Any) -> list[Tensor]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    # A Tensor is iterable (over its rows), so it is checked first: it is one parameter.
    items = [params] if isinstance(params, Tensor) or not isinstance(params, Iterable) else list(params)
    if not items:
        raise ValueError("minimize: params is empty; pass the Tensors to optimise")
    for p in items:
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError("minimize: every parameter must be a Tensor with requires_grad=True")
    return items


def minimize(loss_fn: Callable[[], Tensor], params: Any, method: str = "L-BFGS-B", **options: Any) -> Any:
    """Minimise `loss_fn()` (no arguments, a one-element Tensor) over `params` in place.

    `params` is a list of Tensors or an `nn.Module`; keyword options go to
    `scipy.optimize.minimize` (`tol`, `options={"maxiter": ...}`, ...). Returns SciPy's
    `OptimizeResult`; the parameters hold the optimum it found. Newton-CG and the trust-region
    methods get exact Hessian-vector products; dogleg and trust-exact, which need the whole
    Hessian, get it built one product per column (fine for small models).

    >>> import autodiff as ad
    >>> from autodiff.optimize import minimize
    >>> w = ad.Tensor([3.0, -2.0], requires_grad=True)
    >>> result = minimize(lambda: ((w - 1.0) ** 2).sum(), [w], method="Newton-CG")
    >>> bool(result.success), w.data.round(6).tolist()
    (True, [1.0, 1.0])
    """
    require(["scipy"], "scipy", "minimize")
    from scipy.optimize import minimize as scipy_minimize

    ps = _params(params)
    sizes = [p.size for p in ps]
    dtypes = [p.dtype for p in ps]
    start = np.concatenate([p.data.ravel() for p in ps]).astype(np.float64)
    original = [p.data.copy() for p in ps]

    def load(x: np.ndarray) -> None:
        for p, chunk in zip(ps, np.split(x, np.cumsum(sizes)[:-1])):
            p.data[...] = chunk.reshape(p.shape)
        mark_modified(ps)

    def loss() -> Tensor:
        out = loss_fn()
        if not isinstance(out, Tensor) or out.size != 1:
            raise ValueError("minimize: loss_fn() must return a one-element Tensor")
        return out

    def flat(ts: Iterable[Tensor]) -> np.ndarray:
        return np.concatenate([t.data.ravel() for t in ts]).astype(np.float64)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        load(x)
        out = loss()
        return float(out.item()), flat(grad(out, ps))

    def hessp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
        load(x)
        gs = grad(loss(), ps, create_graph=True)
        vs = [Tensor(chunk.reshape(p.shape), dtype=d) for p, d, chunk in zip(ps, dtypes, np.split(v, np.cumsum(sizes)[:-1]))]
        dot = sum(((g * u).sum() for g, u in zip(gs, vs) if g.requires_grad), Tensor(0.0))
        if not dot.requires_grad:  # a loss linear in the parameters: zero curvature
            return np.zeros_like(v)
        return flat(grad(dot, ps))

    def hess(x: np.ndarray) -> np.ndarray:
        eye = np.eye(x.size)
        H = np.stack([hessp(x, e) for e in eye], axis=1)
        return (H + H.T) / 2  # symmetric up to rounding; the trust-region solvers expect it exactly

    kwargs = dict(options)
    if method.lower() in HESSP_METHODS:
        kwargs.setdefault("hessp", hessp)
    elif method.lower() in HESS_METHODS:
        kwargs.setdefault("hess", hess)
    try:
        result = scipy_minimize(fun, start, jac=True, method=method, **kwargs)
    except BaseException:
        for p, d in zip(ps, original):
            p.data[...] = d  # a failed run leaves the parameters as they were
        raise
    load(result.x)
    return result
