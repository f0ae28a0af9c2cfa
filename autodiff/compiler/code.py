"""Whose code a watch walks (autodiff.compiler.guards): the user's, not a library's.

Functions and modules of autodiff, nn, NumPy and friends, the standard library and installed
packages read no user settings through their globals, so they are watched by identity only; and
the names a function's code reads, which are the globals and attributes a watch follows.
"""

from __future__ import annotations

import sys
import sysconfig
import types
from typing import Any

#: Code from these packages reads no user state through its globals: its functions are watched by
#: identity only (their closure and globals are library code, not settings).
LIBRARY = frozenset({"autodiff", "nn", "numpy", "builtins", "math", "functools", "operator", "typing", "collections",
                     "itertools", "abc", "types", "warnings", "inspect", "scipy", "torch", "_operator", "copy"})

def is_module(x: Any) -> bool:
    """An nn.Module (without importing nn: the compiler sits below it)."""
    return isinstance(getattr(type(x), "training", None), bool) and hasattr(type(x), "forward")


def filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def global_names(code: types.CodeType) -> list[str]:
    """Names a function's code (and the code nested in it) may read as globals or attributes."""
    names = list(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names += global_names(c)
    return names


def library(x: Any) -> bool:
    """Code or data of autodiff, nn, NumPy and friends, the standard library or an installed package."""
    module = getattr(x, "__module__", None) or getattr(x, "__name__", "")
    if library_name(module):
        return True
    m = x if isinstance(x, types.ModuleType) else sys.modules.get(module) if isinstance(module, str) else None
    if m is None:
        return False
    path = getattr(m, "__file__", None)
    return m.__name__ in sys.builtin_module_names if path is None else path.startswith(SYSTEM)


#: Where the standard library and installed packages live: their code reads no user settings, and
#: code with no file (generated, frozen: "<...>") is not walked either.
SYSTEM = ("<", *sorted({p for k, p in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib")}))


def library_name(module: Any) -> bool:
    return isinstance(module, str) and module.split(".")[0] in LIBRARY
