"""The workloads W1–W5: their sizes, their data and initial weights, shared by every implementation.

Each implementation module (`impl_numpy`, `impl_ours`, `impl_torch`) turns a `Problem` into a
`Runner`: `step()` does one timed unit of work, `state()` returns the arrays that must agree
between implementations after one step (weights for W1–W3, value and gradient for W4, the result
for W5). All of them start from copies of the same arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    kind: str  # "mlp" | "chain" | "overhead"
    full: dict
    tiny: dict
    #: What one step is, for the table's footnotes.
    unit: str = "one SGD step"


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in [
        Workload(
            "W1", "lecture net: 1-20-1 tanh, MSE, N=64", "mlp",
            full=dict(sizes=(1, 20, 1), activation="tanh", loss="mse", n=64, lr=0.1),
            tiny=dict(sizes=(1, 5, 1), activation="tanh", loss="mse", n=8, lr=0.1),
        ),
        Workload(
            "W2", "spiral: 2-64-64-3 tanh, cross-entropy, N=384", "mlp",
            full=dict(sizes=(2, 64, 64, 3), activation="tanh", loss="ce", n=384, lr=0.1),
            tiny=dict(sizes=(2, 6, 6, 3), activation="tanh", loss="ce", n=12, lr=0.1),
        ),
        Workload(
            "W3", "MNIST-shaped: 784-256-128-10 ReLU, cross-entropy, batch 128", "mlp",
            full=dict(sizes=(784, 256, 128, 10), activation="relu", loss="ce", n=128, lr=0.01),
            tiny=dict(sizes=(20, 12, 8, 10), activation="relu", loss="ce", n=8, lr=0.01),
        ),
        Workload(
            "W4", "depth: 5,000 × y = tanh(0.9 y + 0.1), sum, backward", "chain",
            full=dict(depth=5000), tiny=dict(depth=40), unit="forward + backward of the chain",
        ),
        Workload(
            "W5", "overhead: c = a * b + a on one-element tensors", "overhead",
            full=dict(reps=200), tiny=dict(reps=5), unit="per op (a loop of c = a * b + a)",
        ),
    ]
}


@dataclass
class Problem:
    """One workload at one dtype and size: the data and initial values every implementation copies."""

    key: str
    kind: str
    dtype: np.dtype
    sizes: tuple = ()
    activation: str = ""
    loss: str = ""
    lr: float = 0.0
    X: np.ndarray | None = None
    t: np.ndarray | None = None
    #: [(W of shape (out, in), b of shape (out,)), ...], the lecture's w_ji layout.
    weights: list = field(default_factory=list)
    depth: int = 0
    reps: int = 0
    x0: np.ndarray | None = None
    b0: np.ndarray | None = None


@dataclass
class Runner:
    step: Callable[[], object]
    state: Callable[[], list]
    #: Anything worth reporting about how this implementation was built (e.g. which loss).
    note: str = ""


def sine(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    return x, np.sin(x) + 0.1 * rng.normal(size=(n, 1))


def spiral(n: int, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    per = n // classes
    xs, ts = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1.0, per)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, per) + 0.2 * rng.normal(size=per)
        xs.append(np.c_[r * np.sin(theta), r * np.cos(theta)])
        ts.append(np.full(per, k))
    return np.concatenate(xs), np.concatenate(ts)


def make_problem(key: str, dtype: str | np.dtype = "float64", tiny: bool = False, seed: int = 0) -> Problem:
    """The data and initial values of workload `key`, in `dtype`, at full or tiny size."""
    w = WORKLOADS[key]
    cfg = w.tiny if tiny else w.full
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    p = Problem(key=key, kind=w.kind, dtype=dt)
    if w.kind == "mlp":
        sizes, n = cfg["sizes"], cfg["n"]
        p.sizes, p.activation, p.loss, p.lr = sizes, cfg["activation"], cfg["loss"], cfg["lr"]
        if key == "W1":
            X, t = sine(n, rng)
        elif key == "W2":
            X, t = spiral(n, sizes[-1], rng)
        else:  # MNIST-shaped: pixel-like inputs in [0, 1), random labels
            X, t = rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)
        p.X = X.astype(dt)
        p.t = t.astype(dt) if p.loss == "mse" else t.astype(np.int64)
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1 / np.sqrt(fan_in)
            W = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dt)
            b = rng.uniform(-bound, bound, fan_out).astype(dt)
            p.weights.append((W, b))
    elif w.kind == "chain":
        p.depth = cfg["depth"]
        p.x0 = np.array([0.3], dtype=dt)
    else:
        p.reps = cfg["reps"]
        p.x0 = np.array([1.5], dtype=dt)
        p.b0 = np.array([0.7], dtype=dt)
    return p


def tolerance(dtype: np.dtype) -> dict:
    """np.allclose tolerances for 'the same weights after one step' in this dtype."""
    return dict(rtol=1e-7, atol=1e-10) if np.dtype(dtype) == np.float64 else dict(rtol=1e-4, atol=1e-6)
