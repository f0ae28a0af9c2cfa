"""Optional dependencies: which extra brings them, and one clear line when one is missing.

The core needs only numpy and graphviz; plots, the web server, Hypothesis strategies and the SciPy
bridge come with extras of the distribution `autodiff-playground` (the import names stay
`autodiff` and `nn`). `require` is called before any work is done, so a missing package never
costs a training run.
"""

from __future__ import annotations

import importlib.util

DISTRIBUTION = "autodiff-playground"


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the extra that installs it."""


def install_hint(extra: str) -> str:
    """The command that installs `extra`: pip install 'autodiff-playground[extra]'."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def require(modules: tuple[str, ...] | list[str], extra: str, feature: str) -> None:
    """Raise `MissingExtra` naming `extra` unless every one of `modules` can be imported.

    >>> require(["numpy"], "test", "this example")
    >>> require(["no_such_module_here"], "playground", "drawing")
    Traceback (most recent call last):
    ...
    autodiff.extras.MissingExtra: drawing needs no_such_module_here, in the playground extra: pip install 'autodiff-playground[playground]'
    """
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtra(f"{feature} needs {', '.join(missing)}, in the {extra} extra: {install_hint(extra)}")
