"""A trace's key: how a call's arguments choose its trace (autodiff.compiler.compiled).

Tensors and arrays by shape, dtype and `requires_grad`, also inside tuples, lists and dicts (one
trace per structure, not per call), keyword arguments by name, any other value by itself (a float
by its type and bits), and which arguments are one object.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.tensor import Tensor


def flatten(args: tuple, kwargs: dict) -> tuple[list, tuple]:
    """(the Tensors and arrays among the arguments, in order; the structure around them with
    every other value): one trace per structure, not per call."""
    leaves: list[Any] = []
    tree = (tuple(_tree(a, leaves) for a in args), tuple((k, _tree(v, leaves)) for k, v in kwargs.items()))
    return leaves, tree


def _tree(a: Any, leaves: list) -> Any:
    if isinstance(a, Tensor):
        leaves.append(a)
        d = a.data
        return (d.shape, d.dtype, a.requires_grad)
    if type(a) is np.ndarray:
        leaves.append(a)
        return ("array", a.shape, a.dtype)
    t = type(a)
    if t is list or t is tuple or (isinstance(a, tuple) and hasattr(a, "_fields")):
        return (t, tuple(_tree(x, leaves) for x in a))
    if t is dict:
        return (dict, tuple((k, _tree(v, leaves)) for k, v in a.items()))
    return signature(a)


def signature(a: Any) -> Any:
    """What a value that is not a Tensor or an array contributes to the trace key: itself (it is
    baked into the trace, as in `jax.jit`); a float by its type and bits."""
    if isinstance(a, (float, np.floating)):
        # By its bits: −0.0 == 0.0 (a trace of one would replay for the other), and NaN != NaN (a
        # new trace on every call).
        return ("value", type(a), float(a).hex())
    try:
        hash(a)
    except TypeError:
        raise TypeError(f"compile: argument of type {type(a).__name__} is neither an array nor hashable") from None
    return ("value", type(a), a)


def aliases(leaves: list) -> tuple | None:
    """Which arguments are one object (or share one array), as the first index holding each: a
    trace of `f(x, x)` reads both from one slot, so `f(a, b)` must not replay it. None when all differ."""
    ids = set()
    n = 0
    for a in leaves:  # all differ: the common case, in one pass
        ids.add(id(a))
        if type(a) is Tensor:
            ids.add(id(a.data))
            n += 2
        else:
            n += 1
    if len(ids) == n:
        return None
    first: dict[int, int] = {}
    pattern: list[Any] = []
    seen = 0
    for i, a in enumerate(leaves):
        if isinstance(a, Tensor):
            pattern.append((first.setdefault(id(a), i), first.setdefault(id(a.data), i)))
            seen += 2
        else:
            pattern.append(first.setdefault(id(a), i))
            seen += 1
    return tuple(pattern) if len(first) < seen else None
