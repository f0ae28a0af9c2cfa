"""Moving models to other frameworks: PyTorch (`to_torch`, `from_torch`) and ONNX (`export_onnx`).

Both bridges know the same modules: `Linear`, the activations and `Sequential` (so `MLP`). The
activations' names in each framework live in one table here; anything else is refused with a
`TypeError` naming it, before any work is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nn.modules.activation import ReLU, Sigmoid, Tanh
from nn.modules.container import Sequential
from nn.modules.linear import Identity, Linear
from nn.modules.module import Module

#: Our activation → (its torch.nn class name, its ONNX operator).
ACTIVATIONS: dict[type[Module], tuple[str, str]] = {
    Tanh: ("Tanh", "Tanh"),
    Sigmoid: ("Sigmoid", "Sigmoid"),
    ReLU: ("ReLU", "Relu"),
    Identity: ("Identity", "Identity"),
}


def unsupported(module: Any, who: str) -> TypeError:
    known = ", ".join(["Linear", "Sequential (and MLP)", *(c.__name__ for c in ACTIVATIONS)])
    return TypeError(f"{who}: {type(module).__name__} is not supported; it knows {known}")


def flatten(module: Any, who: str) -> Iterator[Module]:
    """The Linear layers and activations of `module` in the order they are applied (checked first)."""
    stack, out = [module], []
    while stack:
        m = stack.pop()
        if isinstance(m, Sequential):
            stack.extend(reversed(m.layers))
        elif type(m) is Linear or type(m) in ACTIVATIONS:
            out.append(m)
        else:
            raise unsupported(m, who)
    return iter(out)


def to_torch(module: Module) -> Any:
    """The equivalent `torch.nn` module, with copies of the same weights (and their dtype)."""
    from nn.interop.pytorch import to_torch

    return to_torch(module)


def from_torch(module: Any) -> Module:
    """The equivalent `nn` module of a `torch.nn` one, with copies of the same weights."""
    from nn.interop.pytorch import from_torch

    return from_torch(module)


def export_onnx(module: Module, path: Any, dtype: Any = None) -> None:
    """Write `module` as an ONNX model to `path`: one Gemm per Linear, activations as ONNX ops."""
    from nn.interop.onnx_export import export_onnx

    export_onnx(module, path, dtype)
