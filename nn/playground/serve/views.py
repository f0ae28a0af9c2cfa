"""What the page draws of a `Session`: the output heatmap, each unit's square, the weights, the graph.

Every view is computed on a grid with one batched forward under `no_grad`, and sent compactly:
heatmaps and squares as bytes (base64), weights rounded. Nothing here changes the session.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

import autodiff as ad
import nn
from nn.playground.serve.features import FEATURES, featurize
from nn.playground.serve.session import Session

GRID = 64  # the output heatmap: GRID × GRID points
UNIT = 10  # each unit's square: UNIT × UNIT points
CURVE = 200  # points along the sine's fitted curve


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _to_byte(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] (clipped) as bytes 0…255, the page's colour scale from orange to blue."""
    return np.rint((np.clip(np.nan_to_num(v), -1, 1) + 1) * 127.5).astype(np.uint8)


def _round(a: np.ndarray) -> list[Any]:
    return np.round(np.nan_to_num(a, nan=0.0, posinf=1e9, neginf=-1e9), 5).tolist()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities from logits, row by row (shifted by the row's maximum: no overflow)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def grid(session: Session, size: int) -> np.ndarray:
    """size × size points over the view, row by row from the top (y falling), x rising."""
    x0, x1, y0, y1 = session.data.domain
    G = np.stack(np.meshgrid(np.linspace(x0, x1, size), np.linspace(y1, y0, size)), axis=-1).reshape(-1, 2)
    return G[:, :1] if session.settings.regression else G


def layers(session: Session, X: np.ndarray) -> list[np.ndarray]:
    """The network's inputs, each hidden layer's outputs and its output, for raw points X."""
    h = featurize(X, session.settings.inputs)
    outs = [h]
    with session.predicting():
        for m in session.model:
            h = m(h)
            if not isinstance(m, nn.Linear):
                outs.append(h.data)
        outs.append(h.data if isinstance(h, ad.Tensor) else h)
    return outs


def units(session: Session) -> list[list[str]]:
    """Every node's square (inputs, hidden units, outputs) as UNIT × UNIT bytes, base64, layer by layer.

    Inputs are scaled to [-1, 1] each; hidden units show z_j; outputs show 2p − 1 for each class's
    probability p (the sine's output y itself).
    """
    values = layers(session, grid(session, UNIT))
    inputs = values[0] / np.maximum(np.abs(values[0]).max(axis=0), 1e-12)
    out = values[-1] if session.settings.regression else 2 * softmax(values[-1]) - 1
    return [[_b64(_to_byte(a[:, j])) for j in range(a.shape[1])] for a in (inputs, *values[1:-1], out)]


def output(session: Session) -> dict[str, Any]:
    """The output view: for classification each grid point's class and confidence, for the sine the curve."""
    if session.settings.regression:
        x0, x1 = session.data.domain[:2]
        return {"curve": _round(layers(session, np.linspace(x0, x1, CURVE)[:, None])[-1][:, 0]), "x": [x0, x1]}
    p = softmax(layers(session, grid(session, GRID))[-1])
    k = p.shape[1]
    conf = (p.max(axis=1) - 1 / k) / (1 - 1 / k)  # 0 where undecided, 1 where sure
    return {"size": GRID, "cls": _b64(p.argmax(axis=1)), "conf": _b64(np.rint(255 * np.clip(np.nan_to_num(conf), 0, 1)))}


def frame(session: Session, rows: list[list[float | None]] | None = None) -> dict[str, Any]:
    """Everything the page redraws: read-outs, new history rows, heatmaps, unit squares, weights."""
    s, last = session.settings, session.history[-1]
    return {
        "type": "frame",
        "epoch": session.epoch,
        "loss_train": last[1],
        "loss_test": last[2],
        "acc_train": last[3],
        "acc_test": last[4],
        "rows": session.history[-1:] if rows is None else rows,
        "output": output(session),
        "units": units(session),
        "weights": [_round(m.weight.data) for m in session.linears],
        "biases": [_round(m.bias.data) if m.bias is not None else None for m in session.linears],
        "sizes": s.sizes,
        "inputs": list(s.inputs),
        "regression": s.regression,
        "playing": session.playing,
        "diverged": session.diverged,
    }


def data_message(session: Session) -> dict[str, Any]:
    """The points and the view's extent, sent when the data change."""
    d, s = session.data, session.settings

    def pts(X: np.ndarray, t: np.ndarray) -> list[Any]:
        if s.regression:
            return np.round(np.concatenate([X, t], axis=1), 4).tolist()
        return [[round(float(a), 4), round(float(b), 4), int(c)] for (a, b), c in zip(X, t)]

    return {
        "type": "data",
        "train": pts(d.X_train, d.t_train),
        "test": pts(d.X_test, d.t_test),
        "domain": list(d.domain),
        "regression": s.regression,
        "classes": s.n_classes,
        "inputs": list(s.inputs),
        "labels": {name: FEATURES[name][0] for name in s.inputs},
        "sizes": s.sizes,
    }


def graph(session: Session) -> dict[str, Any]:
    """The backprop graph of the step being taken (the last batch at the current weights), and its explanation."""
    Xb, tb = session.last_batch
    params = list(session.model.parameters())
    kept = [p.grad for p in params]  # the optimizer's gradients stay as they were
    try:
        with np.errstate(all="ignore"):
            loss = session.objective(Xb, tb)
            for p in params:
                p.grad = None
            loss.backward()  # the graph shows ‖δ‖ once its leaves have gradients
            dot = ad.draw_graph(loss, params=session.model)
            text = ad.explain(loss, params=session.model)
    finally:
        for p, g in zip(params, kept):
            p.grad = g
    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except Exception:  # Graphviz's dot missing or failing: the page shows the DOT source instead
        svg = None
    return {"type": "graph", "epoch": session.epoch, "svg": svg, "dot": None if svg else dot.source, "explain": text}
