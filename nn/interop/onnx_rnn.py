"""ONNX writers for the recurrent layers and cells: nn.RNN, nn.LSTM, nn.GRU as ONNX's RNN, LSTM and GRU operators.

One ONNX node per layer (both directions in one node, direction="bidirectional"), chained:
ONNX's Y has shape (seq, num_directions, batch, hidden), which a Transpose and a Reshape turn into
torch's (seq, batch, num_directions·hidden) before the next layer. Weights are torch's, their
gate blocks reordered: torch's LSTM stacks (i, f, g, o), ONNX's (i, o, f, c); torch's GRU
(r, z, n), ONNX's (z, r, h), with linear_before_reset=1 since torch applies r to W_hn h + b_hn.
B is [W_b, R_b] per direction: torch's bias_ih and bias_hh. Layers are written as in eval mode
(no dropout between them); the initial states are zeros, and only the sequence output is written.
The cells (RNNCell, LSTMCell, GRUCell) are one step of the same operators from the zero state
(their forward's default hx): x (batch, input_size) → h' (batch, H); LSTMCell's c' is not written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import nn
from nn.interop.onnx_layers import Graph

#: per kind: the ONNX operator and the order of torch's gate blocks in ONNX's layout.
_OPS: dict[type, tuple[str, tuple[int, ...]]] = {
    nn.RNN: ("RNN", (0,)),
    nn.LSTM: ("LSTM", (0, 3, 1, 2)),  # torch i f g o → ONNX i o f c
    nn.GRU: ("GRU", (1, 0, 2)),  # torch r z n → ONNX z r h
    nn.RNNCell: ("RNN", (0,)),
    nn.LSTMCell: ("LSTM", (0, 3, 1, 2)),
    nn.GRUCell: ("GRU", (1, 0, 2)),
}


def _reorder(w: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """torch's stacked gate blocks (along axis 0) in ONNX's order."""
    blocks = np.split(np.asarray(w), len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _node(g: Graph, m: Any, x: str, weights: list[tuple[Any, ...]]) -> str:
    """ONNX's RNN/LSTM/GRU node over x (seq, batch, features), one direction per weight tuple
    (w_ih, w_hh, b_ih, b_hh): its Y, of shape (seq, D, batch, H)."""
    op_type, order = next(op for cls, op in _OPS.items() if isinstance(m, cls))
    w = g.const(np.stack([_reorder(w_ih.data, order) for w_ih, _, _, _ in weights]), "W")
    r = g.const(np.stack([_reorder(w_hh.data, order) for _, w_hh, _, _ in weights]), "R")
    inputs = [x, w, r]
    if weights[0][2] is not None:
        inputs.append(g.const(np.stack([np.concatenate([_reorder(b_ih.data, order), _reorder(b_hh.data, order)])
                                        for _, _, b_ih, b_hh in weights]), "B"))
    attributes: dict[str, Any] = {"hidden_size": m.hidden_size,
                                  "direction": "bidirectional" if len(weights) == 2 else "forward"}
    if op_type == "RNN":
        attributes["activations"] = ["Relu" if m.nonlinearity == "relu" else "Tanh"] * len(weights)
    if op_type == "GRU":
        attributes["linear_before_reset"] = 1
    y = g.name(op_type.lower())
    g.nodes.append(g.helper.make_node(op_type, inputs, [y], **attributes))
    return y


def _layer(g: Graph, m: Any, x: str, layer: int) -> str:
    """One layer (both directions) over x of shape (seq, batch, features): its output (seq, batch, D·H)."""
    y = _node(g, m, x, [m._weights(layer, d) for d in range(m.num_directions)])
    # (seq, D, batch, H) → (seq, batch, D, H) → (seq, batch, D·H): torch's concatenation of the directions
    y = g.op("Transpose", y, perm=[0, 2, 1, 3])
    return g.op("Reshape", y, g.const([0, 0, -1], "shape", np.int64))


def cell(g: Graph, m: Any, x: str) -> str:
    """One step from the zero state (the forward's default hx) over x (batch, input_size): h', (batch, H)."""
    x = g.op("Unsqueeze", x, g.const([0], "axes", np.int64))
    y = _node(g, m, x, [(m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)])
    return g.op("Squeeze", y, g.const([0, 1], "axes", np.int64))


def recurrent(g: Graph, m: Any, x: str) -> str:
    """The whole recurrent layer: every layer chained, batch_first as a Transpose on either side."""
    if m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])
    for layer in range(m.num_layers):
        x = _layer(g, m, x, layer)
    if m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])
    return x


#: written alone (their forward returns a tuple: (output, h_n), LSTMCell's (h', c')) and inside containers.
RECURRENT: dict[type, Callable[[Graph, Any, str], str]] = {nn.RNN: recurrent, nn.LSTM: recurrent, nn.GRU: recurrent,
                                                           nn.LSTMCell: cell}
CELLS: dict[type, Callable[[Graph, Any, str], str]] = {nn.RNNCell: cell, nn.GRUCell: cell}


def input_shape(m: Any) -> list[Any]:
    """The graph input's shape: (sequence, batch, input_size), or (batch, sequence, input_size) with batch_first;
    a cell's (batch, input_size)."""
    if not hasattr(m, "batch_first"):
        return ["batch", m.input_size]
    return ["batch", "sequence", m.input_size] if m.batch_first else ["sequence", "batch", m.input_size]
