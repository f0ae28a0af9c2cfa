"""What a user types, parsed the same way for the command line and the page: numbers in an interval, layer sizes.

Each parser raises `ValueError` with a message that quotes the text; the command line turns it into
argparse's one-line error, the page shows it next to the control.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def integer(text: Any) -> int:
    """An int from an int or its text (' 30 '); a text too long to be a sensible size is refused unread."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    text = str(text).strip()
    if len(text) > 18:
        raise ValueError(text)
    return int(text)


def number(
    kind: type, low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False
) -> Callable[[Any], Any]:
    """A parser of `kind` (int or float) that checks the value lies in the interval from `low` to `high`."""
    def parse(text: Any) -> Any:
        shown = repr(str(text)[:40])
        try:
            if isinstance(text, bool):
                raise ValueError(text)
            value = integer(text) if kind is int else float(text)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{shown} is not a{'n integer' if kind is int else ' number'}") from None
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (above and below and math.isfinite(value)):
            lo = ("(" if low_open else "[") + f"{low:g}"
            hi = "∞)" if not math.isfinite(high) else f"{high:g}" + (")" if high_open else "]")
            raise ValueError(f"{shown} is outside {lo}, {hi}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def layer_sizes(text: Any) -> tuple[int, ...]:
    """'8,8' → (8, 8); '' or 'none' → () (no hidden layer: a linear model). '0' is refused like '0,8'."""
    text = str(text).strip()
    if text.lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(integer(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a comma-separated list of layer sizes such as 8,8") from None
    if any(s < 1 for s in sizes):
        raise ValueError(f"{text[:40]!r}: every layer size must be at least 1")
    return sizes
