"""The layers, as `torch.nn.modules` lays them out: one file per family.

`module` (the Module base), `linear` (Linear, Identity), `container` (Sequential, MLP, ModuleList, ModuleDict),
`activation` (its functions: `activation_functions`),
`conv`, `conv_transpose`, `flatten`, `pooling`, `padding`, `upsampling`, `im2col` (the unfold/fold ops),
`normalization` (BatchNorm, LayerNorm, Dropout), `loss`.
Every public name is also `nn.<Name>`.
"""

from nn.modules.activation import (  # more activations (issue 25)
    CELU,
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
)
from nn.modules.container import MLP, ModuleDict, ModuleList, Sequential
from nn.modules.conv import Conv1d, Conv2d
from nn.modules.conv_transpose import ConvTranspose1d, ConvTranspose2d
from nn.modules.flatten import Flatten
from nn.modules.linear import Identity, Linear
from nn.modules.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from nn.modules.module import IncompatibleKeys, Module
from nn.modules.normalization import BatchNorm1d, BatchNorm2d, Dropout, LayerNorm
from nn.modules.padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
)
from nn.modules.pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from nn.modules.upsampling import Upsample

__all__ = [
    "GELU", "MLP", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Flatten", "Identity", "IncompatibleKeys", "LayerNorm", "LeakyReLU", "Linear", "MSELoss", "MaxPool2d", "Module",
    "ReLU", "Sequential", "Sigmoid", "Softplus", "Tanh",
]
# the convolution family (issue 25)
__all__ += [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "BatchNorm2d", "CircularPad1d", "CircularPad2d", "ConstantPad1d",
    "ConstantPad2d", "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "Upsample", "ZeroPad1d", "ZeroPad2d",
]
# more activations, losses and containers (issue 25)
__all__ += [
    "CELU",
    "ELU",
    "SELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "ReLU6",
    "SiLU",
    "SmoothL1Loss",
    "Softmax",
    "Softmin",
    "Softsign",
]
# sequences and attention (issue 25): `rnn` (RNN, LSTM, GRU), `rnn_cells` (their steps and cells), `sparse`
# (Embedding), `attention` (MultiheadAttention), `transformer` (TransformerEncoderLayer); the fused ops they run
# on: `lstm_op`, `gru_op`, `attention_op` (and `fused`, what those share)
from nn.modules.attention import MultiheadAttention  # noqa: E402
from nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
from nn.modules.sparse import Embedding  # noqa: E402
from nn.modules.transformer import TransformerEncoderLayer  # noqa: E402

__all__ += [
    "GRU", "LSTM", "RNN", "Embedding", "GRUCell", "LSTMCell", "MultiheadAttention", "RNNCell", "TransformerEncoderLayer",
]
