"""Narrate the backward pass in the lecture's delta notation: one step per op, in the order backward runs.

Each step prints the rule its op applies (the first line of the op's docstring, written next to
the op), the shapes involved and the norms of the gradients δ going in and coming out, which
`autodiff.grad` computes in one extra pass without touching any `.grad`.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from typing import Any

import numpy as np

from autodiff.graph.walk import Graph, collect, fmt_norm, fmt_shape, gradients
from autodiff.op import Op
from autodiff.tensor import Tensor

_INDENT = " " * 8
_MAX_VALUES = 24  # values=True prints arrays up to this many elements, and only the norm of bigger ones


def explain(root: Tensor, params: Any = None, values: bool = False) -> str:
    """The backward pass from `root` as text: one step per op, in reverse topological order.

    δ_t stands for ∂E/∂t, the gradient of the root E with respect to a tensor t. Each step names
    the op, the rule it applies in that notation (for tanh: δ_x = δ_z ⊙ (1 − z²), z its output),
    the shapes of its inputs and output, ‖δ_z‖ that reached its output and ‖δ‖ it passes on to each
    input that requires grad. A closing table lists the gradients reaching the leaves: what
    `backward()` adds to their `.grad`. Leaves are named by `params` (a module with
    `named_parameters()` or a `{name: Tensor}` dict), else by their `name`. Norms need a
    one-element root; for a larger one only the rules and shapes are shown.

    With `values=True` each step also prints the numbers, for tensors of at most 24 elements: the
    op's output z, the δ_z reaching it and each δ it passes on, so a tiny network's backward pass
    can be followed by hand (see the second example).

    >>> import autodiff as ad
    >>> x = ad.Tensor([0.5, -1.0], requires_grad=True, name="x")
    >>> print(ad.explain(x.tanh().sum()))  # doctest: +NORMALIZE_WHITESPACE
    Backward pass from E = sum (n0), shape () float64: 2 steps, in the order backward runs them.
    δ_t ≡ ∂E/∂t, the gradient of E with respect to a tensor t; ‖·‖ is its Euclidean (Frobenius) norm.
    Seed: δ_E = 1.
    <BLANKLINE>
    step 1  sum (n0)
            rule    z = Σ x;  δ_x = δ_z copied to every summed element
            shapes  x (2,) → z ()
            in      ‖δ_z‖ = 1
            out     δ_x → tanh (n1) (2,): ‖δ‖ = 1.414
    <BLANKLINE>
    step 2  tanh (n1)
            rule    z = tanh(x);  δ_x = δ_z ⊙ (1 − z²)
            shapes  x (2,) → z (2,)
            in      ‖δ_z‖ = 1.414
            out     δ_x → x (n2) (2,): ‖δ‖ = 0.8916
    <BLANKLINE>
    Gradients reaching the leaves (∂E/∂w, added to .grad by backward):
      x (n2)  (2,) float64  ‖δ‖ = 0.8916

    The same with the numbers: δ_x = δ_z ⊙ (1 − z²) is [1 1] ⊙ (1 − [0.4621 −0.7616]²).

    >>> print(ad.explain(x.tanh().sum(), values=True).split("step 2")[1])  # doctest: +NORMALIZE_WHITESPACE
      tanh (n1)
            rule    z = tanh(x);  δ_x = δ_z ⊙ (1 − z²)
            shapes  x (2,) → z (2,)
            value   z = [ 0.4621 -0.7616]
            in      ‖δ_z‖ = 1.414
                    δ_z = [1. 1.]
            out     δ_x → x (n2) (2,): ‖δ‖ = 0.8916
                    δ_x = [0.7864 0.42  ]
    <BLANKLINE>
    Gradients reaching the leaves (∂E/∂w, added to .grad by backward):
      x (n2)  (2,) float64  ‖δ‖ = 0.8916
    """
    graph = collect(root, params, "explain")
    if not root.requires_grad:
        raise RuntimeError(
            "explain: the root does not require grad, so there is no backward pass to explain; "
            "compute it from tensors created with requires_grad=True"
        )
    grads = gradients(graph)
    norms = None if grads is None else {t: float(np.linalg.norm(g)) for t, g in grads.items()}
    shown = grads if values else None
    steps = [t for t in graph.order if t._ctx is not None]
    rname = graph.describe(root)
    lines = [
        f"Backward pass from E = {rname}, shape {fmt_shape(root.shape)} {root.dtype}: "
        f"{len(steps)} step{'s' * (len(steps) != 1)}, in the order backward runs them.",
        "δ_t ≡ ∂E/∂t, the gradient of E with respect to a tensor t; ‖·‖ is its Euclidean (Frobenius) norm.",
    ]
    if norms is None:
        lines.append(
            f"E has shape {fmt_shape(root.shape)}, so backward needs a seed δ_E of that shape and no norms "
            "are shown; reduce E with .sum() or .mean() to see them."
        )
    else:
        lines.append("Seed: δ_E = 1.")
    for i, t in enumerate(steps, 1):
        lines.append("")
        lines.extend(_step(graph, t, i, norms, shown))
    lines.append("")
    leaves = [t for t in graph.order if t._ctx is None]
    if norms is None:
        lines.append("Leaves:")
    else:
        lines.append("Gradients reaching the leaves (∂E/∂w, added to .grad by backward):")
    width = max((len(graph.describe(t)) for t in leaves), default=0)
    swidth = max((len(fmt_shape(t.shape)) for t in leaves), default=0)
    for t in leaves:
        info = f"  {graph.describe(t):<{width}}  {fmt_shape(t.shape):<{swidth}} {t.dtype}"
        if not t.requires_grad:
            info += "  constant, no δ"
        elif norms is not None:
            info += f"  ‖δ‖ = {fmt_norm(norms[t])}"
        lines.append(info)
    return "\n".join(lines)


def _values(symbol: str, a: np.ndarray) -> str:
    """`z = [0.4621 -0.7616]`, continuation rows aligned under the first; big arrays by size only."""
    if a.size > _MAX_VALUES:
        return f"{symbol}: {a.size} values, not shown"
    prefix = f"{symbol} = "
    text = np.array2string(a, precision=4, max_line_width=100, prefix=prefix)
    return prefix + text.replace("\n", "\n" + _INDENT + " " * 8)


def _step(
    graph: Graph, t: Tensor, i: int, norms: dict[Tensor, float] | None, grads: dict[Tensor, np.ndarray] | None
) -> list[str]:
    op, parents, _ = t._ctx
    names = _input_names(op, len(parents))
    out = _output_name(op)
    shapes = ", ".join(
        f"{n} {'constant' if p is None else fmt_shape(p.shape)}" for n, p in zip(names, parents)
    )
    lines = [
        f"step {i}  {graph.describe(t)}",
        f"{_INDENT}rule    {op.rule or '(no rule written for this op)'}",
        f"{_INDENT}shapes  {shapes} → {out} {fmt_shape(t.shape)}",
    ]
    if grads is not None:
        lines.append(f"{_INDENT}value   {_values(out, t.data)}")
    if norms is not None:
        lines.append(f"{_INDENT}in      ‖δ_{out}‖ = {fmt_norm(norms[t])}")
    if grads is not None:
        lines.append(f"{_INDENT}        {_values('δ_' + out, grads[t])}")
    label = "out     "
    for n, p in zip(names, parents):
        if p is None:
            continue
        target = f"δ_{n} → {graph.describe(p)} {fmt_shape(p.shape)}"
        if not p.requires_grad:
            text = f"{n}: {graph.describe(p)} is a constant, no δ"
        elif norms is None:
            text = target
        else:
            text = f"{target}: ‖δ‖ = {fmt_norm(norms[p])}"
            uses = graph.uses.get(p, 1)
            if uses > 1:
                text += f" (in total, over its {uses} uses)"
        lines.append(f"{_INDENT}{label}{text}")
        label = " " * len(label)
        if grads is not None and p.requires_grad:
            lines.append(f"{_INDENT}{label}{_values('δ_' + n, grads[p])}")
    return lines


@lru_cache(maxsize=256)
def _input_names(op: Op, n: int) -> tuple[str, ...]:
    """The symbols the op's rule uses for its inputs: the forward's tensor parameters (x, or a and b)."""
    params = [
        p.name
        for p in inspect.signature(op.forward).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) == n:
        return tuple(params)
    # A variadic op (concatenate, stack) takes one list: its rule calls the inputs x₁, x₂, …
    base = params[0].rstrip("s") if params else "x"
    return tuple(f"{base}{_subscript(k + 1)}" for k in range(n))


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _subscript(k: int) -> str:
    return str(k).translate(_SUBSCRIPTS)


def _output_name(op: Op) -> str:
    """The symbol the rule gives the op's output: `z` in `z = tanh(x); …`, `y` in `yᵢ = …`."""
    m = re.match(r"\s*([A-Za-z])", op.rule)
    return m.group(1) if m else "z"
