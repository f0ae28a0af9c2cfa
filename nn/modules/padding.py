"""Padding, torch's semantics: `nn.functional.pad` and the ZeroPad / ConstantPad / ReflectionPad / ReplicationPad /
CircularPad modules.

torch's pad tuple names the last axis first: (left, right) pads the last axis, (left, right, top,
bottom) the last two; negative widths crop (constant mode). Built on `ad.pad` with NumPy's names for
the modes (reflect; edge for replicate; wrap for circular), whose gradient cuts the padding off δ
and adds up δ of every copied value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.modules.module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d", "pad"]

MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _widths(pad: Any, ndim: int, mode: str) -> list[tuple[int, int]]:
    """torch's flat pad tuple (last axis first) as one (before, after) pair per axis."""
    if isinstance(pad, (int, np.integer)) or isinstance(pad, str):
        raise TypeError(f"pad: pad must be a tuple of ints (left, right, top, bottom, …), got {pad!r}")
    widths = tuple(pad)
    if any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) for w in widths):
        raise TypeError(f"pad: pad must hold ints, got {pad!r}")
    if len(widths) % 2 or len(widths) // 2 > ndim:
        raise ValueError(f"pad: pad {pad!r} must be pairs, at most one per axis of the input's {ndim}")
    if mode != "constant":
        if len(widths) // 2 > ndim - 1:
            raise ValueError(f"pad: {mode} padding of {len(widths) // 2} axes needs an input with a batch or channel "
                             f"axis before them, got {ndim} axes")
        if any(w < 0 for w in widths):
            raise ValueError(f"pad: {mode} padding takes no negative widths, got {pad!r}")
    per_axis = [(0, 0)] * ndim
    for i in range(len(widths) // 2):
        per_axis[ndim - 1 - i] = (int(widths[2 * i]), int(widths[2 * i + 1]))
    return per_axis


def pad(input: Any, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """x padded as `torch.nn.functional.pad(x, pad, mode, value)`: `pad` = (left, right, top, bottom, …), last axis first.

    `mode`: "constant" (with `value`, default 0; negative widths crop), "reflect" (mirror without
    repeating the edge; widths must be smaller than the axis), "replicate" (repeat the edge),
    "circular" (wrap around; widths at most the axis). δ_x = δ_z cut back to x, plus δ of every copy.

    >>> import numpy as np, nn
    >>> nn.functional.pad(np.array([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").data
    array([[3., 2., 1., 2., 3., 2.]])
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"pad: a value is only used by mode='constant', got value={value!r} with mode={mode!r}")
    widths = _widths(pad, x.ndim, mode)
    for axis, ((before, after), n) in enumerate(zip(widths, x.shape)):
        if mode == "reflect" and (before >= n or after >= n):
            raise ValueError(f"pad: reflect padding ({before}, {after}) must be smaller than axis {axis}'s length {n}")
        if mode == "circular" and (before > n or after > n):
            raise ValueError(f"pad: circular padding ({before}, {after}) must be at most axis {axis}'s length {n}")
        if mode == "replicate" and n == 0 and (before or after):
            raise ValueError(f"pad: cannot replicate-pad axis {axis} of length 0")
        if mode == "constant" and before + after + n < 0:
            raise ValueError(f"pad: padding ({before}, {after}) crops more than axis {axis}'s length {n}")
    if any(b < 0 or a < 0 for b, a in widths):  # constant mode only: a negative width crops
        x = x[tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, x.shape))]
        widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if mode == "constant":
        return ad.pad(x, widths, "constant", 0.0 if value is None else float(value))
    return ad.pad(x, widths, MODES[mode])


class _Pad(Module):
    _mode = "constant"
    _axes = 2

    def __init__(self, padding: Any, value: float | None = None) -> None:
        owner = type(self).__name__
        one = isinstance(padding, (int, np.integer)) and not isinstance(padding, bool)
        widths = (padding,) * (2 * self._axes) if one else tuple(padding)
        if len(widths) != 2 * self._axes or any(isinstance(w, bool) or not isinstance(w, (int, np.integer))
                                                 for w in widths):
            raise ValueError(f"{owner}: padding must be an int or {2 * self._axes} ints, got {padding!r}")
        self.padding = tuple(int(w) for w in widths)
        self.value = value

    def forward(self, x: Any) -> Tensor:
        return pad(x, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.value is not None else "")


class ConstantPad1d(_Pad):
    """Pad the last axis with `value`: (left, right) or one int for both."""

    _axes = 1

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, float(value))


class ConstantPad2d(_Pad):
    """Pad the last two axes with `value`: (left, right, top, bottom) or one int for all."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, float(value))


class ZeroPad1d(_Pad):
    """Pad the last axis with zeros."""

    _axes = 1

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(_Pad):
    """Pad the last two axes with zeros: (left, right, top, bottom) or one int for all."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_Pad):
    """Mirror the last axis at its ends (the edge value not repeated)."""

    _mode, _axes = "reflect", 1


class ReflectionPad2d(_Pad):
    """Mirror the last two axes at their ends (the edge values not repeated)."""

    _mode = "reflect"


class ReplicationPad1d(_Pad):
    """Repeat the last axis's edge values."""

    _mode, _axes = "replicate", 1


class ReplicationPad2d(_Pad):
    """Repeat the last two axes' edge values."""

    _mode = "replicate"


class CircularPad1d(_Pad):
    """Wrap the last axis around."""

    _mode, _axes = "circular", 1


class CircularPad2d(_Pad):
    """Wrap the last two axes around."""

    _mode = "circular"
