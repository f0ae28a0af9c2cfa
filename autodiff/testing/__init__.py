"""Testing helpers: `gradcheck` against finite differences and Hypothesis `strategies`.

`strategies` needs Hypothesis (the `test` extra), so it is imported on first use.
"""

from __future__ import annotations

from typing import Any

from autodiff.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies"]


def __getattr__(name: str) -> Any:
    if name == "strategies":
        from autodiff.testing import strategies

        return strategies
    raise AttributeError(f"module 'autodiff.testing' has no attribute {name!r}")
