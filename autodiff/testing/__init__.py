"""Testing helpers: `gradcheck` against finite differences, Hypothesis `strategies`, random `programs`.

`strategies` and `programs` need Hypothesis (the `testing` extra), so they are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from autodiff.extras import require
from autodiff.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "programs", "strategies"]


def __getattr__(name: str) -> Any:
    if name in ("strategies", "programs"):
        require(["hypothesis"], "testing", f"autodiff.testing.{name}")
        return importlib.import_module(f"autodiff.testing.{name}")
    raise AttributeError(f"module 'autodiff.testing' has no attribute {name!r}")
