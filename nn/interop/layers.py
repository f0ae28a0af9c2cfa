"""The layer kinds the bridges know: our class, torch's class name, and the settings that rebuild one from the other.

A setting is read the same way from our module and from torch's (same attribute names, or one
small getter that works on both), and passed by keyword to the other side's constructor; the
weights then move by name (`state_dict`), since our parameter names are torch's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import nn
from autodiff import Tensor
from nn.modules.module import Module


def _has(attribute: str) -> Callable[[Any], bool]:
    """A bool setting (bias=, affine=) read as whether the parameter exists."""
    return lambda m: getattr(m, attribute) is not None


def _array(value: Any) -> Any:
    """A torch tensor or one of ours as a NumPy array (class weights of losses), None staying None."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return np.array(value.data)
    return value.detach().cpu().numpy().copy()


def _activation(m: Any) -> str:
    """TransformerEncoderLayer's activation by name: 'relu' or 'gelu' (ours keeps the name, torch the function)."""
    act = m.activation
    if isinstance(act, str):
        return act
    name = getattr(act, "__name__", None) or type(act).__name__.lower()
    if name in ("relu", "gelu") and (getattr(act, "__module__", "") or type(act).__module__).startswith("torch"):
        return name
    raise TypeError(f"{type(m).__name__}: an activation other than 'relu' or 'gelu' ({act!r}) cannot be converted")


def _no_weights(attribute: str) -> Callable[[Any], None]:
    """A loss setting we do not have (BCELoss's weight, pos_weight): None, else refused."""
    def get(m: Any) -> None:
        if getattr(m, attribute, None) is not None:
            raise TypeError(f"{type(m).__name__}: {attribute} is not supported by nn's {type(m).__name__}")
        return None

    return get


@dataclass(frozen=True)
class Kind:
    """One layer kind: torch's class name, the constructor's settings, and getters for those not read as attributes."""

    torch_name: str
    settings: tuple[str, ...] = ()
    getters: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    def read(self, module: Any) -> dict[str, Any]:
        """The settings of `module` (ours or torch's) as constructor keywords."""
        return {name: self.getters.get(name, lambda m, n=name: getattr(m, n))(module) for name in self.settings}


def _kinds() -> dict[type[Module], Kind]:
    bias = {"bias": _has("bias")}
    conv = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
            "padding_mode")
    conv_t = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias",
              "dilation")
    rnn = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional")
    cell = {"bias": _has("bias_ih")}
    weighted = {"weight": lambda m: _array(m.weight)}
    kinds: dict[type[Module], Kind] = {
        nn.Linear: Kind("Linear", ("in_features", "out_features", "bias"), bias),
        nn.Conv1d: Kind("Conv1d", conv, bias),
        nn.Conv2d: Kind("Conv2d", conv, bias),
        nn.ConvTranspose1d: Kind("ConvTranspose1d", conv_t, bias),
        nn.ConvTranspose2d: Kind("ConvTranspose2d", conv_t, bias),
        nn.MaxPool1d: Kind("MaxPool1d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
        nn.MaxPool2d: Kind("MaxPool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
        nn.AvgPool1d: Kind("AvgPool1d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
        nn.AvgPool2d: Kind("AvgPool2d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                                         "divisor_override")),
        nn.AdaptiveAvgPool1d: Kind("AdaptiveAvgPool1d", ("output_size",)),
        nn.AdaptiveAvgPool2d: Kind("AdaptiveAvgPool2d", ("output_size",)),
        nn.Upsample: Kind("Upsample", ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")),
        nn.Flatten: Kind("Flatten", ("start_dim", "end_dim")),
        nn.Dropout: Kind("Dropout", ("p",)),
        **{cls: Kind(cls.__name__, ("num_features", "eps", "momentum", "affine", "track_running_stats"),
                     {"affine": _has("weight"), "track_running_stats": _has("running_mean")})
           for cls in (nn.BatchNorm1d, nn.BatchNorm2d)},
        nn.LayerNorm: Kind("LayerNorm", ("normalized_shape", "eps", "elementwise_affine", "bias"),
                           {"elementwise_affine": _has("weight"), **bias}),
        nn.Embedding: Kind("Embedding", ("num_embeddings", "embedding_dim", "padding_idx")),
        nn.RNN: Kind("RNN", (*rnn, "nonlinearity")),
        nn.LSTM: Kind("LSTM", rnn),
        nn.GRU: Kind("GRU", rnn),
        nn.RNNCell: Kind("RNNCell", ("input_size", "hidden_size", "bias", "nonlinearity"), cell),
        nn.LSTMCell: Kind("LSTMCell", ("input_size", "hidden_size", "bias"), cell),
        nn.GRUCell: Kind("GRUCell", ("input_size", "hidden_size", "bias"), cell),
        nn.MultiheadAttention: Kind("MultiheadAttention", ("embed_dim", "num_heads", "dropout", "bias", "batch_first"),
                                    {"bias": _has("in_proj_bias")}),
        nn.TransformerEncoderLayer: Kind(
            "TransformerEncoderLayer",
            ("d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "batch_first",
             "norm_first", "bias"),
            {"d_model": lambda m: m.linear1.in_features, "nhead": lambda m: m.self_attn.num_heads,
             "dim_feedforward": lambda m: m.linear1.out_features, "dropout": lambda m: m.dropout.p,
             "activation": _activation, "layer_norm_eps": lambda m: m.norm1.eps,
             "batch_first": lambda m: m.self_attn.batch_first, "bias": lambda m: m.linear1.bias is not None},
        ),
        # losses
        nn.MSELoss: Kind("MSELoss", ("reduction",)),
        nn.L1Loss: Kind("L1Loss", ("reduction",)),
        nn.BCELoss: Kind("BCELoss", ("reduction", "weight"), {"weight": _no_weights("weight")}),
        nn.BCEWithLogitsLoss: Kind("BCEWithLogitsLoss", ("reduction", "weight", "pos_weight"),
                                   {"weight": _no_weights("weight"), "pos_weight": _no_weights("pos_weight")}),
        nn.CrossEntropyLoss: Kind("CrossEntropyLoss", ("weight", "ignore_index", "reduction", "label_smoothing"),
                                  weighted),
        nn.NLLLoss: Kind("NLLLoss", ("weight", "ignore_index", "reduction"), weighted),
        nn.KLDivLoss: Kind("KLDivLoss", ("reduction", "log_target")),
        nn.SmoothL1Loss: Kind("SmoothL1Loss", ("reduction", "beta")),
        nn.HuberLoss: Kind("HuberLoss", ("reduction", "delta")),
    }
    for cls in (nn.ZeroPad1d, nn.ZeroPad2d, nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReplicationPad1d,
                nn.ReplicationPad2d, nn.CircularPad1d, nn.CircularPad2d):
        kinds[cls] = Kind(cls.__name__, ("padding",))
    for cls in (nn.ConstantPad1d, nn.ConstantPad2d):
        kinds[cls] = Kind(cls.__name__, ("padding", "value"))
    for cls in (nn.Tanh, nn.Sigmoid, nn.ReLU, nn.Identity, nn.SELU, nn.SiLU, nn.Mish, nn.ReLU6, nn.Hardsigmoid,
                nn.Hardswish, nn.Softsign, nn.LogSigmoid):
        kinds[cls] = Kind(cls.__name__)
    for cls, settings in ((nn.LeakyReLU, ("negative_slope",)), (nn.Softplus, ("beta", "threshold")),
                          (nn.GELU, ("approximate",)), (nn.ELU, ("alpha",)), (nn.CELU, ("alpha",)),
                          (nn.Hardtanh, ("min_val", "max_val")), (nn.Softmax, ("dim",)), (nn.LogSoftmax, ("dim",)),
                          (nn.Softmin, ("dim",))):
        kinds[cls] = Kind(cls.__name__, settings)
    return kinds


KINDS = _kinds()
#: torch's class name → our class.
BY_TORCH_NAME = {kind.torch_name: cls for cls, kind in KINDS.items()}
