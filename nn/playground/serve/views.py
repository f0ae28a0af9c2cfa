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
    layers_bytes = [np.ascontiguousarray(_to_byte(a).T) for a in (inputs, *values[1:-1], out)]  # a row per unit
    return [[_b64(row) for row in b] for b in layers_bytes]


def output(session: Session) -> dict[str, Any]:
    """The output view: for classification each grid point's class and confidence, for the sine the curve."""
    if session.settings.regression:
        x0, x1 = session.data.domain[:2]
        return {"curve": _round(layers(session, np.linspace(x0, x1, CURVE)[:, None])[-1][:, 0]), "x": [x0, x1]}
    p = softmax(layers(session, grid(session, GRID))[-1])
    k = p.shape[1]
    conf = (p.max(axis=1) - 1 / k) / (1 - 1 / k)  # 0 where undecided, 1 where sure
    return {"size": GRID, "cls": _b64(p.argmax(axis=1)), "conf": _b64(np.rint(255 * np.clip(np.nan_to_num(conf), 0, 1)))}


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
STALLED = 50  # epochs after which a loss that has hardly moved gets a hint


def layer_mark(layer: int) -> str:
    """The lecture's layer superscript: 1 → '⁽¹⁾' (W⁽¹⁾ is the first layer's weights)."""
    return f"⁽{str(layer).translate(SUPERSCRIPTS)}⁾"


def hint(session: Session) -> str:
    """Why training is stuck, when the loss has hardly moved in STALLED epochs or more; else ''."""
    h, norms = session.history, session.grad_norms
    first, last = h[0][1], h[-1][1]
    if session.epoch < STALLED or first is None or last is None or last < 0.97 * first:
        return ""
    text = f"The training loss has hardly moved in {session.epoch} epochs. "
    if len(norms) > 1 and norms[-1] > 0 and norms[0] < norms[-1] / 100:
        n, a = len(norms), session.settings.activation
        text += (f"The gradient vanishes on its way back: ‖∂E/∂W{layer_mark(1)}‖ = {norms[0]:.0e} against "
                 f"‖∂E/∂W{layer_mark(n)}‖ = {norms[-1]:.0e} (see the chart), each {a} layer multiplying δ by its "
                 "derivative. Try fewer layers, ReLU, Adam or a larger learning rate.")
    else:
        text += ("The gradients reach every layer, so the network may be too small for the data (add units), or "
                 "stuck on a flat stretch: try a larger learning rate, momentum 0.9 or Adam.")
    return text


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
        "hint": hint(session),
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


def named_parameters(session: Session) -> dict[str, ad.Tensor]:
    """The network's parameters as the page and the lecture name them: 'layer 1.W⁽¹⁾', 'layer 1.b⁽¹⁾', …

    `draw_graph` puts each in the cluster before the dot (layer 1) and labels it with the whole
    name; `_short` then drops the cluster's part from the labels.
    """
    named: dict[str, ad.Tensor] = {}
    for k, m in enumerate(session.linears, start=1):
        named[f"layer {k}.W{layer_mark(k)}"] = m.weight
        if m.bias is not None:
            named[f"layer {k}.b{layer_mark(k)}"] = m.bias
    return named


def _short(text: str, layers: int) -> str:
    """'layer 1.W⁽¹⁾' → 'W⁽¹⁾' (its cluster already says layer 1); the highest layers first, so 10 is not 1."""
    for k in range(layers, 0, -1):
        text = text.replace(f"layer {k}.", "")
    return text


def graph_legend() -> dict[str, list[dict[str, str]]]:
    """The colours of `draw_graph`, edges and nodes, as rows for the page's HTML legend (the picture draws none)."""
    from autodiff.graph import dot as d  # the one place these colours are defined

    edges = [{"colour": c, "width": w, "style": style, "text": text} for _, c, w, style, text in d._SHADES]
    edges.append({"colour": d._ZERO[0], "width": d._ZERO[1], "style": d._ZERO[2], "text": d._ZERO[3]})
    edges.append({"colour": d._BAD[0], "width": d._BAD[1], "style": "solid", "text": d._BAD[3]})
    edges.append({"colour": d._NO_GRAD[0], "width": d._NO_GRAD[1], "style": d._NO_GRAD[2], "text": "no gradient (a constant)"})
    nodes = [
        {"colour": d._FILL_PARAM, "text": "a parameter: W⁽ˡ⁾ or b⁽ˡ⁾ of layer l"},
        {"colour": d._FILL_OP, "text": "an op, with its result's shape"},
        {"colour": d._FILL_CONST, "text": "a constant: the batch, the targets"},
        {"colour": d._FILL_ROOT, "text": "the loss E, where backward starts"},
    ]
    return {"edges": edges, "nodes": nodes}


def one_formula_a_line(text: str) -> str:
    """`explain`'s rules, each formula of a rule on a line of its own (the page never wraps inside one).

    '        rule    z = tanh(x);  δ_x = δ_z ⊙ (1 − z²)' becomes two lines, the second indented under the first.
    """
    out = []
    for line in text.splitlines():
        head, sep, rest = line.partition("rule    ")
        if sep and not head.strip() and ";  " in rest:
            first, *more = rest.split(";  ")
            out.append(f"{head}{sep}{first}")
            out.extend(f"{' ' * len(head + sep)}{formula}" for formula in more)
        else:
            out.append(line)
    return "\n".join(out)


def graph(session: Session) -> dict[str, Any]:
    """The backprop graph of the step being taken (the last batch at the current weights), and its explanation."""
    Xb, tb = session.last_batch
    params = list(session.model.parameters())
    named = named_parameters(session)
    layers = len(session.linears)
    kept = [p.grad for p in params]  # the optimizer's gradients stay as they were
    try:
        with np.errstate(all="ignore"):
            loss = session.objective(Xb, tb)
            for p in params:
                p.grad = None
            loss.backward()  # the graph shows ‖δ‖ once its leaves have gradients
            dot = ad.draw_graph(loss, params=named)
            text = one_formula_a_line(_short(ad.explain(loss, params=named), layers))
    finally:
        for p, g in zip(params, kept):
            p.grad = g
    # the legend goes beside the picture, in HTML; each leaf's label drops its cluster's name
    dot.body[:] = [_short(line, layers) for line in dot.body if not line.lstrip().startswith("legend ")]
    try:
        svg = dot.pipe(format="svg").decode("utf-8")
    except Exception:  # Graphviz's dot missing or failing: the page shows the DOT source instead
        svg = None
    return {"type": "graph", "epoch": session.epoch, "svg": svg, "dot": None if svg else dot.source, "explain": text,
            "legend": graph_legend()}
