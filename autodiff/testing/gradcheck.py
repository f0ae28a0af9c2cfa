"""Check backward against central finite differences, element by element, in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.backward import grad as autograd
from autodiff.backward import read_only_gradients
from autodiff.grad_mode import enable_grad, no_grad
from autodiff.tensor import Tensor


class GradcheckError(AssertionError):
    """Backward disagrees with finite differences (or changed its inputs); the message says where."""


def _label(t: Tensor, i: int) -> str:
    return f"input {i}" + (f" ({t.name!r})" if t.name else "") + f" of shape {t.shape}"


def _objective(fn: Callable[..., Any], args: list[Any], weights: list[np.ndarray]) -> float:
    """L = Σ_k ⟨w_k, out_k⟩: random upstream weights, so a VJP that ignores δ_out cannot pass."""
    outs = fn(*args)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    return float(sum(np.sum(w * np.asarray(o.data if isinstance(o, Tensor) else o)) for w, o in zip(weights, outs)))


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare the gradients backward computes for `fn(*inputs)` with central differences.

    Every Tensor input that requires grad is checked at every element: with random upstream
    weights w, ∂⟨w, fn(x)⟩/∂xᵢ from backward must match (L(x + εeᵢ) − L(x − εeᵢ)) / 2ε within
    `atol + rtol·|numeric|`. Inputs are promoted to float64 copies first, so float32 ops are
    checked at float64 precision; the check also fails if `fn` changes its inputs' data or the
    upstream gradient. `fn` may return a Tensor or a tuple of Tensors. Only tensors passed in
    `inputs` are checked: a tensor that `fn` closes over (a model's weights, say) is not, so pass
    the tensors you want checked as arguments.

    Returns True, or raises `GradcheckError` naming the input, the worst element and both values.

    >>> import autodiff as ad
    >>> from autodiff.testing import gradcheck
    >>> x = ad.Tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> gradcheck(lambda x: x.tanh() * x, x)
    True
    """
    args = [
        Tensor(a.data, requires_grad=a.requires_grad, dtype=np.float64, name=a.name) if isinstance(a, Tensor) else a
        for a in inputs
    ]
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    before = [a.data.copy() for a in args if isinstance(a, Tensor)]

    outs = fn(*args)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, size=o.shape) * rng.choice([-1.0, 1.0], size=o.shape) for o in outs]
    seeds = [w.copy() for w in weights]
    differentiable = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if differentiable:
        try:
            with read_only_gradients():
                analytic = autograd(
                    [outs[k] for k in differentiable],
                    [args[i] for i in checked],
                    [seeds[k] for k in differentiable],
                )
        except ValueError as e:
            if "read-only" not in str(e):
                raise
            raise GradcheckError(f"gradcheck: a VJP wrote into the upstream gradient it was given ({e})") from e
    else:
        analytic = tuple(np.zeros_like(args[i].data) for i in checked)
    for w, s in zip(weights, seeds):
        if not np.array_equal(w, s):
            raise GradcheckError("gradcheck: backward wrote into the upstream gradient it was given")
    for a, b in zip((a for a in args if isinstance(a, Tensor)), before):
        if not np.array_equal(a.data, b, equal_nan=True):
            raise GradcheckError("gradcheck: fn or backward changed an input's data")

    for i, g in zip(checked, analytic):
        x = args[i]
        g = np.asarray(g.data if isinstance(g, Tensor) else g)
        if g.shape != x.shape:
            raise GradcheckError(f"gradcheck: gradient of {_label(inputs[i], i)} has shape {g.shape}")
        numeric = np.empty_like(x.data)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs x
        with no_grad():
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                hi = _objective(fn, args, weights)
                flat[j] = orig - eps
                lo = _objective(fn, args, weights)
                flat[j] = orig
                numeric.reshape(-1)[j] = (hi - lo) / (2 * eps)
        err = np.abs(g - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(err <= 0)  # NaN counts as bad
        if bad.any():
            where = np.unravel_index(int(np.argmax(np.where(np.isnan(err), np.inf, err))), x.shape)
            raise GradcheckError(
                f"gradcheck: gradient of {_label(inputs[i], i)} is wrong at index {tuple(map(int, where))}: "
                f"backward gives {float(g[where])!r}, finite differences give {float(numeric[where])!r} "
                f"({int(bad.sum())} of {bad.size} elements differ)"
            )
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck the gradients of ⟨w, fn(x)⟩ (random w), computed with
    `create_graph=True`, against finite differences of themselves.

    >>> import autodiff as ad
    >>> from autodiff.testing import gradgradcheck
    >>> x = ad.Tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> gradgradcheck(lambda x: x.tanh() * x, x)
    True
    """
    rng = np.random.default_rng(seed + 1)
    weights: dict[int, list[np.ndarray]] = {}

    @enable_grad()  # gradcheck evaluates under no_grad, but these derivatives need a graph
    def first_derivatives(*args: Any) -> tuple[Tensor, ...]:
        outs = fn(*args)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        # The same weights for every call, so finite differences see one function.
        ws = weights.setdefault(0, [rng.uniform(0.5, 1.5, size=o.shape) for o in outs])
        wrt = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        live = [(o, w) for o, w in zip(outs, ws) if isinstance(o, Tensor) and o.requires_grad]
        if not live:
            return tuple(Tensor(np.zeros_like(a.data)) for a in wrt)
        return autograd([o for o, _ in live], wrt, [w for _, w in live], create_graph=True)

    return gradcheck(first_derivatives, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
