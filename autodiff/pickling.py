"""Pickling and deep-copying Tensors with their graph, at any depth, without recursion.

Pickle (and `copy.deepcopy`) would follow `_parents` recursively and stop with a RecursionError
past about a thousand ops. So a recorded result is reduced with its ancestors listed first,
inputs before outputs: when the pickler reaches each one, its parents are already in the memo and
are written as references. Ancestors reduced as part of such a list are marked (per thread) so
that they do not list their own ancestors again. Identity is kept: a tensor pickled together with
the graph it feeds (a model's parameters and its loss) comes back as one object. Ops pickle by
their registered name; hooks are functions of the user's session and are refused.
"""

from __future__ import annotations

import threading
from typing import Any

import autodiff.tensor as tensor
from autodiff.backward import reverse_topological

# The slots that make up a tensor besides its parents (which are passed separately) and hooks.
_STATE = ("data", "grad", "requires_grad", "name", "_op", "_saved", "_version", "_index_kind")
_marked = threading.local()


def _marks() -> dict[int, Any]:
    marks = getattr(_marked, "marks", None)
    if marks is None:
        marks = _marked.marks = {}
    return marks


def _state(t: Any) -> dict[str, Any]:
    return {k: getattr(t, k) for k in _STATE if hasattr(t, k)}


def _refuse_hooks(t: Any) -> None:
    if t._hooks:
        who = f"tensor {t.name!r}" if t.name else f"a tensor of shape {t.shape}"
        raise TypeError(
            f"cannot pickle or copy {who}: it has hooks (functions of this session); remove them first "
            "(handle.remove())"
        )


def rebuild(ancestors: Any, cls: type, state: dict[str, Any], parents: tuple) -> Any:
    """A tensor from its reduced form (`ancestors` only made sure those were built first)."""
    t = object.__new__(cls)
    for k, v in state.items():
        setattr(t, k, v)
    t._parents = parents
    t._hooks = None
    version = state.get("_version")
    if version is not None and version > tensor._writes:
        # In a new process the count of in-place writes starts again at 0: move it past what this
        # graph saw, so a later optimizer step still makes backward through the graph refuse.
        tensor._writes = version
    return t


def reduce_tensor(t: Any) -> tuple:
    """`Tensor.__reduce_ex__`: (rebuild, (ancestors, class, state, parents))."""
    marks = _marks()
    if t._op is None or marks.pop(id(t), None) is t:
        _refuse_hooks(t)
        return rebuild, ((), type(t), _state(t), t._parents)
    # Left over from a pickle that failed part-way: they would only cost recursion, never correctness.
    marks.clear()
    ancestors = reverse_topological([t])[:0:-1]  # inputs first, without t
    _refuse_hooks(t)
    for a in ancestors:
        _refuse_hooks(a)
    for a in ancestors:
        if a._op is not None:
            marks[id(a)] = a
    return rebuild, (ancestors, type(t), _state(t), t._parents)


def copy_tensor(t: Any) -> Any:
    """`copy.copy(t)`: a new tensor sharing t's data, gradient and parents."""
    _refuse_hooks(t)
    return rebuild((), type(t), _state(t), t._parents)
