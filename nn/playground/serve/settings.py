"""The browser playground's set-up: every control's value, parsed and checked in one place.

The page sends values as text (from its controls or from the URL fragment); `Settings.update`
parses them all, checks them together and returns either new settings or, for every bad value,
a message for the control it came from, so that a bad value changes nothing. `Settings.fragment`
is the canonical text of each value, which the page writes back into its controls and its URL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nn.datasets import CLASSIFICATION, DATASETS, MULTICLASS
from nn.playground.cli import ACTIVATIONS, OPTIMIZERS
from nn.playground.serve.features import FEATURES, one_input
from nn.playground.values import integer, layer_sizes, number

SPEEDS = ("1", "3", "10", "25")  # epochs a frame, as the page's menu offers them
DROPOUTS = ("0", "0.1", "0.2", "0.3", "0.5")  # the page's menu of dropout probabilities
REGULARIZATIONS = ("none", "L1", "L2")
DATASET_CHOICES = (*DATASETS, "custom")  # "custom": points the user drew or uploaded

# Bounds on the work one page may ask of the server.
MAX_LAYERS = 10
MAX_UNITS = 32
MAX_CLASSES = 6
MAX_POINTS = 2000
MAX_COORD = 10.0
SAMPLES = 500  # points drawn from a built-in data set, train and test together, as the TensorFlow playground


class SettingsError(ValueError):
    """Bad values: `errors` maps each control's id to what is wrong with its value."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(text: Any) -> str:
        if text not in options:
            raise ValueError(f"{str(text)[:40]!r} is not one of {', '.join(options)}")
        return text
    return parse


def parse_hidden(text: Any) -> tuple[int, ...]:
    """'8,8' → (8, 8); '' → () (no hidden layer: a linear model); at most MAX_LAYERS of MAX_UNITS."""
    sizes = layer_sizes(text)
    if len(sizes) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} hidden layers, got {len(sizes)}")
    if any(s > MAX_UNITS for s in sizes):
        raise ValueError(f"at most {MAX_UNITS} units per layer on the page")
    return sizes


def parse_features(text: Any) -> tuple[str, ...]:
    """'x1,x2' → ('x1', 'x2'), in the order of FEATURES; at least one."""
    names = [] if not str(text).strip() else [n.strip() for n in str(text).split(",")]
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0][:20]!r}; choose from {', '.join(FEATURES)}")
    if not names:
        raise ValueError("choose at least one input feature")
    return tuple(n for n in FEATURES if n in names)


def parse_points(value: Any) -> tuple[tuple[float, float, int], ...]:
    """Points the user drew or uploaded: 'x:y:c;x:y:c…' (the URL's form) or [[x, y, c], …] (a message's)."""
    if isinstance(value, str):
        rows = [r.split(":") for r in value.split(";") if r.strip()] if value.strip() else []
    elif isinstance(value, (list, tuple)):
        rows = list(value)
    else:
        raise ValueError("must be a list of points x, y, class")
    if len(rows) > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS} points, got {len(rows)}")
    points = []
    for i, row in enumerate(rows):
        try:
            if isinstance(row, (str, bytes)) or len(row) != 3:
                raise ValueError
            x, y = float(row[0]), float(row[1])
            c = integer(row[2])
        except (TypeError, ValueError, LookupError):
            raise ValueError(f"point {i + 1} is not x, y, class") from None
        if not (abs(x) <= MAX_COORD and abs(y) <= MAX_COORD):
            raise ValueError(f"point {i + 1} lies outside [-{MAX_COORD:g}, {MAX_COORD:g}]²")
        if not 0 <= c < MAX_CLASSES:
            raise ValueError(f"point {i + 1} has class {c}; classes are 0 to {MAX_CLASSES - 1}")
        points.append((round(x, 3), round(y, 3), int(c)))
    return tuple(points)


def _format_points(points: tuple[tuple[float, float, int], ...]) -> str:
    return ";".join(f"{x:g}:{y:g}:{c}" for x, y, c in points)


# id (as the page and the URL fragment name it) → (parser, formatter). Order is the fragment's order.
FIELDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], str]]] = {
    "dataset": (_choice(DATASET_CHOICES), str),
    "classes": (number(int, 2, MAX_CLASSES), str),
    "noise": (number(int, 0, 50), str),  # per cent, as the TensorFlow playground's slider
    "train-ratio": (number(int, 10, 90), str),
    "batch-size": (number(int, 1, SAMPLES), str),
    "seed": (number(int, 0, 2**31 - 1), str),
    "features": (parse_features, ",".join),
    "hidden": (parse_hidden, lambda h: ",".join(map(str, h))),
    "activation": (_choice(ACTIVATIONS), str),
    "optimizer": (_choice(OPTIMIZERS), str),
    "dropout": (lambda v: float(_choice(DROPOUTS)(str(v))), lambda p: f"{p:g}"),
    "lr": (number(float, 0, 10, low_open=True), repr),
    "momentum": (number(float, 0, 1, high_open=True), repr),
    "regularization": (_choice(REGULARIZATIONS), str),
    "reg-rate": (number(float, 0, 10), repr),
    "speed": (lambda v: int(_choice(SPEEDS)(str(v))), str),
    "points": (parse_points, _format_points),
}

# What a change of each setting asks for: new data, a new network, or neither (applied as it trains).
NEW_DATA = frozenset({"dataset", "classes", "noise", "train-ratio", "seed", "points"})
NEW_MODEL = frozenset({"features", "hidden", "activation", "dropout"})


def _attr(key: str) -> str:
    return key.replace("-", "_")


@dataclass(frozen=True)
class Settings:
    """One playground set-up. The defaults are the page's start: a 2-8-8-2 tanh network on the spiral."""

    dataset: str = "spiral"
    classes: int = 2
    noise: int = 0  # per cent: 0 to 50, as the TensorFlow playground (the data set's own scale in `session`)
    train_ratio: int = 50
    batch_size: int = 10
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    optimizer: str = "sgd"
    dropout: float = 0.0
    lr: float = 0.03
    momentum: float = 0.9
    regularization: str = "none"
    reg_rate: float = 0.0
    speed: int = 3
    points: tuple[tuple[float, float, int], ...] = ()

    @property
    def regression(self) -> bool:
        """True for the sine: one input x, a real-valued output, mean squared error."""
        return self.dataset in DATASETS and self.dataset not in CLASSIFICATION

    @property
    def n_classes(self) -> int:
        """Number of classes the network tells apart (1 output for regression)."""
        if self.regression:
            return 1
        return self.classes if self.dataset in (*MULTICLASS, "custom") else 2

    @property
    def inputs(self) -> tuple[str, ...]:
        """The features the network gets: the chosen ones this data set has (the sine has x1 only)."""
        return tuple(f for f in self.features if not (self.regression and not one_input(f)))

    @property
    def sizes(self) -> list[int]:
        """Layer sizes: inputs, hidden…, outputs."""
        return [len(self.inputs), *self.hidden, self.n_classes]

    def fragment(self) -> dict[str, str]:
        """Every value as canonical text, keyed by control id (what the URL fragment holds)."""
        return {key: fmt(getattr(self, _attr(key))) for key, (_, fmt) in FIELDS.items()}

    def update(self, values: Mapping[str, Any]) -> tuple[Settings, set[str]]:
        """These settings with `values` (control id → text) applied, and the ids whose value changed.

        Raises `SettingsError` naming every bad value, and then nothing is applied.
        """
        if not isinstance(values, Mapping):
            raise SettingsError({"settings": "must be an object of control id → value"})
        errors: dict[str, str] = {}
        parsed: dict[str, Any] = {}
        for key, text in values.items():
            if key not in FIELDS:
                errors[str(key)[:40]] = "unknown setting"
                continue
            try:
                parsed[_attr(key)] = FIELDS[key][0](text)
            except ValueError as e:
                errors[key] = str(e)
        if errors:
            raise SettingsError(errors)
        new = dataclasses.replace(self, **parsed)
        if new.dataset not in (*MULTICLASS, "custom") and new.classes != 2:
            new = dataclasses.replace(new, classes=2)  # xor has two classes: a link must not say six
        new._check_together(set(values))
        changed = {key for key in FIELDS if getattr(new, _attr(key)) != getattr(self, _attr(key))}
        return new, changed

    def _check_together(self, given: set[str]) -> None:
        """The rules that tie values together; the error goes to the control the user just set."""
        def blame(*keys: str) -> str:
            return next((k for k in keys if k in given), keys[0])

        errors: dict[str, str] = {}
        if not self.inputs:
            errors[blame("features", "dataset")] = "the sine has one input: choose x1, x1² or sin x1"
        if self.dataset == "custom":
            labels = {c for _, _, c in self.points}
            if len(self.points) < 4:
                errors[blame("points", "dataset")] = "draw or upload at least 4 points first"
            elif len(labels) < 2:
                errors[blame("points", "dataset")] = "your points need at least two classes"
            elif max(labels) >= self.classes:
                errors[blame("classes", "points")] = f"your points use class {max(labels)}: choose at least {max(labels) + 1} classes"
        if errors:
            raise SettingsError(errors)
