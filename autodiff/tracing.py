"""What code below the compiler tells a trace in progress (`ad.compile` sits above all of this).

Ops, the backward walk and nn's layers must not import the compiler (it sits on top of them), yet
some of them make choices a replay could not repeat: a fresh random mask, a hook, a comparison of
values, a fast path chosen by the targets' values. They report those here; the compiler reads
them. Outside a trace every function here does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodiff.grad_mode import state

__all__ = ["Untraceable", "checks_class_indices", "not_traceable", "replay_check", "structure_changed", "tracing"]

# Bumped whenever a module's attributes may have changed (nn.Module.__setattr__): a counter any
# watcher may compare with the value it last saw.
structure_version = [0]


def structure_changed() -> None:
    """Tell compiled functions that some module's parameters, sub-modules or settings changed."""
    structure_version[0] += 1


class Untraceable(Exception):
    """Raised inside a trace by `not_traceable`: the compiled function runs eagerly instead."""


def tracing() -> bool:
    """True while `ad.compile` traces a function in this thread."""
    return state.tracer is not None


def not_traceable(reason: str) -> None:
    """Called by code whose result a replay could not reproduce (a fresh random mask, running
    statistics updated outside the graph, a mask made from values): while tracing, the compiled
    function runs eagerly instead, with a warning naming `reason`. Outside a trace it does nothing."""
    if state.tracer is not None:
        raise Untraceable(reason)


def replay_check(check: Callable[..., Any], arrays: tuple, result: Any) -> None:
    """Code that chose by the values of `arrays` (say, a loss's fast path, taken because no target
    is ignored) calls this with `check(*arrays) == result`: every replay runs `check` again on that
    call's arrays first (an error it raises is the call's error, as eagerly) and traces again when
    its result differs. The arrays must be the function's arguments (or constants). Outside a trace
    it does nothing."""
    tracer = state.tracer
    if tracer is not None:
        tracer.check(check, arrays, result)


def checks_class_indices(check: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a `replay_check` function of class indices: `check(t, (N, C), ignore_index)` is False
    exactly when t holds N integers, each a class in 0..C−1, and ignore_index is none of them. A
    compiled step whose ignore_index is no class may then check them by its own indexing (a
    target out of 0..C−1 fails it, and the step runs eagerly) instead of calling `check` first."""
    check.class_indices = True  # type: ignore[attr-defined]
    return check
