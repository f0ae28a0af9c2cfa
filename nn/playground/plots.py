"""The pictures: decision boundary or fitted curve, train and held-out loss curves, the network's units and weights.

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


MAX_DRAWN = 12  # units drawn per layer in the network view; the rest are counted under the column


def unit_outputs(model: Any, X: np.ndarray) -> list[np.ndarray]:
    """Every layer's unit outputs at the points X: the inputs, each hidden layer after its activation, the output."""
    outs, h = [np.asarray(X, dtype=float)], X
    with ad.no_grad(), np.errstate(all="ignore"):
        for m in model:
            h = m(h)
            if not hasattr(m, "weight"):  # an activation: this layer's z
                outs.append(np.asarray(h))
        if hasattr(m, "weight"):  # a linear output
            outs.append(np.asarray(h))
    return outs


def network_view(
    model: Any,
    X: np.ndarray,
    path: str | os.PathLike[str],
    title: str = "",
    classification: bool = True,
    resolution: int = 40,
) -> Any:
    """The TensorFlow playground's network picture: one square per unit, weights as arrows, into `path`.

    Each square shows what its unit outputs over the input plane spanned by the points X (for one
    input, along x: the square's colour varies left to right, and a black line traces the value):
    the inputs x₁, x₂, every hidden unit's z_j, and each output (for classification the class's
    probability p, drawn as 2p − 1). One colour bar covers them all, from −1 (orange) to +1 (blue);
    a unit whose values leave [−1, 1] is divided by its largest |value|, written under it. Each
    weight w_ji is an arrow from unit i to unit j, blue if positive and orange if negative, as thick
    as |w_ji| relative to the largest weight of its layer (biases are not drawn). At most 12 units
    a layer are drawn. Returns the matplotlib Figure.

    >>> import numpy as np, tempfile, pathlib, nn
    >>> from nn.playground.plots import network_view
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "units.png"
    >>> X = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    >>> fig = network_view(nn.MLP([2, 3, 2], rng=np.random.default_rng(0)), X, path, resolution=10)
    >>> path.read_bytes()[1:4] == b"PNG"
    True
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.patches import Rectangle

    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo) + 1e-9
    axes_1d = [np.linspace(lo[k] - pad[k], hi[k] + pad[k], resolution) for k in range(X.shape[1])]
    if X.shape[1] == 1:
        G = axes_1d[0][:, None]
    else:  # rows from the top (x₂ falling), as the plane is drawn
        G0, G1 = np.meshgrid(axes_1d[0], axes_1d[1][::-1])
        G = np.stack([G0.ravel(), G1.ravel(), *[np.zeros(G0.size)] * (X.shape[1] - 2)], axis=1)
    layers = unit_outputs(model, G)
    if classification:
        a = layers[-1] - layers[-1].max(axis=1, keepdims=True)
        layers[-1] = 2 * np.exp(a) / np.exp(a).sum(axis=1, keepdims=True) - 1
    linears = [m for m in model if hasattr(m, "weight")]
    names = ["inputs", *[f"hidden layer {i}" for i in range(1, len(layers) - 1)], "output"]

    counts = [min(v.shape[1], MAX_DRAWN) for v in layers]
    rows, cols = max(counts), len(layers)
    fig = _figure(1.9 * cols + 1.7, 1.05 * rows + 1.3)
    fig.set_layout_engine(None)
    width, height = fig.get_size_inches()
    board = fig.add_axes([0, 0, 1, 1])
    board.axis("off")
    cmap = LinearSegmentedColormap.from_list("playground", [COLOURS[0], "#ffffff", COLOURS[1]])
    x_of = [0.6 + (width - 2.3) * (c + 0.5) / cols for c in range(cols)]
    y_top = height - 0.75

    def centre(col: int, j: int) -> tuple[float, float]:
        n = counts[col]
        return x_of[col], y_top - (rows - n) * 0.525 - 1.05 * j - 0.31

    half = 0.31
    segments, widths, colours, heads = [], [], [], []
    for col, W in enumerate(w.weight.data for w in linears):  # arrows first, under the squares
        W = W[: counts[col + 1], : counts[col]]
        biggest = np.abs(W).max() or 1.0
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                (x0, y0), (x1, y1) = centre(col, i), centre(col + 1, j)
                start, tip = np.array([x0 + half, y0]), np.array([x1 - half - 0.01, y1])
                d = (tip - start) / np.linalg.norm(tip - start)
                n = np.array([-d[1], d[0]])
                heads.append([tip, tip - 0.09 * d + 0.035 * n, tip - 0.09 * d - 0.035 * n])
                segments.append([start, tip - 0.06 * d])
                widths.append(0.3 + 3.2 * abs(W[j, i]) / biggest)
                colours.append(COLOURS[int(W[j, i] > 0)])
    # One collection for all the weights: thousands of separate arrow patches take seconds to draw.
    board.add_collection(LineCollection(segments, linewidths=widths, colors=colours, alpha=0.75, zorder=1))
    board.add_collection(PolyCollection(heads, facecolors=colours, edgecolors="none", alpha=0.9, zorder=1))
    for col, (values, name) in enumerate(zip(layers, names)):
        board.text(x_of[col], height - 0.35, name, ha="center", va="center", fontsize=9)
        for j in range(counts[col]):
            v = values[:, j]
            scale = float(np.nanmax(np.abs(v))) if v.size else 1.0
            scale = scale if scale > 1 else 1.0
            cx, cy = centre(col, j)
            box = (cx - half, cx + half, cy - half, cy + half)
            image = (v / scale).reshape(1, -1) if X.shape[1] == 1 else (v / scale).reshape(resolution, resolution)
            board.imshow(image, cmap=cmap, vmin=-1, vmax=1, extent=box, aspect="auto", interpolation="nearest", zorder=2)
            board.add_patch(Rectangle((box[0], box[2]), 2 * half, 2 * half, fill=False, lw=0.8, zorder=3))
            if X.shape[1] == 1:
                board.plot(np.linspace(box[0], box[1], v.size), cy + 0.9 * half * v / scale, color="black", lw=0.8, zorder=3)
            label = (f"x{_sub(j + 1)}" if col == 0 else f"class {j}" if col == cols - 1 and classification
                     else "y" if col == cols - 1 else f"z{_sub(j + 1)}")
            board.text(cx, cy + half + 0.03, label, ha="center", va="bottom", fontsize=7)
            if scale > 1:
                board.text(cx, cy - half - 0.08, f"÷ {scale:.3g}", ha="center", va="top", fontsize=6, color="#555555")
        if values.shape[1] > counts[col]:
            board.text(x_of[col], centre(col, counts[col] - 1)[1] - half - 0.22,
                       f"… and {values.shape[1] - counts[col]} more", ha="center", va="top", fontsize=7)
    board.set(xlim=(0, width), ylim=(0, height))  # in inches; imshow must not reset them
    bar = fig.add_axes([(width - 1.05) / width, 0.2, 0.12 / width, 0.6])
    fig.colorbar(ScalarMappable(Normalize(-1, 1), cmap), cax=bar, label="unit output over the input plane")
    board.text(0.15, 0.3, "arrows: weights w_ji, blue > 0, orange < 0, thickness ∝ |w_ji|", fontsize=7, va="center")
    if title:
        board.text(width / 2, height - 0.12, title, ha="center", va="center", fontsize=10)
    fig.savefig(path)
    return fig


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(k: int) -> str:
    return str(k).translate(_SUBSCRIPTS)
