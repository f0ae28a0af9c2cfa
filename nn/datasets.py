"""The playground's data sets: four 2-D classification problems and the lecture's 1-D regression.

Each is `f(n, noise=..., rng=None) -> (X, t)` with `X` of shape `(n, d)`. For classification
(`spiral`, `xor`, `circle`, `gauss`) `t` holds integer class indices 0 and 1, shape `(n,)` (`spiral`
and `gauss` take `classes=k` for k classes 0 … k−1), the classes as balanced as `n` allows and
the samples in random order; for `sine`, `t` holds floats of shape `(n, 1)`. Points lie roughly in
the square [-1, 1]²; `noise` is the standard deviation of Gaussian noise added to the coordinates
(to the targets for `sine`). Randomness comes from `rng`, a
`numpy.random.Generator` (or an int seed), and otherwise from the generator `ad.manual_seed` resets.

>>> import numpy as np
>>> from nn import datasets
>>> X, t = datasets.spiral(200, noise=0.05, rng=np.random.default_rng(0))
>>> X.shape, t.shape, sorted(set(t.tolist()))
((200, 2), (200,), [0, 1])
>>> X, t = datasets.sine(50, noise=0.1, rng=np.random.default_rng(0))
>>> X.shape, t.shape, t.dtype
((50, 1), (50, 1), dtype('float64'))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad

__all__ = ["CLASSIFICATION", "DATASETS", "MULTICLASS", "REGRESSION", "circle", "gauss", "load", "sine", "spiral", "xor"]


def generator(rng: Any, who: str) -> np.random.Generator:
    """`rng` as a Generator: None means the default one `ad.manual_seed` resets, an int is a seed."""
    if rng is None:
        return ad.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{who}: rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def _check(n: Any, noise: Any, who: str, least: int = 1) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{who}: n must be an int, got {type(n).__name__}")
    if n < least:
        raise ValueError(f"{who}: n must be at least {least}, got {n}")
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: noise must be a number, got {noise!r}") from None
    if not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"{who}: noise must be a finite number ≥ 0, got {noise!r}")
    return int(n), noise


def _labels(n: int, classes: int = 2) -> np.ndarray:
    """Class c for samples c·n//k up to (c+1)·n//k: the k classes as balanced as n allows (n // 2 zeros for k = 2)."""
    starts = np.arange(1, classes) * n // classes
    return np.searchsorted(starts, np.arange(n), side="right").astype(np.int64)


def _classes(classes: Any, n: int, who: str) -> int:
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)):
        raise TypeError(f"{who}: classes must be an int, got {type(classes).__name__}")
    if not 2 <= classes <= n:
        raise ValueError(f"{who}: classes must be between 2 and n = {n}, got {classes}")
    return int(classes)


def _finish(X: np.ndarray, t: np.ndarray, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(t))
    return X[order], t[order]


def spiral(n: int, noise: float = 0.05, rng: Any = None, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spirals, one arm per class, 1¾ turns each out to radius 1: the playground's hardest problem.

    Point i of class c sits at radius r = i / m and angle 3.5π r + 2πc / k, m points per class and
    k = `classes` arms (two by default: the second arm turned by π).
    """
    n, noise = _check(n, noise, "spiral", least=2)
    classes = _classes(classes, n, "spiral")
    rng = generator(rng, "spiral")
    t = _labels(n, classes)
    counts = np.bincount(t, minlength=classes)
    # position of each point along its own arm, in [0, 1)
    r = np.concatenate([np.arange(c) / c for c in counts])
    angle = 3.5 * np.pi * r + 2 * np.pi * t / classes
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    return _finish(X, t, noise, rng)


def xor(n: int, noise: float = 0.05, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]², class 1 where x₁x₂ < 0: no line separates the classes.

    Points are kept 0.05 away from the axes, as in the playground, so the classes do not touch
    before noise is added.
    """
    n, noise = _check(n, noise, "xor", least=2)
    rng = generator(rng, "xor")
    t = _labels(n)
    X = rng.uniform(0.05, 1.0, size=(n, 2))
    # class 0 in the 1st and 3rd quadrants, class 1 in the 2nd and 4th; random quadrant per point
    flip = rng.integers(0, 2, size=n).astype(bool)
    sx = np.where(flip, -1.0, 1.0)
    sy = np.where(t == 0, sx, -sx)
    X = X * np.stack([sx, sy], axis=1)
    return _finish(X, t, noise, rng)


def circle(n: int, noise: float = 0.05, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 inside radius 0.5, class 1 on a ring between radii 0.7 and 1: separable by a circle."""
    n, noise = _check(n, noise, "circle", least=2)
    rng = generator(rng, "circle")
    t = _labels(n)
    r = np.where(t == 0, rng.uniform(0.0, 0.5, n), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    return _finish(X, t, noise, rng)


def gauss(n: int, noise: float = 0.05, rng: Any = None, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs (std 0.2), one per class: nearly linearly separable.

    Two classes sit at (0.5, 0.5) and (-0.5, -0.5); k = `classes` blobs sit on the circle of radius
    √½ through those points, at angles π/4 + 2πc / k.
    """
    n, noise = _check(n, noise, "gauss", least=2)
    classes = _classes(classes, n, "gauss")
    rng = generator(rng, "gauss")
    t = _labels(n, classes)
    if classes == 2:
        centres = np.where(t[:, None] == 0, 0.5, -0.5)
    else:
        angle = np.pi / 4 + 2 * np.pi * t / classes
        centres = np.sqrt(0.5) * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centres + 0.2 * rng.standard_normal((n, 2))
    return _finish(X, t, noise, rng)


def sine(n: int, noise: float = 0.1, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's regression: x uniform in [-3, 3], t = sin(x) + noise·ε with ε ~ N(0, 1)."""
    n, noise = _check(n, noise, "sine")
    rng = generator(rng, "sine")
    X = rng.uniform(-3.0, 3.0, size=(n, 1))
    t = np.sin(X) + noise * rng.standard_normal((n, 1))
    return X, t


Dataset = Callable[..., tuple[np.ndarray, np.ndarray]]

CLASSIFICATION: dict[str, Dataset] = {"spiral": spiral, "xor": xor, "circle": circle, "gauss": gauss}
REGRESSION: dict[str, Dataset] = {"sine": sine}
MULTICLASS: tuple[str, ...] = ("spiral", "gauss")  # the ones that take classes=k
DATASETS: dict[str, Dataset] = {**CLASSIFICATION, **REGRESSION}


def load(name: str, n: int, noise: float, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The data set called `name` (one of `DATASETS`), e.g. `load("xor", 100, 0.1, rng)`."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name](n, noise=noise, rng=rng)
