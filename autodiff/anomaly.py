"""`detect_anomaly()`: stop at the first NaN or infinity, naming the op and the user's line.

Off, it costs nothing: while some thread has it on, the op decorator's node constructor is
swapped for one that, in those threads only, checks each forward value and remembers where the
node was created; backward checks each gradient it computes in those threads.
"""

from __future__ import annotations

import os
import threading
import traceback
import weakref
from collections.abc import Iterator
from contextlib import ContextDecorator, contextmanager
from typing import Any

import numpy as np

_lock = threading.Lock()
_threads_on = 0  # how many threads are inside detect_anomaly: the checking constructor is installed


class _Depth(threading.local):
    value = 0
    backward_of: Any = None  # the node whose gradient is being recorded (create_graph=True), if any


_depth = _Depth()


class _Sites:
    """Where each tensor was created, held weakly and by identity: a WeakKeyDictionary would compare
    tensors with `==`, which gives an array of booleans."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[weakref.ref, str]] = {}

    def __setitem__(self, t: Any, site: str) -> None:
        key, by_id = id(t), self._by_id
        by_id[key] = (weakref.ref(t, lambda _, key=key: by_id.pop(key, None)), site)

    def get(self, t: Any, default: str) -> str:
        entry = self._by_id.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else default


_sites = _Sites()
_PACKAGES = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name) + os.sep
    for name in ("autodiff", "nn")
)


def active() -> bool:
    """True inside `detect_anomaly()` in the calling thread."""
    return _threads_on > 0 and _depth.value > 0  # the global first: no thread-local read while none is inside


def _user_site() -> str:
    """File and line of the innermost frame outside autodiff and nn: the user's code."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGES):
            return f"{frame.filename}:{frame.lineno}" + (f": {frame.line}" if frame.line else "")
    return "<unknown>"


def _finite(a: Any) -> bool:
    return bool(np.isfinite(a).all())


def _checked_node(data: np.ndarray, op: Any, parents: tuple, saved: tuple) -> Any:
    if not _depth.value:  # another thread asked for the checks, not this one
        return _plain_node(data, op, parents, saved)
    owner = _depth.backward_of
    if owner is not None:
        # A step of a recorded gradient (create_graph=True). Its values are not checked one by one:
        # a VJP may pass through ∞ to a finite result (pow replaces its 0 · ∞), and what it returns
        # is checked by `check_backward`, which blames the op whose VJP it is, at its own line.
        t = _plain_node(data, op, parents, saved)
        _sites[t] = f"{_sites.get(owner, '<created outside detect_anomaly>')} (in the backward of {owner._op.name})"
        return t
    site = _user_site()
    if not _finite(data):
        raise FloatingPointError(
            f"detect_anomaly: {op.name} produced {_what(data)} in the forward pass, at {site}"
        )
    t = _plain_node(data, op, parents, saved)
    _sites[t] = site
    return t


def _what(a: Any) -> str:
    return "NaN" if np.isnan(a).any() else "infinity"


def check_backward(t: Any, i: int, g: Any) -> None:
    """Raise if the gradient that t's op sends to its input i is not finite."""
    data = g.data if hasattr(g, "requires_grad") else g
    if not _finite(data):
        name = t._op.name
        site = _sites.get(t, "<created outside detect_anomaly>")
        raise FloatingPointError(
            f"detect_anomaly: the backward of {name} produced {_what(data)} in the gradient of its "
            f"input {i}; that {name} was created at {site}"
        )


@contextmanager
def backward_of(t: Any) -> Iterator[None]:
    """Inside, the ops being recorded compute the gradient of t's inputs (create_graph=True)."""
    outer = _depth.backward_of
    _depth.backward_of = t
    try:
        yield
    finally:
        _depth.backward_of = outer


class detect_anomaly(ContextDecorator):
    """Check every forward value and every backward gradient; on the first NaN or infinity raise
    `FloatingPointError` naming the op and the file and line of user code that created it.

    >>> import autodiff as ad
    >>> x = ad.Tensor([0.0, 1.0], requires_grad=True)
    >>> with ad.detect_anomaly():
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: log produced infinity in the forward pass, at ...
    """

    def __enter__(self) -> detect_anomaly:
        global _threads_on
        # NumPy's warnings for the same NaN or infinity would only repeat the error raised here.
        quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")
        quiet.__enter__()
        self.__dict__.setdefault("_quiet", []).append(quiet)
        _depth.value += 1
        if _depth.value == 1:
            with _lock:
                _threads_on += 1
                _op_module.__dict__["_node"] = _checked_node
        return self

    def __exit__(self, *exc: object) -> None:
        global _threads_on
        _depth.value -= 1
        if _depth.value == 0:
            with _lock:
                _threads_on -= 1
                if _threads_on == 0:
                    _op_module.__dict__["_node"] = _plain_node
        self._quiet.pop().__exit__(*exc)


import autodiff.op as _op_module  # noqa: E402  (anomaly is imported by backward, after op)

_plain_node = _op_module._node
