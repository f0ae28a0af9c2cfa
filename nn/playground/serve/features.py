"""The TensorFlow playground's input features: what the network sees of a point (x₁, x₂)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# name → (label on the page, the feature of points X of shape (n, 2); the sine's X has x₁ only)
FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1": ("x₁", lambda X: X[:, 0]),
    "x2": ("x₂", lambda X: X[:, 1]),
    "x1sq": ("x₁²", lambda X: X[:, 0] ** 2),
    "x2sq": ("x₂²", lambda X: X[:, 1] ** 2),
    "x1x2": ("x₁x₂", lambda X: X[:, 0] * X[:, 1]),
    "sinx1": ("sin x₁", lambda X: np.sin(X[:, 0])),
    "sinx2": ("sin x₂", lambda X: np.sin(X[:, 1])),
}

# Python source of each feature, for the exported code (X is the array of points).
SOURCE = {
    "x1": "X[:, 0]", "x2": "X[:, 1]", "x1sq": "X[:, 0] ** 2", "x2sq": "X[:, 1] ** 2",
    "x1x2": "X[:, 0] * X[:, 1]", "sinx1": "np.sin(X[:, 0])", "sinx2": "np.sin(X[:, 1])",
}


def one_input(name: str) -> bool:
    """True for the features of x₁ alone, the only ones the 1-D sine has."""
    return "2" not in name


def featurize(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The network's input: one column per feature in `names`, for points X of shape (n, 1 or 2)."""
    return np.stack([FEATURES[n][1](X) for n in names], axis=1)
