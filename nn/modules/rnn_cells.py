"""One step of each recurrent layer, and the cells that are that step as a module: RNNCell, LSTMCell, GRUCell.

Parameters as torch's (`weight_ih` of shape (gates·H, input_size), `weight_hh`, `bias_ih`,
`bias_hh`), uniform in ±1/√hidden_size at the start. The step functions are shared with
nn.modules.rnn (the RNN's loop) and the fused ops' composed twins (grad of grad).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.tensor import _const
from nn.modules.lstm_op import lstm_step
from nn.modules.module import Module
from nn.parameter import Parameter


def _positive_int(value: Any, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive int, got {value!r}")
    return int(value)


def _as_tensor(x: Any, dtype: Any = None) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


# ---------------------------------------------------------------------- one step of each kind
def zero_state(shape: tuple, dtype: Any, name: str | None = None) -> Tensor:
    """An initial state of zeros: a constant of the input's shape, which a compiled replay may keep."""
    h = _const(np.zeros(shape, dtype=dtype))
    h.name = name
    return h


def rnn_step(xg: Any, h: Any, w_hh: Any, b_hh: Any, nonlinearity: str) -> Tensor:
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), given xg = W_ih x + b_ih."""
    a = xg + _affine(h, w_hh, b_hh)
    return ad.tanh(a) if nonlinearity == "tanh" else ad.relu(a)


def gru_step(xg: Any, h: Any, w_hh: Any, b_hh: Any) -> Tensor:
    """r, z = σ(xg_r + hg_r), σ(xg_z + hg_z); n = tanh(xg_n + r ⊙ hg_n); h' = (1 − z) ⊙ n + z ⊙ h (torch's GRU)."""
    H = h.shape[-1]
    hg = _affine(h, w_hh, b_hh)
    r = ad.sigmoid(xg[..., :H] + hg[..., :H])
    z = ad.sigmoid(xg[..., H:2 * H] + hg[..., H:2 * H])
    n = ad.tanh(xg[..., 2 * H:] + r * hg[..., 2 * H:])
    return n + z * (h - n)


def _affine(x: Any, w: Any, b: Any) -> Any:
    y = x @ w.T
    return y if b is None else y + b


# ---------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One step: torch's `weight_ih` (gates·H, input_size), `weight_hh`, `bias_ih`, `bias_hh`."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, rng: np.random.Generator | None = None,
                 dtype: Any = None) -> None:
        name = type(self).__name__
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        bound = 1 / np.sqrt(self.hidden_size)
        init = ad.default_rng() if rng is None else rng
        g = self.gates * self.hidden_size
        self.weight_ih = Parameter(init.uniform(-bound, bound, (g, self.input_size)), dtype=dtype)
        self.weight_hh = Parameter(init.uniform(-bound, bound, (g, self.hidden_size)), dtype=dtype)
        self.bias_ih = Parameter(init.uniform(-bound, bound, g), dtype=dtype) if bias else None
        self.bias_hh = Parameter(init.uniform(-bound, bound, g), dtype=dtype) if bias else None

    def _inputs(self, input: Any, hx: Any) -> tuple[Tensor, Tensor, bool]:
        name = type(self).__name__
        x = _as_tensor(input)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (N, {self.input_size}) or ({self.input_size},), "
                             f"got {x.shape}")
        batched = x.ndim == 2
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        h = zero_state(expected, x.dtype) if hx is None else _as_tensor(hx, x.dtype)
        if h.shape != expected:
            raise ValueError(f"{name}: expected a hidden state of shape {expected}, got {h.shape}")
        return x, h, batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh (default) or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, h, _ = self._inputs(input, hx)
        return rnn_step(_affine(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh, self.nonlinearity)


class GRUCell(RNNCellBase):
    """One GRU step, torch's equations (see `GRU`)."""

    gates = 3

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, h, _ = self._inputs(input, hx)
        return gru_step(_affine(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)


class LSTMCell(RNNCellBase):
    """One LSTM step, torch's equations (see `LSTM`); `hx` is (h, c) or None; returns (h', c')."""

    gates = 4

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ValueError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        x, h, _ = self._inputs(input, None if hx is None else hx[0])
        _, c, _ = self._inputs(input, None if hx is None else hx[1])
        a = _affine(x, self.weight_ih, self.bias_ih) + _affine(h, self.weight_hh, self.bias_hh)
        return lstm_step(a, c)
