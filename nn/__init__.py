"""nn: modules, layers, losses, optimizers and data sets on top of autodiff.

>>> import numpy as np
>>> import autodiff as ad
>>> import nn
>>> _ = ad.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))
>>> opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
>>> x, t = np.linspace(-1, 1, 8)[:, None], np.linspace(0, 1, 8)[:, None]
>>> loss = nn.MSELoss()(model(x), t)
>>> opt.zero_grad(); loss.backward(); opt.step()
"""

import sys

from nn import datasets, functional, init, utils
from nn.data import batches, kfold
from nn.interop import export_onnx, from_torch, to_torch
from nn.io.checkpoint import load_checkpoint, save_checkpoint
from nn.modules import (
    GELU,
    MLP,
    AvgPool2d,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    IncompatibleKeys,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
)
from nn.modules import (  # sequences and attention (issue 25)
    GRU,
    LSTM,
    RNN,
    Embedding,
    GRUCell,
    LSTMCell,
    MultiheadAttention,
    RNNCell,
    TransformerEncoderLayer,
)
from nn.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, lr_scheduler
from nn.parameter import Buffer, Parameter

# `nn.lr_scheduler` stays importable by its old path (`from nn.lr_scheduler import StepLR`).
sys.modules.setdefault("nn.lr_scheduler", lr_scheduler)

__all__ = [
    "GELU",
    "MLP",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Buffer",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "batches",
    "datasets",
    "export_onnx",
    "from_torch",
    "functional",
    "init",
    "kfold",
    "load_checkpoint",
    "lr_scheduler",
    "save_checkpoint",
    "to_torch",
    "utils",
]
__all__ += [  # sequences and attention (issue 25)
    "GRU", "LSTM", "RNN", "Embedding", "GRUCell", "LSTMCell", "MultiheadAttention", "RNNCell", "TransformerEncoderLayer",
]
