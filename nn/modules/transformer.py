"""`TransformerEncoderLayer`, torch's: self-attention and a feed-forward block, each with a residual and LayerNorm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.modules.attention import MultiheadAttention
from nn.modules.linear import Linear
from nn.modules.module import Module
from nn.modules.normalization import Dropout, LayerNorm

_ACTIVATIONS: dict[str, Callable[[Any], Tensor]] = {"relu": ad.relu, "gelu": ad.gelu}


class TransformerEncoderLayer(Module):
    """x + SA(x) then x + FF(x), each followed (norm_first=False, torch's default) or preceded
    (norm_first=True) by a LayerNorm, as torch's layer:

        norm_first=False:  x = norm1(x + SA(x));  x = norm2(x + FF(x))
        norm_first=True:   x = x + SA(norm1(x));  x = x + FF(norm2(x))

    with SA the `self_attn` MultiheadAttention (then `dropout1`) and FF = linear2(dropout(act(linear1(x))))
    (then `dropout2`), act relu or gelu (or any callable). Parameter names are torch's
    (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, …), so state dicts go both ways.

    >>> import numpy as np
    >>> import nn
    >>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True, rng=np.random.default_rng(0))
    >>> layer(np.ones((3, 5, 8))).shape
    (3, 5, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Any], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, "
                                 f"got {activation!r}")
            self.activation_name = activation
        elif not callable(activation):
            raise TypeError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got "
                            f"{type(activation).__name__}")
        else:
            self.activation_name = getattr(activation, "__name__", "custom")
        self.activation = activation
        init = ad.default_rng() if rng is None else rng
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            rng=init, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=init, dtype=dtype)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=init, dtype=dtype)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        self.batch_first = bool(batch_first)

    def _act(self, x: Tensor) -> Tensor:
        act = self.activation
        return _ACTIVATIONS[act](x) if isinstance(act, str) else act(x)

    def _sa(self, x: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False, attn_mask=mask,
                                is_causal=is_causal)
        return self.dropout1(out)

    def _ff(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self._act(self.linear1(x)))))

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = src if isinstance(src, Tensor) else Tensor(src)
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))

    def extra_repr(self) -> str:
        return f"activation={self.activation_name!r}, norm_first={self.norm_first}, batch_first={self.batch_first}"
