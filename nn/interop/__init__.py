"""Moving models to other frameworks: PyTorch (`to_torch`, `from_torch`) and ONNX (`export_onnx`).

Both bridges work from one table of layer kinds (`nn.interop.layers`): each of our layers, its
torch class, and the settings that rebuild it on either side; weights then move by name, since
ours are torch's. A module is converted only if its kind is in the table and its `forward` is that
kind's own: a subclass that overrides `forward` (a `Sequential` that adds a residual, say) is
refused with a `TypeError` naming it, before any work is done, as is any module the table lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nn.modules.container import Sequential
from nn.modules.module import Module


def unsupported(module: Any, who: str, why: str = "is not supported", kinds: Any = None) -> TypeError:
    """The TypeError naming a module the bridge `who` refuses, and what it knows (`kinds`, default: every kind)."""
    from nn.interop.layers import KINDS

    names = sorted(c.__name__ for c in (KINDS if kinds is None else kinds) if c.__name__ != "Linear")
    known = ", ".join(["Linear", "Sequential (and MLP)", *names])
    return TypeError(f"{who}: {type(module).__name__} {why}; it knows {known}")


def kind_of(module: Any, who: str) -> type[Module]:
    """The table's class whose forward `module` runs (its own class, or a base whose forward it keeps), or a TypeError.

    A subclass converts as its base only when it changes neither `forward` nor `__call__`: what
    the bridge writes is the base's computation, so anything else would be silently dropped.
    """
    from nn.interop.layers import KINDS

    cls = type(module)
    for base in cls.__mro__:
        if base in KINDS or base is Sequential:
            if cls.forward is not base.forward or cls.__call__ is not base.__call__:
                raise unsupported(module, who, f"overrides {base.__name__}.forward (or __call__), which the bridge "
                                               f"cannot convert faithfully")
            return base
    raise unsupported(module, who)


def check(module: Any, who: str) -> None:
    """Refuse, before any work, anything in `module` that the bridges cannot convert faithfully."""
    list(walk(module, who))


def walk(module: Any, who: str) -> Iterator[Module]:
    """The layers of `module` in the order they are applied, Sequentials opened (each one checked)."""
    stack, out = [module], []
    while stack:
        m = stack.pop()
        if kind_of(m, who) is Sequential:
            stack.extend(reversed(m.layers))
        else:
            out.append(m)
    return iter(out)


def flatten(module: Any, who: str) -> Iterator[Module]:
    """The same as `walk`: kept for callers of the first bridges."""
    return walk(module, who)


def to_torch(module: Module) -> Any:
    """The equivalent `torch.nn` module, with copies of the same weights (and their dtype)."""
    from nn.interop.pytorch import to_torch

    return to_torch(module)


def from_torch(module: Any) -> Module:
    """The equivalent `nn` module of a `torch.nn` one, with copies of the same weights."""
    from nn.interop.pytorch import from_torch

    return from_torch(module)


def export_onnx(module: Module, path: Any, dtype: Any = None, input_shape: Any = None) -> None:
    """Write `module` as an ONNX model to `path` (see `nn.interop.onnx_export`)."""
    from nn.interop.onnx_export import export_onnx

    export_onnx(module, path, dtype, input_shape)
