"""Containers: Sequential, and MLP built on it (the lecture's multilayer perceptron)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

import autodiff as ad
from nn.modules.activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from nn.modules.linear import Identity, Linear
from nn.modules.module import Module


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))): the modules applied in order, named "0", "1", … in parameter names.

    >>> import numpy as np
    >>> import nn
    >>> model = nn.Sequential(nn.Linear(1, 2, rng=np.random.default_rng(0)), nn.Tanh())
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias']
    """

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not an nn.Module")
        self.layers = list(modules)

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self.layers):
            yield str(i), m
        for name, value in vars(self).items():
            if name != "layers":
                yield name, value

    def forward(self, x: Any) -> Any:
        for m in self.layers:
            x = m(x)
        return x

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: got a {type(module).__name__}, not an nn.Module")
        self.layers.append(module)
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]


ACTIVATIONS: dict[str, type[Module]] = {
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "gelu": GELU,
    "identity": Identity,
    "linear": Identity,
}


def _activation(spec: Any, what: str) -> Module:
    if isinstance(spec, str):
        if spec.lower() not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown {what} {spec!r}; choose one of {', '.join(sorted(ACTIVATIONS))}")
        return ACTIVATIONS[spec.lower()]()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    raise TypeError(f"MLP: {what} must be a name such as 'tanh' or a Module class, got {spec!r}")


class MLP(Sequential):
    """A multilayer perceptron z⁽ˡ⁾ = h(W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾) with layer sizes `sizes` = (in, hidden…, out).

    `activation` (a name: tanh, sigmoid, relu, identity; or a Module class) follows every hidden
    layer, `output_activation` (None for linear outputs) the last one.

    >>> import numpy as np
    >>> import nn
    >>> nn.MLP([2, 8, 1], rng=np.random.default_rng(0))
    MLP(
      (0): Linear(in_features=2, out_features=8, bias=True)
      (1): Tanh()
      (2): Linear(in_features=8, out_features=1, bias=True)
    )
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Any = "tanh",
        output_activation: Any = None,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got {sizes}")
        _activation(activation, "activation")  # fail early on a bad name, even with no hidden layer
        if output_activation is not None:
            _activation(output_activation, "output_activation")
        rng = ad.default_rng() if rng is None else rng
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(pairwise(sizes)):
            layers.append(Linear(n_in, n_out, bias=bias, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(_activation(activation, "activation"))
        if output_activation is not None:
            layers.append(_activation(output_activation, "output_activation"))
        super().__init__(*layers)
