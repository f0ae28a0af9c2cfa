"""Recurrent layers with torch's names, parameters and numbers: RNN, LSTM, GRU (their cells: rnn_cells).

Parameters are named and shaped as torch's (`weight_ih_l0` of shape (gates·H, input_size),
`weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `…_reverse` for the backward direction), so state
dicts go both ways; all start uniform in ±1/√hidden_size. Inputs are (L, N, H_in), (N, L, H_in)
with `batch_first`, or (L, H_in) unbatched. The LSTM and the GRU run each layer as one fused op
(nn.modules.lstm_op, gru_op); the RNN is composed of the engine's ops, a few nodes per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compiler import not_traceable
from nn.modules.gru_op import gru_sequence
from nn.modules.lstm_op import lstm_sequence
from nn.modules.module import Module
from nn.modules.rnn_cells import GRUCell, LSTMCell, RNNCell, _affine, _as_tensor, _positive_int, rnn_step, zero_state
from nn.parameter import Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell"]  # the cells live in rnn_cells

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _layer_state(states: Tensor, k: int) -> Tensor:
    """The initial state of layer-and-direction k; a constant keeps its name (h_0, c_0) for the drawn graph."""
    state = states[k]
    if states.name is not None and not state.requires_grad:
        state.name = states.name if states.shape[0] == 1 else f"{states.name}[{k}]"
    return state


# ---------------------------------------------------------------------- the layers
class RNNBase(Module):
    """What RNN, LSTM and GRU share: torch's parameter layout, input checks, layers and directions."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        name = type(self).__name__
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        self.num_layers = _positive_int(num_layers, "num_layers", name)
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported (only proj_size=0)")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self.rng = rng
        gates = _GATES[self.mode] * self.hidden_size
        bound = 1 / np.sqrt(self.hidden_size)
        init = ad.default_rng() if rng is None else rng
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for suffix in ("", "_reverse")[:self.num_directions]:
                shapes = {f"weight_ih_l{layer}{suffix}": (gates, n_in), f"weight_hh_l{layer}{suffix}": (gates, self.hidden_size)}
                if self.bias:
                    shapes.update({f"bias_ih_l{layer}{suffix}": (gates,), f"bias_hh_l{layer}{suffix}": (gates,)})
                for key, shape in shapes.items():
                    setattr(self, key, Parameter(init.uniform(-bound, bound, shape), dtype=dtype))

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, layer: int, direction: int) -> tuple[Any, Any, Any, Any]:
        suffix = "_reverse" if direction else ""
        get = vars(self).get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"))

    def _check_input(self, x: Tensor) -> bool:
        """Whether x is batched; raises a clear error for a wrong number of dimensions or features."""
        name = type(self).__name__
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D (batched) input, got shape {x.shape}")
        if x.shape[0] == 0:
            raise ValueError(f"{name}: expected a sequence of at least one step, got input of shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[-1]} features (its last dimension), expected "
                             f"input_size={self.input_size}")
        return x.ndim == 3

    def _check_state(self, h: Any, n: int, batched: bool, what: str, dtype: Any) -> Tensor:
        layers = self.num_layers * self.num_directions
        expected = (layers, n, self.hidden_size) if batched else (layers, self.hidden_size)
        if h is None:  # zeros, named so that a drawn graph says what they are
            return zero_state(expected, dtype, what)
        h = _as_tensor(h, dtype)
        if h.shape != expected:
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {expected}, got {h.shape}")
        return h if batched else h.reshape(layers, 1, self.hidden_size)

    def _between_layers(self, x: Tensor, layer: int) -> Tensor:
        """Dropout on each layer's output but the last, in training, as torch's."""
        if not self.training or self.dropout == 0 or layer == self.num_layers - 1:
            return x
        not_traceable(f"{type(self).__name__} dropout in training mode draws a new mask every call")
        if self.dropout == 1:
            return x * 0.0
        rng = ad.default_rng() if self.rng is None else self.rng
        keep = rng.random(x.shape) >= self.dropout
        return x * (keep * (1 / (1 - self.dropout))).astype(x.dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Any]:
        x = _as_tensor(input)
        batched = self._check_input(x)
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        states = self._initial_states(hx, x.shape[1], batched, x.dtype)
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                out, ends = self._run(x, [_layer_state(s, k) for s in states], *self._weights(layer, d), reverse=bool(d))
                outs.append(out)
                for f, e in zip(finals, ends):
                    f.append(e)
            x = outs[0] if len(outs) == 1 else ad.concatenate(outs, axis=-1)
            x = self._between_layers(x, layer)
        output = x if batched else x.reshape(x.shape[0], x.shape[2])
        if batched and self.batch_first:
            output = output.transpose(1, 0, 2)
        ends = [ad.stack(f, axis=0) for f in finals]
        if not batched:
            ends = [e.reshape(e.shape[0], e.shape[2]) for e in ends]
        return output, (ends[0] if len(ends) == 1 else tuple(ends))

    def _initial_states(self, hx: Any, n: int, batched: bool, dtype: Any) -> list[Tensor]:
        return [self._check_state(hx, n, batched, "h_0", dtype)]

    def _run(self, x, states, w_ih, w_hh, b_ih, b_hh, reverse):
        """One layer in one direction over x (L, N, H_in): (outputs (L, N, H), [final states])."""
        xg = _affine(x, w_ih, b_ih)
        (h,) = states
        out = [None] * x.shape[0]
        for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
            h = self._step(xg[t], h, w_hh, b_hh)
            out[t] = h
        return ad.stack(out, axis=0), [h]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


class RNN(RNNBase):
    """Elman RNN: hₜ = act(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh), act tanh (default) or relu.

    Returns (output, h_n) as torch: output (L, N, D·H) holds the last layer's hₜ for every t,
    h_n (D·num_layers, N, H) each layer's and direction's final state.

    >>> import numpy as np
    >>> import nn
    >>> rnn = nn.RNN(3, 5, num_layers=2, rng=np.random.default_rng(0))
    >>> out, h = rnn(np.ones((7, 4, 3)))
    >>> out.shape, h.shape
    ((7, 4, 5), (2, 4, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, rng=rng,
                         dtype=dtype)

    def _step(self, xg, h, w_hh, b_hh):
        return rnn_step(xg, h, w_hh, b_hh, self.nonlinearity)


class GRU(RNNBase):
    """Gated recurrent unit, torch's equations and gate order (r, z, n):

    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
    Returns (output, h_n) as `RNN`. Each layer and direction is one fused node (nn.modules.gru_op).
    """

    mode = "GRU"

    def _run(self, x, states, w_ih, w_hh, b_ih, b_hh, reverse):
        (h0,) = states
        if b_ih is None:
            b_ih = b_hh = np.zeros(w_hh.shape[0], dtype=x.dtype)
        out = gru_sequence(x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
        return out, [out[0] if reverse else out[x.shape[0] - 1]]


class LSTM(RNNBase):
    """Long short-term memory, torch's equations and gate order (i, f, g, o):

    i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·), g = tanh(…), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
    Returns (output, (h_n, c_n)); `hx` is (h_0, c_0) or None (zeros). Each layer and direction is
    one fused node (nn.modules.lstm_op): forward and backprop through time in NumPy.

    >>> import numpy as np
    >>> import nn
    >>> lstm = nn.LSTM(3, 5, batch_first=True, bidirectional=True, rng=np.random.default_rng(0))
    >>> out, (h, c) = lstm(np.ones((4, 7, 3)))
    >>> out.shape, h.shape, c.shape
    ((4, 7, 10), (2, 4, 5), (2, 4, 5))
    """

    mode = "LSTM"

    def _initial_states(self, hx: Any, n: int, batched: bool, dtype: Any) -> list[Tensor]:
        if hx is None:
            hx = (None, None)
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ValueError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        return [self._check_state(hx[0], n, batched, "h_0", dtype), self._check_state(hx[1], n, batched, "c_0", dtype)]

    def _run(self, x, states, w_ih, w_hh, b_ih, b_hh, reverse):
        h0, c0 = states
        T = x.shape[0]
        if b_ih is None:
            b_ih = b_hh = np.zeros(w_hh.shape[0], dtype=x.dtype)
        out = lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        h_n = out[0] if reverse else out[T - 1]
        return out[:T], [h_n, out[T]]
