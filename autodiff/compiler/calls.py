"""What a trace calls: the functions it reaches as values are watched once it runs them, and a
draw from a random generator makes it run eagerly.

A function held in a closure, a global or a container (a helper, a loss, a callback) is read by
the trace only if the trace calls it; then what it reads (its closure, the globals its code
names) is a guard too. Walking every such function before the trace would follow code that never
runs (a test table's helpers, a library's internals) until the watch is too large; so the walk of
a function met as a value waits until the trace calls it: a profile hook (`sys.setprofile`) sees
each Python call and walks that function then, as it is just before it runs. Where the hook
cannot see (another profiler is installed, the trace runs inside a debugger's trace callback, or
the function installs a profiler of its own) every function met is walked instead: more checks,
never fewer.

A random generator the trace reaches (autodiff.compiler.draws), and the global ones behind
`np.random.normal` and `random.random`, are compared before and after: a draw gives a new value
on every call, which a replay would not draw again, so the function runs eagerly, with a warning.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autodiff.compiler import draws
from autodiff.compiler.guards import Watch
from autodiff.tracing import Untraceable


@contextmanager
def watching_calls(watch: Watch) -> Iterator[None]:
    """Run the body (the trace) with every deferred function of `watch` walked as it is called.
    Raises Untraceable after the body if it drew random numbers or walking one failed (too much
    to watch, say)."""
    before = [(g, draws.state(g)) for g in draws.global_generators()]
    if sys.getprofile() is not None:
        watch.walk_deferred()
        yield
        _drew(before + watch.generators)
        return
    ran: set[Any] = set()
    failed: list[BaseException] = []
    deferred = watch.deferred

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and not failed:
            code = frame.f_code
            ran.add(code)
            try:
                if code in deferred:
                    watch.called(code)
                watch.frame(frame)
            except Exception as e:  # raised into the traced code it would change what that code does
                failed.append(e)

    sys.setprofile(profile)
    try:
        yield
    finally:
        mine = sys.getprofile() is profile
        if mine:  # one the function installed itself stays
            sys.setprofile(None)
    if failed:
        e = failed[0]
        raise e if isinstance(e, Untraceable) else Untraceable(f"watching what it calls failed ({e!r})")
    _drew(before + watch.generators)
    # Unseen calls (a debugger's callback runs without profile events; a profiler of the function's
    # own replaced the hook): every function met is walked now. Else the ones met only after they ran.
    watch.walk_deferred(ran if mine and ran else None)


def _drew(generators: list[tuple[Any, Any]]) -> None:
    for g, state in generators:
        if draws.state(g) != state:
            raise Untraceable(f"it draws from a random generator ({draws.name(g)}) on every call, which a replay "
                              "would not draw again")
