"""Random generators a trace may draw from: a draw gives a new value on every call, which a
replay would not draw again, so a function that draws runs eagerly (autodiff.compiler.calls).

`state` is each generator's position, compared before and after the trace: NumPy's `Generator`,
`BitGenerator` and `RandomState`, Python's `random.Random`, and a Python generator (`next(it)`),
besides the global ones behind `np.random.normal` and `random.random`.
"""

from __future__ import annotations

import random
import types
from typing import Any

import numpy as np

#: Objects whose state moves on every draw.
GENERATORS = (np.random.Generator, np.random.BitGenerator, np.random.RandomState, random.Random, types.GeneratorType)


def state(g: Any) -> Any:
    """g's position: equal before and after a call that drew nothing from it."""
    if isinstance(g, np.random.Generator):
        g = g.bit_generator
    if isinstance(g, np.random.BitGenerator):
        return repr(g.state)
    if isinstance(g, np.random.RandomState):
        _, key, pos, has_gauss, gauss = g.get_state()
        return key.tobytes(), pos, has_gauss, gauss
    if isinstance(g, random.Random):
        return g.getstate()
    frame = g.gi_frame  # a Python generator: where it stands and what its locals hold
    return None if frame is None else (frame.f_lasti, repr(frame.f_locals))


def global_generators() -> list[Any]:
    """The generators behind NumPy's and Python's module-level draws."""
    return [g for g in (getattr(np.random.mtrand, "_rand", None), getattr(random, "_inst", None)) if g is not None]


def name(g: Any) -> str:
    return f"{type(g).__module__}.{type(g).__qualname__}"
