"""`ad.compile(fn)`: what it returns, and how a call finds (or makes) the trace it replays.

A call's key is its grad mode and its arguments' structure (Tensors and arrays by shape, dtype
and requires_grad, inside tuples, lists and dicts; keyword names; every other value itself). A
trace found under that key replays only if its watch passes: everything else the function read is
unchanged (autodiff.compiler.guards). Otherwise the function traces again. Some functions cannot be
replayed at all (a fresh random mask, a comparison of values); they run eagerly, with one warning
naming the reason.
"""

from __future__ import annotations

import functools
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff import anomaly
from autodiff.compiler.calls import watching_calls
from autodiff.compiler.codegen import Diverged, Trace, _always
from autodiff.compiler.guards import MAX_CHECKS, watch_for
from autodiff.compiler.keys import aliases, flatten
from autodiff.compiler.tracer import Tracer
from autodiff.grad_mode import state
from autodiff.tensor import Tensor
from autodiff.tracing import Untraceable

#: Traces one compiled function keeps; past it the oldest is dropped (with one warning).
MAX_TRACES = 64


def _plain(args: tuple) -> tuple | None:
    """`flatten`'s structure for arguments that are all Tensors or arrays, or None."""
    parts = []
    for a in args:
        t = type(a)
        if t is Tensor:
            d = a.data
            parts.append((d.shape, d.dtype, a.requires_grad))
        elif t is np.ndarray:
            parts.append(("array", a.shape, a.dtype))
        else:
            return None
    return (tuple(parts), ())


def _never() -> bool:
    return False


class _Eager:
    """A cache entry for a call that runs eagerly, valid while what the function reads is unchanged."""

    __slots__ = ("watch",)

    def __init__(self, watch: Callable[[], bool]) -> None:
        self.watch = watch

    def guard(self) -> bool:
        return self.watch()


class Compiled:
    """What `ad.compile` returns: call it as the function; `traces` counts its traces."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function or an nn.Module, got {type(fn).__name__}")
        self.fn = fn
        self.__wrapped__ = fn
        if isinstance(fn, types.FunctionType):
            functools.update_wrapper(self, fn, updated=())
        self.traces = 0
        self._cache: dict[tuple, Trace | _Eager] = {}
        self._reached: set[int] = set()  # ids of Tensors and arrays any trace reached outside its arguments
        self._warned: set[str] = set()

    def __reduce__(self) -> tuple:
        # The traces are a cache: a copy (or a pickle) is the function compiled afresh.
        from autodiff.compiler import compile

        return compile, (self.fn,)

    def __getattr__(self, name: str) -> Any:
        # `compiled.parameters()`, `compiled.train()`: the module's own attributes.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["fn"], name)

    @property
    def code(self) -> str:
        """The Python source of the most recent trace: what a call runs."""
        traces = [t for t in self._cache.values() if isinstance(t, Trace)]
        return traces[-1].code if traces else ""

    def _key(self, leaves: Sequence[Any], tree: tuple) -> tuple:
        reached = self._reached
        # An argument that is also a Tensor the function reads from its closure (`dist(center)`) is
        # one slot in that trace: a call with another Tensor must not replay it.
        shared = ()
        if reached and not reached.isdisjoint(map(id, leaves)):
            shared = tuple((i, id(a)) for i, a in enumerate(leaves) if id(a) in reached)
        return (state.enabled, tree, aliases(leaves), shared)

    def replay_conditions(self, trace: Trace, args: tuple, name: Callable[[Any, str], str],
                          leaf_name: Callable[[Tensor], str]) -> list[str] | None:
        """`entry` as code, for a plain call like `args` (Tensors and arrays, none shared): conditions on
        `a0, a1, …` that hold when a call's key is this one and `trace`'s guard passes, so that the
        call may replay `trace` without the lookup. None for a call it cannot write so."""
        tree = _plain(args)
        leaves = list(args)
        if tree is None or aliases(leaves) is not None or self._key(leaves, tree)[3]:
            return None
        conds, objects = [], []
        tensor, array = name(Tensor, "Tensor"), name(np.ndarray, "ndarray")
        for i, a in enumerate(args):
            if type(a) is Tensor:
                conds += [f"type(a{i}) is {tensor}", f"a{i}.requires_grad is {a.requires_grad}",
                          f"a{i}.data.shape == {a.data.shape!r}", f"a{i}.data.dtype == {name(a.data.dtype, 'dtype')}"]
                objects += [(i, f"a{i}"), (i, f"a{i}.data")]
            else:
                conds += [f"type(a{i}) is {array}", f"a{i}.shape == {a.shape!r}", f"a{i}.dtype == {name(a.dtype, 'dtype')}"]
                objects.append((i, f"a{i}"))
        # no aliases: no two arguments one object or over one array
        conds += [f"{x} is not {y}" for n, (i, x) in enumerate(objects) for j, y in objects[n + 1:] if i != j]
        if self._reached:  # no argument that is also a Tensor a trace reached from the closure
            conds += [f"id(a{i}) not in {name(self._reached, 'reached')}" for i in range(len(args))]
        for t, rg, shape, dtype in trace.leaf_guard:
            P = leaf_name(t)
            conds += [f"{P}.requires_grad is {rg}", f"{P}.data.shape == {shape!r}", f"{P}.data.dtype == {name(dtype, 'dtype')}"]
        if trace.watch is not _always:
            conds.append(f"{name(trace.watch, 'watch')}()")
        return conds

    def entry(self, args: tuple, kwargs: dict) -> tuple[Trace | _Eager, Sequence[Any], tuple]:
        """The trace (or the note to run eagerly) for this call, traced now if there is none valid;
        with the call's Tensors and arrays (`leaves`) and its structure."""
        tree = _plain(args) if not kwargs else None  # the common call, keyed without the general walk
        if tree is None:
            leaves, tree = flatten(args, kwargs)
        else:
            leaves = args
        key = self._key(leaves, tree)
        entry = self._cache.get(key)
        if entry is None or not entry.guard():
            entry = self._trace(args, kwargs, leaves, tree)
        return entry, leaves, tree

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if state.tracer is not None or anomaly.active():
            return self.fn(*args, **kwargs)  # inside another trace it is just ops; under anomaly, checked eagerly
        entry, leaves, tree = self.entry(args, kwargs)
        if type(entry) is _Eager:
            return self.fn(*args, **kwargs)
        try:
            return entry.call((args, kwargs), *leaves)
        except Diverged:  # a value the trace chose by (say, an ignored target) is different now
            entry = self._trace(args, kwargs, leaves, tree)
            if type(entry) is _Eager:
                return self.fn(*args, **kwargs)
            return entry.call((args, kwargs), *leaves)

    def _trace(self, args: tuple, kwargs: dict, leaves: Sequence[Any], tree: tuple) -> Trace | _Eager:
        enabled = state.enabled
        try:
            # What the function reaches, as it is before this call (a function that changes its own
            # state then traces again on every call, rather than replaying a stale value).
            watch = watch_for(self.fn, args, kwargs)
        except Untraceable as e:  # it reaches too much to watch: eagerly for good (a trace per call would cost more)
            return self._store(self._key(leaves, tree), self._eagerly(str(e), _always))
        tracer = Tracer(leaves, enabled)
        self.traces += 1
        # Recording off, tracer on: every op lands on the tape, none builds a node. The functions
        # it calls are watched as they run (`watching_calls`), so the check is built after.
        state.tracer, state.enabled = tracer, False
        error = None
        try:
            with watching_calls(watch):
                out = self.fn(*args, **kwargs)
        except Untraceable as e:
            error = e
        finally:
            state.tracer, state.enabled = None, enabled
        self._reached |= watch.reached
        key = self._key(leaves, tree)  # (with the grad mode restored: it is part of the key)
        if error is not None:  # eagerly while what it reads stands (a watch too large: for good)
            check = watch.build() if len(watch.lines) <= MAX_CHECKS else _always
            return self._store(key, self._eagerly(str(error), check))
        check = watch.build()
        if not isinstance(out, Tensor):
            raise TypeError(f"compile: the function must return one Tensor, it returned {type(out).__name__}")
        # An array or Tensor argument no op read as it was given was converted first (class indices
        # made integers, say, from a float Tensor): the trace holds the converted copy. One simply
        # unused cannot be told from that, so it runs eagerly too: slower, never stale.
        first = {id(a): i for i, a in reversed(list(enumerate(leaves)))}  # an alias counts as read with its first
        unread = [i for i, a in enumerate(leaves) if i not in tracer.used and first[id(a)] not in tracer.used]
        if unread:
            return self._store(key, self._eagerly(
                f"argument {unread[0]} never reached an op as it was given (unused, or converted or read as "
                "numbers first), so a replay could not read it afresh", check))
        slot = tracer.slot_of.get(id(out))
        if slot is None or tracer.kinds[slot] != "op":
            return self._store(key, self._eagerly(
                "the function returns one of its inputs or a leaf, so there is nothing to replay", check))
        trace = Trace(tracer, slot, self.fn)
        # A function that changed what it reads while traced (filled a cache, counted its calls) did
        # something a replay would not repeat: this call uses the trace, the next one traces again.
        trace.watch = check if check() else _never
        return self._store(key, trace)

    def _store(self, key: tuple, entry: Trace | _Eager) -> Trace | _Eager:
        cache = self._cache
        if key not in cache and len(cache) >= MAX_TRACES:
            del cache[next(iter(cache))]  # the oldest
            self._warn("cache", f"its trace cache is full ({MAX_TRACES} traces: shapes, dtypes or settings keep "
                       "changing); the oldest trace is dropped each time a new one is made")
        cache.pop(key, None)
        cache[key] = entry
        return entry

    def _eagerly(self, reason: str, watch: Callable[[], bool]) -> _Eager:
        self._warn(reason, f"running {getattr(self.fn, '__name__', 'the module')} eagerly: {reason}")
        return _Eager(watch)

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(f"compile: {message}", RuntimeWarning, stacklevel=4)
