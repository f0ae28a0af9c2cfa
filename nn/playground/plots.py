"""The pictures: decision boundary over the data, fitted curve for the sine, train and held-out loss curves.

matplotlib is imported here only, when a picture is drawn, and used through `Figure` objects
(Agg canvas, no pyplot state), so drawing works on a machine without a display.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import autodiff as ad

# The TensorFlow playground's colours: orange for class 0, blue for class 1.
COLOURS = ("#f59322", "#0877bd")


def _figure(width: float = 5.5, height: float = 5.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    with ad.no_grad(), np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(model(X))


def class_probability(model: Any, X: np.ndarray) -> np.ndarray:
    """P(class 1 | x) from a model with two logits per point: softmax(a)[1] = σ(a₁ − a₀)."""
    a = _predict(model, X)
    return 1 / (1 + np.exp(np.clip(a[:, 0] - a[:, 1], -500, 500)))


def draw_boundary(
    ax: Any,
    model: Any,
    X_train: np.ndarray,
    t_train: np.ndarray,
    X_test: np.ndarray | None = None,
    t_test: np.ndarray | None = None,
    title: str = "",
    resolution: int = 200,
) -> Any:
    """On matplotlib axes `ax`: shade the plane by P(class 1 | x), draw the 0.5 contour, the points on top.

    Training points are dots with a dark rim, held-out points (if given) diamonds. Returns the filled contour, for a colour bar.
    """
    from matplotlib.colors import LinearSegmentedColormap

    X_all = X_train if X_test is None else np.concatenate([X_train, X_test])
    lo, hi = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.1 * (hi - lo) + 1e-9
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    p = class_probability(model, np.stack([G0.ravel(), G1.ravel()], axis=1)).reshape(G0.shape)
    cmap = LinearSegmentedColormap.from_list("playground", [COLOURS[0], "#ffffff", COLOURS[1]])
    image = ax.contourf(G0, G1, p, levels=np.linspace(0, 1, 21), cmap=cmap, alpha=0.55)
    if p.min() < 0.5 < p.max():
        ax.contour(G0, G1, p, levels=[0.5], colors="#333333", linewidths=1.2)
    for cls, colour in enumerate(COLOURS):
        tr = X_train[t_train == cls]
        # a dark rim keeps a point visible on the background of its own class
        ax.scatter(tr[:, 0], tr[:, 1], s=16, c=colour, edgecolors="#1a1a1a", linewidths=0.5, label=f"class {cls} (train)")
        if X_test is not None and t_test is not None:
            te = X_test[t_test == cls]
            ax.scatter(te[:, 0], te[:, 1], s=24, c=colour, marker="D", edgecolors="black", linewidths=0.9,
                       label=f"class {cls} (held out)")
    ax.set(xlabel="x₁", ylabel="x₂", title=title, aspect="equal")
    return image


def decision_boundary(
    model: Any,
    X_train: np.ndarray,
    t_train: np.ndarray,
    X_test: np.ndarray,
    t_test: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "",
    resolution: int = 200,
) -> None:
    """Write the decision boundary of `model` over the data (see `draw_boundary`) to `path`.

    >>> import numpy as np, tempfile, pathlib, nn
    >>> from nn.playground.plots import decision_boundary
    >>> X, t = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "b.png"
    >>> decision_boundary(nn.MLP([2, 2], rng=np.random.default_rng(0)), X, t, X, t, path, resolution=20)
    >>> path.stat().st_size > 0
    True
    """
    fig = _figure(6.0, 5.8)
    ax = fig.add_subplot()
    image = draw_boundary(ax, model, X_train, t_train, X_test, t_test, title=title, resolution=resolution)
    fig.colorbar(image, ax=ax, label="P(class 1 | x)", ticks=[0, 0.5, 1], shrink=0.7)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=7, frameon=False)
    fig.savefig(path)


def fitted_curve(
    model: Any,
    X_train: np.ndarray,
    t_train: np.ndarray,
    X_test: np.ndarray,
    t_test: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "",
    truth: Any = np.sin,
) -> None:
    """Draw the network's y(x) over the data (held-out points ringed) and the true function `truth`."""
    X_all = np.concatenate([X_train, X_test])
    lo, hi = float(X_all.min()), float(X_all.max())
    pad = 0.1 * (hi - lo)
    x = np.linspace(lo - pad, hi + pad, 400)[:, None]
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    ax.scatter(X_train[:, 0], t_train[:, 0], s=12, c=COLOURS[1], alpha=0.7, label="train")
    ax.scatter(X_test[:, 0], t_test[:, 0], s=20, facecolors="none", edgecolors="black", label="held out")
    if truth is not None:
        ax.plot(x[:, 0], truth(x[:, 0]), "--", c="#888888", lw=1, label="sin(x)")
    ax.plot(x[:, 0], _predict(model, x)[:, 0], c=COLOURS[0], lw=2.2, label="network y(x)")
    ax.set(xlabel="x", ylabel="t", title=title)
    ax.legend(fontsize=8)
    fig.savefig(path)


def loss_curves(
    train_loss: list[float], test_loss: list[float], path: str | os.PathLike[str], title: str = "", ylabel: str = "loss"
) -> None:
    """Train and held-out loss per epoch, on a log scale when they span more than a decade."""
    fig = _figure(6.5, 4.0)
    ax = fig.add_subplot()
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, c=COLOURS[1], lw=1.6, label="train")
    ax.plot(epochs, test_loss, c=COLOURS[0], lw=1.6, label="held out")
    values = np.array([*train_loss, *test_loss])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() / values.min() > 10:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path)
