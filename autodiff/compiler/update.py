"""The optimizer's update in a compiled step, written out as code, block by block as it runs eagerly.

The optimizer gives its update of parameter i as lines of code (`_update_source`: conditions,
lines once a step, and lines on one block of the parameter); here they become the update of
every parameter that has a gradient this step. A parameter larger than the optimizer's scratch
block is updated block by block, as the eager `_apply` does, over views cut once, now: a scratch
as large as the parameter would go out to memory and back (measured 6 % of an MNIST-sized step).
The views are valid while the parameter's array, its gradient buffer and its state arrays are the
same objects, which the plan's conditions check.

The scratch itself is a buffer of the step that nothing reads once the backward is done, the most
recently used: still in cache, where the optimizer's own scratch has been pushed out by the
forward and backward (measured 1–2 % of an MNIST-sized step). The optimizer's is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class Grad:
    """A parameter (`name` in the code) and its gradient as the update reads it: `array` now, and `expr` in the code: the name
    of that very array when it is a buffer of the compiled step (`fixed`, the same on every step),
    else the parameter's `.grad`."""

    __slots__ = ("array", "expr", "fixed", "name", "param")

    def __init__(self, param: Any, name: str, array: np.ndarray, expr: str, fixed: bool) -> None:
        self.param, self.name, self.array, self.expr, self.fixed = param, name, array, expr, fixed


def plan_update(opt: Any, grads: list[Grad], name: Callable[[Any, str], str], spare: Sequence[np.ndarray] = ()) -> Any:
    """(conds, lines, moved): the update of every parameter in `grads`, with the expressions that
    say it still holds, its scratch in the `spare` arrays where one fits; None while some
    optimizer state is not made yet (plan after the next step); NotImplemented when the optimizer
    cannot write its update out."""
    source = getattr(opt, "_update_source", None)
    if source is None or not _writes_its_own_step(opt):
        return NotImplemented
    index = {id(p): i for i, p in enumerate(opt.params)}
    conds, lines, moved = [f"len({name(opt.params, 'params')}) == {len(opt.params)}"], [], []
    for grad in grads:
        p = grad.param
        i = index[id(p)]
        got = source(i, name)
        if got is NotImplemented or got is None:
            return got
        more, head, body, state = got
        conds += [f"{name(opt.params, 'params')}[{i}] is {grad.name}", *more]
        if p.data.ndim == 0:  # a NumPy scalar has a 0-d array's shape and dtype, and cannot be moved in place
            conds.append(f"isinstance({grad.name}.data, {name(np.ndarray, 'ndarray')})")
        lines += head
        lines += _blocks(opt, i, p.data, grad, state, body, name, conds, spare)
        moved.append(p)
    return list(dict.fromkeys(conds)), lines, moved  # a group's flags once, not once per parameter


#: How an optimizer steps: a subclass that redefines one of these steps its own way.
STEPPING = ("step", "_step_checked", "_step_one", "_update", "_apply", "_stepped")


def _writes_its_own_step(opt: Any) -> bool:
    """Whether `_update_source` writes out the optimizer's step: no class below the one defining it
    redefines how the optimizer steps (a user's SGD that clips in its own `step()` is run as it is)."""
    for cls in type(opt).__mro__:
        if "_update_source" in cls.__dict__:
            return True
        if any(name in cls.__dict__ for name in STEPPING):
            return False
    return False


def _scratch(own: np.ndarray, w: np.ndarray, spare: Sequence[np.ndarray]) -> np.ndarray:
    """The scratch for w's update: the first spare array of w's dtype that holds all of w (a small
    parameter) or at least an eighth of the optimizer's block (a large one, then cut to at most that
    block); else the optimizer's own (`own`: w's shape, or one block)."""
    large = own.ndim == 1 and own.size < w.size
    for b in spare:
        if b.dtype != w.dtype or not b.flags.c_contiguous:
            continue
        flat = b.reshape(-1)
        if not large and b.size >= w.size:
            return flat[:w.size].reshape(w.shape)
        if large and b.size >= own.size // 8:
            return flat[:own.size]
    return own


def _blocks(opt: Any, i: int, w: np.ndarray, grad: Grad, state: dict[str, np.ndarray], body: list[str],
            name: Callable[[Any, str], str], conds: list[str], spare: Sequence[np.ndarray]) -> list[str]:
    """Parameter i's body lines bound to its arrays: at once, or in a loop over its blocks."""
    u, P = f"u{i}_", grad.name
    uses_t = any(f"{u}t" in line for line in body)
    s = _scratch(opt._scratch[i], w, spare)
    whole = (w, grad.array, *state.values())
    if s.dtype == w.dtype and s.ndim == 1 and s.size < w.size and grad.fixed and all(a.flags.c_contiguous for a in whole):
        t = opt._second(i, s) if uses_t else None
        conds.append(f"{P}.data is {name(w, 'w')}")
        flat = [a.reshape(-1) for a in whole]
        n, size = s.size, w.size
        blocks = [(*(a[a0:min(a0 + n, size)] for a in flat), s[:min(n, size - a0)],
                   *((t[:min(n, size - a0)],) if uses_t else ())) for a0 in range(0, size, n)]
        names = [f"{u}w", f"{u}g", *(f"{u}{key}" for key in state), f"{u}s", *((f"{u}t",) if uses_t else ())]
        return [f"for {', '.join(names)} in {name(blocks, 'blocks')}:", *(f"    {line}" for line in body)]
    if s.shape != w.shape or s.dtype != w.dtype:  # a parameter not cut into blocks: a scratch of its shape
        s = np.empty_like(w)
    binds = [f"{u}w = {P}.data", f"{u}g = {grad.expr}", *(f"{u}{key} = {name(a, key)}" for key, a in state.items()),
             f"{u}s = {name(s, 's')}"]
    if uses_t:
        binds.append(f"{u}t = {name(opt._second(i, s), 't')}")
    return binds + body
