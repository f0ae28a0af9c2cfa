"""Feeding data to training: shuffled mini-batches and K-fold cross-validation splits.

>>> import numpy as np
>>> from nn.data import batches, kfold
>>> X, t = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> [tb.tolist() for _, tb in batches(X, t, batch_size=2, shuffle=False)]
[[0, 1], [2, 3], [4]]
>>> [test.tolist() for _, test in kfold(5, 2, shuffle=False)]
[[0, 1, 2], [3, 4]]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nn.datasets import generator

__all__ = ["batches", "kfold"]


def _positive_int(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{who}: {name} must be at least 1, got {value}")
    return int(value)


def batches(
    X: Any, t: Any, batch_size: int, shuffle: bool = True, rng: np.random.Generator | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield mini-batches `(Xb, tb)` of `batch_size` rows (the last may be smaller), every sample once.

    With `shuffle` the order is a fresh permutation drawn from `rng` (default: the generator
    `ad.manual_seed` resets) each time you iterate; X and t are indexed along their first axis
    together, so each Xb[i] stays paired with its tb[i].
    """
    X, t = np.asarray(X), np.asarray(t)
    batch_size = _positive_int(batch_size, "batch_size", "batches")
    if X.ndim == 0 or t.ndim == 0 or len(X) != len(t):
        raise ValueError(f"batches: X and t need the same number of samples (first axis), got shapes {X.shape} and {t.shape}")
    n = len(X)
    if shuffle:
        order = generator(rng, "batches").permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield X[idx], t[idx]
    else:
        for start in range(0, n, batch_size):
            yield X[start : start + batch_size], t[start : start + batch_size]


def kfold(
    n: int, k: int, rng: np.random.Generator | None = None, *, shuffle: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the `k` splits `(train_idx, test_idx)` of K-fold cross-validation over `n` samples.

    The test folds are disjoint, cover 0 … n−1 and differ in size by at most one (the first
    n mod k folds get the extra sample); each train set is everything outside its test fold. With
    `shuffle` the samples are dealt into folds in a random order from `rng` (default: the
    generator `ad.manual_seed` resets); indices come back sorted within each set.
    """
    n = _positive_int(n, "n", "kfold")
    k = _positive_int(k, "k", "kfold")
    if not 2 <= k <= n:
        raise ValueError(f"kfold: k must be between 2 and n = {n}, got {k}")
    order = generator(rng, "kfold").permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    start = 0
    for size in sizes:
        test = order[start : start + size]
        train = np.concatenate([order[:start], order[start + size :]])
        start += size
        yield np.sort(train), np.sort(test)
