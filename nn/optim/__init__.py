"""Optimizers and learning-rate schedules, as `torch.optim` lays them out.

`optimizer` (the base class: parameter groups, state, state dicts), `sgd_adam` (SGD, Adam, AdamW),
`adaptive` (RMSprop, Adagrad), `lr_scheduler`. Every optimizer is also `nn.<Name>`, and the
schedules are `nn.lr_scheduler`.
"""

from nn.optim import lr_scheduler
from nn.optim.adaptive import Adagrad, RMSprop
from nn.optim.optimizer import Optimizer
from nn.optim.sgd_adam import SGD, Adam, AdamW

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
