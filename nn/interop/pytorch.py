"""`to_torch` / `from_torch`: the same network in PyTorch, weights copied by name.

Each layer is rebuilt on the other side from its settings (`nn.interop.layers`), in the dtype of
its weights, and its state dict is copied in: our parameter and buffer names are torch's (`0.weight`,
`2.running_mean`: Sequential numbers its children in both), so a state dict moves either way
unchanged. torch is never a dependency: it is imported here, when a bridge is used.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from autodiff.extras import require
from nn.interop import check, kind_of, unsupported
from nn.modules.container import Sequential
from nn.modules.module import Module


def _torch() -> Any:
    require(["torch"], "torch", "nn.to_torch / nn.from_torch")
    import torch

    return torch


def _dtype_of(arrays: list[np.ndarray]) -> np.dtype | None:
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return floats[0] if floats else None


def to_torch(module: Module) -> Any:
    """The equivalent `torch.nn` module (every layer kind of `nn.interop.layers`, Sequential) with copies of our weights.

    A module whose `forward` the bridge cannot write as torch's (a custom module, a Sequential
    subclass with its own forward) is refused with a TypeError naming it, before anything is built.
    """
    check(module, "to_torch")
    torch = _torch()
    from nn.interop.layers import KINDS

    def convert(m: Any) -> Any:
        base = kind_of(m, "to_torch")
        if base is Sequential:
            out = torch.nn.Sequential(*(convert(c) for c in m.layers))
            out.training = m.training
            return out
        settings = KINDS[base].read(m)
        settings = {k: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v for k, v in settings.items()}
        layer = getattr(torch.nn, KINDS[base].torch_name)(**settings)
        state = m.state_dict()
        dtype = _dtype_of(list(state.values()))
        if dtype is not None:
            layer = layer.to(torch.from_numpy(np.zeros(0, dtype)).dtype)
        theirs = layer.state_dict()
        if set(theirs) != set(state):
            raise ValueError(f"to_torch: {type(m).__name__}'s state {sorted(state)} does not match torch's "
                             f"{sorted(theirs)}")
        layer.load_state_dict({k: torch.from_numpy(np.array(v)).to(theirs[k].dtype) for k, v in state.items()})
        return layer.train(m.training)

    return convert(module)


def from_torch(module: Any) -> Module:
    """The equivalent `nn` module of a torch one (the layer kinds of `nn.interop.layers`, Sequential), weights copied.

    Only torch's own classes are converted: a subclass (whose forward may differ) is refused.
    """
    torch = _torch()
    from nn.interop.layers import BY_TORCH_NAME, KINDS

    def convert(m: Any) -> Module:
        if type(m) is torch.nn.Sequential:
            out = Sequential(*(convert(c) for c in m))
            out.training = m.training
            return out
        name = type(m).__name__
        ours = BY_TORCH_NAME.get(name)
        if ours is None or type(m) is not getattr(torch.nn, name, None):
            raise unsupported(m, "from_torch")
        settings = KINDS[ours].read(m)
        state = {k: v.detach().cpu().numpy().copy() for k, v in m.state_dict().items()}
        accepts = inspect.signature(ours).parameters
        if "rng" in accepts:
            settings["rng"] = np.random.default_rng(0)  # a throwaway generator: the weights are torch's
        dtype = _dtype_of(list(state.values()))
        if "dtype" in accepts and dtype is not None:
            settings["dtype"] = dtype
        layer = ours(**settings)
        layer.load_state_dict(state)
        return layer.train(m.training)

    return convert(module)
