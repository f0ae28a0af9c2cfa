"""Whether ops record a graph: `no_grad()` and `enable_grad()`, per thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any


class _GradState(threading.local):
    # A class attribute is every new thread's starting value: recording on.
    enabled = True
    # While `ad.compile` traces a function in this thread, its Tracer: ops then record onto its
    # tape instead of building nodes (recording is off meanwhile, and the tracer keeps the grad
    # mode the function asked for).
    tracer: Any = None


state = _GradState()


def is_grad_enabled() -> bool:
    """True when ops in this thread record the graph for backward."""
    tracer = state.tracer
    return state.enabled if tracer is None else tracer.grad_enabled


class _SetGrad(ContextDecorator):
    _value = True

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        # `@no_grad` without parentheses hands us the function itself: decorate it, as PyTorch does.
        self = super().__new__(cls)
        if func is None:
            return self
        if not callable(func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or a function to decorate; got {type(func).__name__}")
        self.__init__()
        return self(func)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        # Saved states per thread, so one object can be nested or shared by threads.
        self._local = threading.local()

    def __enter__(self) -> None:
        stack = self._local.__dict__.setdefault("stack", [])
        tracer = state.tracer
        if tracer is None:
            stack.append(state.enabled)
            state.enabled = self._value
        else:  # tracing: recording stays off, the tracer notes the mode the function asked for
            stack.append(tracer.grad_enabled)
            tracer.grad_enabled = self._value

    def __exit__(self, *exc: object) -> None:
        tracer = state.tracer
        if tracer is None:
            state.enabled = self._local.stack.pop()
        else:
            tracer.grad_enabled = self._local.stack.pop()


class no_grad(_SetGrad):
    """Record nothing inside: results require no grad and keep no graph.

    Works as a context manager and as a decorator (`@no_grad` or `@no_grad()`), and only in the
    calling thread.

    >>> import autodiff as ad
    >>> w = ad.Tensor([1.0, 2.0], requires_grad=True)
    >>> with ad.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _value = False


class enable_grad(_SetGrad):
    """Record the graph again inside a `no_grad` block (context manager or decorator, with or without parentheses)."""

    _value = True
