"""What nn's fused ops (a whole LSTM layer, the attention core) share: one backward pass computing every
input's gradient, handed out input by input, and grad of grad through the op's composed twin.

The engine asks a VJP for one input at a time; a fused op's inputs' gradients share their
intermediate δs (backprop through time, the δ of the attention scores), so the first call keeps
those in the op's `memo` (a dict in its saved values) and each call makes its own input's
gradient from them: an input that needs no gradient costs nothing. For gradients that must themselves be
differentiable (create_graph=True) the op is computed again with the engine's ops (its twin) and
differentiated; below a `where`, an output whose δ is 0 is dropped from it first, so its ∞ or NaN
stays out (0 · ∞ = 0, autodiff.zero_safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import autodiff as ad
from autodiff.zero_safe import bilinear


def once(memo: dict, g: Any, key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` (what every input's gradient is made from), run once per upstream δ `g` and `key`."""
    seen, core = memo.get(key, (None, None))
    if seen is not g:
        core = compute()
        memo[key] = (g, core)
    return core


def twin_grads(memo: dict, g: Any, xs: Sequence[Any], constants: Sequence[Any], twin: Callable[..., Any]) -> dict:
    """{input index: recorded gradient} of the op's twin `twin(*inputs)` at the inputs `xs` (Tensors;
    None for a constant input, whose value is in `constants`), seeded with the Tensor g."""
    if memo.get("graph_g") is not g:
        inputs = [c if t is None else t for t, c in zip(xs, constants)]
        wanted = [k for k, t in enumerate(xs) if t is not None and t.requires_grad]
        targets = [xs[k] for k in wanted]
        out = twin(*inputs)
        grads = ad.grad(out, targets, grad_outputs=g, create_graph=True)
        if not all(np.isfinite(d.data).all() for d in grads):
            # below a `where`: the outputs whose δ is 0 are dropped, with their ∞ and NaN
            out = ad.where(g.data != 0, out, 0.0)
            grads = ad.grad((out * g).sum(), targets, create_graph=True)
        memo["graph_g"], memo["graph"] = g, dict(zip(wanted, grads))
    return memo["graph"]


_right, _left = bilinear(0), bilinear(0)


def safe_dot(d: np.ndarray, m: np.ndarray) -> np.ndarray:
    """d @ m with δ = d: each term whose δ is 0 is 0, even where m is ∞ or NaN (the engine's contraction rule)."""
    safe = _right.first(lambda g, m: g @ m, d, (m,))
    return d @ m if safe is None else safe


def safe_dot_left(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """m @ d with δ = d, by the same rule."""
    safe = _left.first(lambda g, m: m @ g, d, (m,))
    return m @ d if safe is None else safe
