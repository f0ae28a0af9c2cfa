"""The layers, as `torch.nn.modules` lays them out: one file per family.

`module` (the Module base), `linear` (Linear, Identity), `container` (Sequential, MLP), `activation`,
`conv` (convolution, pooling, Flatten), `normalization` (BatchNorm, LayerNorm, Dropout), `loss`.
Every public name is also `nn.<Name>`.
"""

from nn.modules.activation import GELU, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from nn.modules.container import MLP, Sequential
from nn.modules.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from nn.modules.linear import Identity, Linear
from nn.modules.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from nn.modules.module import IncompatibleKeys, Module
from nn.modules.normalization import BatchNorm1d, Dropout, LayerNorm

__all__ = [
    "GELU", "MLP", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Flatten", "Identity", "IncompatibleKeys", "LayerNorm", "LeakyReLU", "Linear", "MSELoss", "MaxPool2d", "Module",
    "ReLU", "Sequential", "Sigmoid", "Softplus", "Tanh",
]
# sequences and attention (issue 25): `rnn` (RNN, LSTM, GRU and cells; `lstm_op` the fused LSTM layer),
# `sparse` (Embedding), `attention` (MultiheadAttention), `transformer` (TransformerEncoderLayer)
from nn.modules.attention import MultiheadAttention  # noqa: E402
from nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
from nn.modules.sparse import Embedding  # noqa: E402
from nn.modules.transformer import TransformerEncoderLayer  # noqa: E402

__all__ += [
    "GRU", "LSTM", "RNN", "Embedding", "GRUCell", "LSTMCell", "MultiheadAttention", "RNNCell", "TransformerEncoderLayer",
]
