"""`to_torch` / `from_torch`: the same network in PyTorch, weights copied by name.

Our parameter names are torch's (`0.weight`, `2.bias`: Sequential numbers its children in both),
so a state dict moves either way unchanged. torch is never a dependency: it is imported here,
when a bridge is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.extras import require
from nn.interop import ACTIVATIONS, unsupported
from nn.modules.container import Sequential
from nn.modules.linear import Linear
from nn.modules.module import Module
from nn.parameter import Parameter

_TORCH_NAMES = {torch_name: ours for ours, (torch_name, _) in ACTIVATIONS.items()}


def _torch() -> Any:
    require(["torch"], "torch", "nn.to_torch / nn.from_torch")
    import torch

    return torch


def to_torch(module: Module) -> Any:
    """The equivalent `torch.nn` module (Linear, activations, Sequential) with copies of our weights."""
    torch = _torch()

    def convert(m: Any) -> Any:
        if isinstance(m, Sequential):
            return torch.nn.Sequential(*(convert(c) for c in m.layers))
        if type(m) is Linear:
            w = m.weight.data
            layer = torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=torch.from_numpy(w).dtype)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(w))
                if m.bias is not None:
                    layer.bias.copy_(torch.from_numpy(m.bias.data))
            return layer
        if type(m) in ACTIVATIONS:
            return getattr(torch.nn, ACTIVATIONS[type(m)][0])()
        raise unsupported(m, "to_torch")

    return convert(module)


def from_torch(module: Any) -> Module:
    """The equivalent `nn` module of a torch one (Linear, Tanh, Sigmoid, ReLU, Identity, Sequential)."""
    torch = _torch()

    def convert(m: Any) -> Module:
        if isinstance(m, torch.nn.Sequential):
            return Sequential(*(convert(c) for c in m))
        if type(m) is torch.nn.Linear:
            # A throwaway generator: the weights are torch's, the global one is left alone.
            layer = Linear(m.in_features, m.out_features, bias=m.bias is not None, rng=np.random.default_rng(0))
            layer.weight = Parameter(m.weight.detach().cpu().numpy().copy())
            layer.bias = None if m.bias is None else Parameter(m.bias.detach().cpu().numpy().copy())
            return layer
        ours = _TORCH_NAMES.get(type(m).__name__)
        if ours is not None and type(m) is getattr(torch.nn, type(m).__name__):
            return ours()
        raise unsupported(m, "from_torch")

    return convert(module)
