"""Testing helpers: `gradcheck` against finite differences and Hypothesis `strategies`.

`strategies` needs Hypothesis (the `test` extra), so it is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from autodiff.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies"]


def __getattr__(name: str) -> Any:
    if name == "strategies":
        return importlib.import_module("autodiff.testing.strategies")
    raise AttributeError(f"module 'autodiff.testing' has no attribute {name!r}")
