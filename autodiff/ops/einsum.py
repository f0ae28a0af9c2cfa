"""einsum: Einstein summation over any subscripts, recorded as contractions of one or two operands.

`ad.einsum("ij,jk->ik", a, b)` takes NumPy's subscripts: a letter repeated within one operand (a
diagonal `'ii->i'`, a trace `'ii'`), `'...'` for broadcast dimensions, and the implicit output (the
letters that appear once, sorted, after the broadcast ones). The subscripts are parsed once into
explicit letters; an operand of length 1 where another has more is broadcast first (`broadcast_to`,
whose VJP sums back); three or more operands are contracted pairwise along NumPy's greedy path. Each
contraction is one recorded op whose VJP is itself an einsum, so grad of grad comes for free:

    z = Σ_{letters not in z} x₁[s₁] x₂[s₂];   δ_x₁ = einsum(δ_z[s_z], x₂[s₂] → s₁)

A letter of x₁ found in neither δ_z nor x₂ (summed away) is broadcast back through an extra operand
of ones; a letter repeated in x₁ puts δ on the diagonal through an extra operand, the identity.
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

import numpy as np

from autodiff.dtypes import coerce_operand
from autodiff.op import op
from autodiff.zero_safe import Bilinear

LETTERS = string.ascii_letters


def _split_subscripts(subscripts: Any, count: int) -> tuple[list[str], str | None]:
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string such as 'ij,jk->ik', got {type(subscripts).__name__}")
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    lhs, out = s.split("->") if "->" in s else (s, None)
    ins = lhs.split(",")
    if len(ins) != count:
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(ins)} operands, {count} given")
    for part in [*ins, *([out] if out is not None else [])]:
        if part.count("...") > 1 or any(c not in LETTERS for c in part.replace("...", "")):
            raise ValueError(f"einsum: subscripts {subscripts!r}: {part!r} is not letters with at most one '...'")
    return ins, out


def parse(subscripts: Any, shapes: list[tuple[int, ...]]) -> tuple[list[str], str, dict[str, int]]:
    """(inputs, output, sizes): the subscripts with '...' spelled out in fresh letters and the
    implicit output made explicit, and the size of every letter after broadcasting."""
    ins, out = _split_subscripts(subscripts, len(shapes))
    fresh = [c for c in LETTERS if c not in set("".join(ins) + (out or ""))]
    spans = []
    for k, (sub, shape) in enumerate(zip(ins, shapes)):
        named = len(sub.replace("...", ""))
        span = len(shape) - named if "..." in sub else 0
        if span < 0 or ("..." not in sub and named != len(shape)):
            raise ValueError(f"einsum: operand {k} has shape {shape} but subscripts {sub!r} name {named} dimensions")
        spans.append(span)
    broad = max(spans, default=0)
    if broad > len(fresh):
        raise ValueError("einsum: too many dimensions for the 52 letters einsum has")
    ell = "".join(fresh[:broad])
    inputs = [sub.replace("...", ell[broad - span:]) for sub, span in zip(ins, spans)]
    if out is None:
        once = Counter("".join(s.replace("...", "") for s in ins))
        output = ell + "".join(sorted(c for c, n in once.items() if n == 1))
    else:
        if "..." not in out and any(n > 1 for n in _ell_sizes(inputs, shapes, ell)):
            raise ValueError(f"einsum: subscripts {subscripts!r} broadcast '...' but the output has no '...'")
        output = out.replace("...", ell) if "..." in out else out
        if len(set(output)) != len(output):
            raise ValueError(f"einsum: output subscripts {out!r} repeat a letter")
        missing = set(output) - set("".join(inputs))
        if missing:
            raise ValueError(f"einsum: output letter {sorted(missing)[0]!r} is in no operand's subscripts")
    sizes: dict[str, int] = {}
    for k, (sub, shape) in enumerate(zip(inputs, shapes)):
        own: dict[str, int] = {}
        for c, n in zip(sub, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum: operand {k} repeats {c!r} over axes of lengths {own[c]} and {n}")
            m = sizes.get(c, n)
            if m != n and 1 not in (m, n):
                raise ValueError(f"einsum: letter {c!r} has length {m} in one operand and {n} in operand {k}")
            sizes[c] = n if m == 1 else m
    return inputs, output, sizes


def _ell_sizes(inputs: list[str], shapes: list[tuple[int, ...]], ell: str) -> list[int]:
    return [n for sub, shape in zip(inputs, shapes) for c, n in zip(sub, shape) if c in ell]


def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation, as `np.einsum(subscripts, *operands)`, differentiable in every operand.

    z = Σ over the letters not in the output of Π xₖ[subscripts of k];
    δ_xₖ = einsum(δ_z, the other operands → xₖ's subscripts) (diagonal letters scattered back).

    >>> import autodiff as ad
    >>> a = ad.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> ad.einsum("ii", a).item()
    5.0
    """
    from autodiff.ops.shape import broadcast_to
    from autodiff.tensor import Tensor, as_tensor

    if not operands:
        raise ValueError("einsum: needs at least one operand")
    dtype = next((x.dtype for x in operands if isinstance(x, Tensor)), None)
    # constants next to a tensor take its dtype unless they are float arrays, as in the other ops
    xs = [as_tensor(x if dtype is None or isinstance(x, Tensor) else np.asarray(coerce_operand(x, dtype))) for x in operands]
    inputs, output, sizes = parse(subscripts, [x.shape for x in xs])
    for k, (sub, x) in enumerate(zip(inputs, xs)):
        full = tuple(sizes[c] for c in sub)
        if x.shape != full:
            xs[k] = broadcast_to(x, full)
    if len(xs) <= 2:
        return contract(xs, spec=(tuple(inputs), output))
    path = np.einsum_path(",".join(inputs) + "->" + output, *(np.broadcast_to(0.0, x.shape) for x in xs),
                          optimize="greedy")[0][1:]
    subs = list(inputs)
    for step in path:
        picked = sorted(step, reverse=True)
        group = [(subs.pop(i), xs.pop(i)) for i in picked][::-1]
        while group:  # a step of more than two operands is taken two at a time
            pair, group = group[:2], group[2:]
            later = set("".join(subs) + output + "".join(s for s, _ in group))
            if not subs and not group:
                target = output
            else:
                target = "".join(dict.fromkeys(c for s, _ in pair for c in s if c in later))
            r = contract([x for _, x in pair], spec=(tuple(s for s, _ in pair), target))
            if group:
                group.insert(0, (target, r))
            else:
                subs.append(target)
                xs.append(r)
    (z,) = xs
    return z


@op(name="einsum", variadic=True)
def contract(xs, spec=((), "")):
    """z = Σ x₁[s₁] x₂[s₂] over the letters not in z;  δ_x₁ = einsum(δ_z, x₂ → s₁) (diagonals scattered back)"""
    if len(xs) > 2:
        raise ValueError("einsum: one contraction takes one or two operands")
    ins, out = spec
    big = len(xs) == 2 and xs[0].size * xs[1].size > 4096
    z = np.einsum(",".join(ins) + "->" + out, *xs, optimize=big)
    pair = (xs[0], xs[1]) if len(xs) == 2 else (None, None)
    return z, (*pair, spec, tuple(x.shape for x in xs))


def _vjp(i, g, x0, x1, spec, shapes, einsum=np.einsum):
    """δ_xᵢ: one einsum of δ_z, the other operand, ones for letters only xᵢ has, the identity for repeats."""
    ins, out = spec
    mine = ins[i]
    subs, operands = [out], [g]
    if len(ins) == 2:
        subs.append(ins[1 - i])
        operands.append(x1 if i == 0 else x0)
    have = set("".join(subs))
    fresh = iter(c for c in LETTERS if c not in set("".join(ins) + out))
    target = []
    for c, n in zip(mine, shapes[i]):
        if c in target:  # a repeated letter: δ lands on the diagonal only
            d = next(fresh)
            target.append(d)
            subs.append(c + d)
            operands.append(np.eye(n, dtype=g.dtype))
            continue
        target.append(c)
        if c not in have:  # summed away in the forward: every element got the same δ
            have.add(c)
            subs.append(c)
            operands.append(np.ones(n, dtype=g.dtype))
    spelled = ",".join(subs) + "->" + "".join(target)
    if einsum is np.einsum:
        return np.einsum(spelled, *operands, optimize=len(operands) > 2 or g.size > 4096)
    return einsum(spelled, *operands)


contract.vjp(_vjp)


@contract.graph_vjp
def _graph_vjp(i, g, z, xs, saved):
    _, _, spec, shapes = saved
    pair = (xs[0], xs[1]) if len(xs) == 2 else (None, None)
    return _vjp(i, g, *pair, spec, shapes, einsum=einsum)


class _Other(Bilinear):
    """δ_xᵢ is bilinear in δ_z and the other operand; a one-operand einsum has none (it only moves and sums δ)."""

    __slots__ = ()

    def _split(self, saved: tuple) -> Any:
        return None if saved[self.factor] is None else super()._split(saved)


contract.zero_safe_vjp(_Other(1), _Other(0))


def numpy_einsum(operands, optimize=False):
    """`np.einsum(subscripts, *operands)` on Tensors (NumPy's `optimize` hint: the path is ours)."""
    return einsum(*operands)


numpy_einsum.op = contract.op  # type: ignore[attr-defined]
