"""What a trace calls: the functions it reaches as values are watched once it runs them.

A function held in a closure, a global or a container (a helper, a loss, a callback) is read by
the trace only if the trace calls it; then what it reads (its closure, the globals its code
names) is a guard too. Walking every such function before the trace would follow code that never
runs (a test table's helpers, a library's internals) until the watch is too large; so the walk of
a function met as a value waits until the trace calls it: a profile hook (`sys.setprofile`) sees
each Python call and walks that function then, as it is just before it runs. Under another
profiler (which `sys.setprofile` would replace) every function met is walked before the trace
instead: more checks, never fewer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autodiff.compiler.guards import Watch
from autodiff.tracing import Untraceable


@contextmanager
def watching_calls(watch: Watch) -> Iterator[None]:
    """Run the body (the trace) with every deferred function of `watch` walked as it is called.
    Raises Untraceable after the body if walking one failed (too much to watch, say)."""
    if sys.getprofile() is not None:
        watch.walk_deferred()
        yield
        return
    ran: set[Any] = set()
    failed: list[BaseException] = []
    deferred = watch.deferred

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            ran.add(code)
            if code in deferred and not failed:
                try:
                    watch.called(code)
                except Exception as e:  # raised into the traced code it would change what that code does
                    failed.append(e)

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)
    if failed:
        e = failed[0]
        raise Untraceable(str(e) if isinstance(e, Untraceable) else f"watching what it calls failed ({e!r})")
    watch.walk_deferred(ran)  # met only after they ran (a helper's helper): watched as they are now
