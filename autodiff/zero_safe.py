"""Below a `where`, 0 · ∞ = 0: a δ that is exactly zero contributes exactly zero, whatever the local derivative.

The trap: in `where(x > 0, sqrt(x), 0)` the branch that was not selected gets δ = 0, but its local
derivative 1/(2√x) is ∞ or NaN at x ≤ 0, and 0 · ∞ is NaN, which flows back into x (PyTorch and
JAX do this). Here a VJP computes

    δ_in[j] = Σᵢ δ_out[i] · ∂out_i/∂in_j

and below a `where` (for every tensor whose gradient flows through one) a term whose δ_out[i] is
exactly 0 is exactly 0, even where ∂out_i/∂in_j is ∞ or NaN. So the gradient is that of the selected
branch alone: of Σ δ_out[i] out_i over the outputs with δ_out[i] ≠ 0. A NaN or ∞ that meets a
non-zero δ still shows: it belongs to the branch that was selected.

Backward applies this only below a `where` and only when an op's plain VJP gave a NaN or ∞ there
(`keep_zeros`; `keep_zeros_graph` for gradients recorded with `create_graph=True`), so the common
backward pays nothing. How an op keeps the rule depends on its shape of Jacobian, and is stated
beside its forward:

- *Any op*, when every δ_out is 0: δ_in = 0.
- *Elementwise ops* (`@op(elementwise=True)`: arithmetic, exp, log, pow, clip, maximum …, where):
  δ_in[i] = 0 wherever δ_out[i] = 0.
- *Ops whose every input element feeds one output element, or one slice of outputs* (max, min,
  logsumexp, softmax, log_softmax, the fused losses): register `masked(unused)`, where
  `unused(g, *saved)` says which input elements feed only outputs with δ = 0; those get δ_in = 0.
  (Where a slice of softmax is partly selected and holds ∞ or NaN, every output in it is NaN: the
  NaN is the selected branch's.)
- *Contractions* (matmul, the fused linear), δ_in bilinear in δ_out and one saved factor m (the
  other matrix): register `bilinear(k)` for m = saved[k]. The VJP runs with m's non-finite entries
  set to 0, then the terms that they make with non-zero δ are added back as IEEE arithmetic says
  (±∞, or NaN for a NaN or for ∞ − ∞); a term of a δ that is itself ∞ or NaN with a non-finite m
  comes out NaN.
- *Ops that only move values* (reshape, transpose, getitem, scatter, concatenate, stack,
  broadcast_to, astype, sum, mean, unfold, fold): their VJPs multiply δ by no data, so a 0 stays 0
  by nature; they need nothing.

A plain function registered with `zero_safe_vjp` is used as it is (first order only). An op that
states nothing lets its NaN show unless every δ_out is 0: the rule is never guessed.

Recorded gradients (create_graph=True, grad of grad) keep the rule too: the guard is recorded as a
`where` that replaces only the entries that came out ∞ or NaN (so a δ that is zero by accident, not
selected away, keeps its derivative), or, for contractions, as a `where` on the factor; the added
back ±∞ / NaN terms are constants of the recorded graph. Differentiating that gradient walks below
these `where`s, so the second backward keeps 0 · ∞ = 0 again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_isfinite = np.isfinite


class Masked:
    """The rule of an op whose input elements each feed one output element or one slice of them.

    `unused(g, *saved)` is a boolean array, broadcastable to the VJP's result, true on the input
    elements that feed only outputs whose δ is 0.
    """

    __slots__ = ("unused",)

    def __init__(self, unused: Callable[..., np.ndarray]) -> None:
        self.unused = unused


class Bilinear:
    """The rule of a VJP bilinear in δ_out and the saved factor saved[factor] (a contraction)."""

    __slots__ = ("factor",)

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def first(self, vjp: Callable[..., Any], g: np.ndarray, saved: tuple) -> np.ndarray | None:
        """The zero-safe VJP on ndarrays, or None when the factor is finite (the ∞ or NaN is g's own)."""
        split = self._split(saved)
        if split is None:
            return None
        _, clean = split
        return _plus(vjp(g, *clean), _infinite_terms(vjp, g, clean, self.factor, saved[self.factor]))

    def graph(self, vjp: Callable[..., Any], graph_vjp: Callable[..., Any], g: Any, z: Any, xs: tuple, saved: tuple) -> Any:
        """The same, recorded: the factor's non-finite entries replaced by a `where` (a Tensor op)."""
        from autodiff.ops.shape import where

        split = self._split(saved)
        if split is None:
            return None
        bad, clean = split
        k = self.factor
        if xs[k] is not None:
            xs = _replace(xs, k, where(bad, 0.0, xs[k]))
        return _plus(graph_vjp(g, z, xs, clean), _infinite_terms(vjp, g.data, clean, k, saved[k]))

    def _split(self, saved: tuple) -> tuple[np.ndarray, tuple] | None:
        """(where the factor is not finite, saved with those entries 0), or None if it is finite."""
        m = saved[self.factor]
        bad = ~_isfinite(m)
        if not bad.any():
            return None
        return bad, _replace(saved, self.factor, np.where(bad, 0, m))


def masked(unused: Callable[..., np.ndarray]) -> Masked:
    """Register with `fn.zero_safe_vjp(masked(unused), …)`: see `Masked`."""
    return Masked(unused)


def bilinear(factor: int) -> Bilinear:
    """Register with `fn.zero_safe_vjp(bilinear(k), …)`: see `Bilinear`."""
    return Bilinear(factor)


def _replace(items: tuple, k: int, value: Any) -> tuple:
    return (*items[:k], value, *items[k + 1:])


def _plus(gp: Any, extra: np.ndarray | None) -> Any:
    return gp if extra is None else gp + extra


def _infinite_terms(vjp: Callable[..., Any], g: np.ndarray, saved: tuple, k: int, m: np.ndarray) -> np.ndarray | None:
    """Σ δ · m over the terms with δ ≠ 0 and m = ±∞ or NaN, by IEEE rules, for the bilinear `vjp`:
    NaN if one is NaN or both signs of ∞ meet, else ±∞; 0 where there is no such term. The VJP
    itself counts them, run on 0/±1 indicator arrays in place of δ and m."""
    dtype = np.result_type(g, m)

    def count(gi: np.ndarray, mi: np.ndarray) -> np.ndarray:
        return np.asarray(vjp(gi.astype(dtype), *_replace(saved, k, mi.astype(dtype))))

    sign_g = np.sign(np.nan_to_num(g))  # a NaN δ meeting ∞ is counted as a NaN term below
    infinite = np.isinf(m)
    signed = count(sign_g, (m == np.inf) * 1 - (m == -np.inf))  # (+∞ terms) − (−∞ terms)
    both = count(np.abs(sign_g), infinite)  # (+∞ terms) + (−∞ terms)
    nan = count(g != 0, np.isnan(m))
    if np.isnan(g).any():
        nan = nan + count(np.isnan(g), infinite)
    up, down = both + signed > 0, both - signed > 0
    if not (up.any() or down.any() or nan.any()):
        return None
    out = np.where((nan > 0) | (up & down), np.nan, np.where(up, np.inf, np.where(down, -np.inf, 0.0)))
    return out.astype(dtype, copy=False)


def _rule(node_op: Any, i: int) -> Any:
    rules = node_op.zero_safe_vjps
    return rules[i] if i < len(rules) else None


def keep_zeros(node_op: Any, i: int, g: np.ndarray, saved: tuple, gp: np.ndarray) -> np.ndarray:
    """Input i's gradient gp = vjps[i](g, *saved) of `node_op`, below a `where`: with 0 · ∞ = 0."""
    if _isfinite(gp).all():
        return gp
    if not g.any():  # no δ_out is non-zero: nothing contributes
        return np.zeros_like(gp)
    if node_op.elementwise:
        return np.where(g == 0, 0, gp)
    rule = _rule(node_op, i)
    if isinstance(rule, Masked):
        return np.where(rule.unused(g, *saved), 0, gp)
    if isinstance(rule, Bilinear):
        safe = rule.first(node_op.vjps[i], g, saved)
        return gp if safe is None else safe
    if rule is not None:
        return rule(g, *saved)
    return gp


def keep_zeros_graph(node_op: Any, i: int, g: Any, z: Any, xs: tuple, saved: tuple, gp: Any) -> Any:
    """`keep_zeros` for a recorded gradient gp = graph_vjps[i](g, z, xs, saved) (Tensors)."""
    data = gp.data
    finite = _isfinite(data)
    if finite.all():
        return gp
    gd = g.data
    rule = None if node_op.elementwise else _rule(node_op, i)
    if isinstance(rule, Bilinear):
        # Before the all-zero shortcut: a δ that is zero by accident (not selected away) must keep
        # its derivative, which the contraction with the cleaned factor records; a constant 0 would not.
        safe = rule.graph(node_op.vjps[i], node_op.graph_vjps[i], g, z, xs, saved)
        return gp if safe is None else safe
    if not gd.any():
        unused: Any = True
    elif node_op.elementwise:
        unused = gd == 0
    elif isinstance(rule, Masked):
        unused = rule.unused(gd, *saved)
    else:
        return gp  # a first-order zero-safe VJP cannot be recorded: the NaN shows
    from autodiff.ops.shape import where

    replace = unused & ~finite  # only what came out ∞ or NaN: an accidental zero δ keeps its derivative
    return where(replace, 0.0, gp) if replace.any() else gp
