"""The TensorFlow playground's input features: what the network sees of a point (x₁, x₂)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# name → (label on the page, the feature as Python source over the points X of shape (n, 2)).
# The source is the one place each feature is written: the server evaluates it, export prints it.
# The points span ±6, as the TensorFlow playground's; the network gets x₁ and x₂ divided by 6 (and
# their products by 36), so every input lies in [-1, 1] and one learning rate suits them all, while
# sin x₁ takes x₁ itself, two turns of the sine across the plane.
SOURCE: dict[str, tuple[str, str]] = {
    "x1": ("x₁", "X[:, 0] / 6"),
    "x2": ("x₂", "X[:, 1] / 6"),
    "x1sq": ("x₁²", "(X[:, 0] / 6) ** 2"),
    "x2sq": ("x₂²", "(X[:, 1] / 6) ** 2"),
    "x1x2": ("x₁x₂", "X[:, 0] * X[:, 1] / 36"),
    "sinx1": ("sin x₁", "np.sin(X[:, 0])"),
    "sinx2": ("sin x₂", "np.sin(X[:, 1])"),
}
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    name: (label, eval(f"lambda X: {code}", {"np": np})) for name, (label, code) in SOURCE.items()
}
ONE_INPUT = frozenset({"x1", "x1sq", "sinx1"})  # the features of x₁ alone, all the 1-D sine has


def one_input(name: str) -> bool:
    """True for the features of x₁ alone, the only ones the 1-D sine has."""
    return name in ONE_INPUT


def featurize(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The network's input: one column per feature in `names`, for points X of shape (n, 1 or 2)."""
    return np.stack([FEATURES[n][1](X) for n in names], axis=1)
