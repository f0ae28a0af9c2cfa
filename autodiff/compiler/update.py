"""The optimizer's update in a compiled step, written out as code, block by block as it runs eagerly.

The optimizer gives its update of parameter i as lines of code (`_update_source`: conditions,
lines once a step, and lines on one block of the parameter); here they become the update of
every parameter that has a gradient this step. A parameter larger than the optimizer's scratch
block is updated block by block through that scratch, as the eager `_apply` does, over views cut
once, now: a scratch as large as the parameter would go out to memory and back (measured 6 % of
an MNIST-sized step). The views are valid while the parameter's array, its gradient buffer and
its state arrays are the same objects, which the plan's conditions check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class Grad:
    """A parameter (`name` in the code) and its gradient as the update reads it: `array` now, and `expr` in the code: the name
    of that very array when it is a buffer of the compiled step (`fixed`, the same on every step),
    else the parameter's `.grad`."""

    __slots__ = ("array", "expr", "fixed", "name", "param")

    def __init__(self, param: Any, name: str, array: np.ndarray, expr: str, fixed: bool) -> None:
        self.param, self.name, self.array, self.expr, self.fixed = param, name, array, expr, fixed


def plan_update(opt: Any, grads: list[Grad], name: Callable[[Any, str], str]) -> Any:
    """(conds, lines, moved): the update of every parameter in `grads`, with the expressions that
    say it still holds; None while some optimizer state is not made yet (plan after the next
    step); NotImplemented when the optimizer cannot write its update out."""
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
        lines += head
        lines += _blocks(opt, i, p.data, grad, state, body, name, conds)
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


def _blocks(opt: Any, i: int, w: np.ndarray, grad: Grad, state: dict[str, np.ndarray], body: list[str],
            name: Callable[[Any, str], str], conds: list[str]) -> list[str]:
    """Parameter i's body lines bound to its arrays: at once, or in a loop over its blocks."""
    u, P = f"u{i}_", grad.name
    uses_t = any(f"{u}t" in line for line in body)
    s = opt._scratch[i]
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
        binds.append(f"{u}t = {name(opt._second(i, s) if s is opt._scratch[i] else np.empty_like(w), 't')}")
    return binds + body
