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
    CELU,
    ELU,
    GELU,
    GRU,
    LSTM,
    MLP,
    RNN,
    SELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    GRUCell,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HuberLoss,
    Identity,
    IncompatibleKeys,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    LSTMCell,
    MaxPool1d,
    MaxPool2d,
    Mish,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    MultiheadAttention,
    NLLLoss,
    ReflectionPad1d,
    ReflectionPad2d,
    ReLU,
    ReLU6,
    ReplicationPad1d,
    ReplicationPad2d,
    RNNCell,
    Sequential,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    TransformerEncoderLayer,
    Upsample,
    ZeroPad1d,
    ZeroPad2d,
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
__all__ += [  # the convolution family (issue 25)
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "BatchNorm2d", "CircularPad1d", "CircularPad2d", "ConstantPad1d",
    "ConstantPad2d", "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "Upsample", "ZeroPad1d", "ZeroPad2d",
]
__all__ += [  # more activations, losses and containers (issue 25)
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
__all__ += [  # sequences and attention (issue 25)
    "GRU", "LSTM", "RNN", "Embedding", "GRUCell", "LSTMCell", "MultiheadAttention", "RNNCell", "TransformerEncoderLayer",
]
