"""The default random generator that every random call without its own `rng` uses."""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to `seed`, making later random calls reproducible."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def default_rng() -> np.random.Generator:
    """The generator used when a random call gets no `rng` (reset by `manual_seed`)."""
    return _default
