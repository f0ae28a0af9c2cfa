"""Containers: Sequential, MLP built on it (the lecture's multilayer perceptron), ModuleList and ModuleDict."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

import autodiff as ad
from autodiff.compiler import structure_changed
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


def _module(value: Any, who: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{who}: got a {type(value).__name__}, not an nn.Module")
    return value


class ModuleList(Module):
    """A list of modules whose parameters the owner finds, named "0.weight", "1.bias", …, as torch's ModuleList.

    It has no forward: the owning module's forward decides how to apply them.

    >>> import numpy as np
    >>> import nn
    >>> blocks = nn.ModuleList([nn.Linear(2, 2, rng=np.random.default_rng(0)) for _ in range(2)])
    >>> blocks.append(nn.Tanh())
    ModuleList(
      (0): Linear(in_features=2, out_features=2, bias=True)
      (1): Linear(in_features=2, out_features=2, bias=True)
      (2): Tanh()
    )
    >>> [name for name, _ in blocks.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, modules: Any = None) -> None:
        items = [] if modules is None else list(modules)
        for i, m in enumerate(items):
            _module(m, f"ModuleList: item {i}")
        self._modules = items

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self._modules):
            yield str(i), m
        for name, value in vars(self).items():
            if name != "_modules":
                yield name, value

    def _changed(self) -> None:
        structure_changed()  # what a compiled function reaches through this list may differ now

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(self._modules[index])
        return self._modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        self._modules[index] = _module(module, "ModuleList: item")
        self._changed()

    def __delitem__(self, index: int | slice) -> None:
        del self._modules[index]
        self._changed()

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end; returns self."""
        self._modules.append(_module(module, "ModuleList.append"))
        self._changed()
        return self

    def extend(self, modules: Any) -> ModuleList:
        """Add every module of `modules` at the end (all checked first); returns self."""
        items = list(modules)
        for i, m in enumerate(items):
            _module(m, f"ModuleList.extend: item {i}")
        self._modules.extend(items)
        self._changed()
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index`."""
        self._modules.insert(index, _module(module, "ModuleList.insert"))
        self._changed()


def _key(key: Any, who: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{who}: keys must be strings, got {type(key).__name__} {key!r}")
    if not key or "." in key:
        raise ValueError(f"{who}: a key must be a non-empty name without '.', got {key!r}")
    return key


class ModuleDict(Module):
    """A dict of modules whose parameters the owner finds, named "key.weight", in insertion order, as torch's ModuleDict.

    >>> import numpy as np
    >>> import nn
    >>> heads = nn.ModuleDict({"mean": nn.Linear(2, 1, rng=np.random.default_rng(0)), "act": nn.ReLU()})
    >>> [name for name, _ in heads.named_parameters()], list(heads)
    (['mean.weight', 'mean.bias'], ['mean', 'act'])
    """

    def __init__(self, modules: Any = None) -> None:
        self._modules: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def _named_members(self) -> Iterator[tuple[str, Any]]:
        yield from self._modules.items()
        for name, value in vars(self).items():
            if name != "_modules":
                yield name, value

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self._modules[_key(key, "ModuleDict")] = _module(module, f"ModuleDict[{key!r}]")
        structure_changed()

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        structure_changed()

    def keys(self) -> Any:
        return self._modules.keys()

    def values(self) -> Any:
        return self._modules.values()

    def items(self) -> Any:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove `key` and return its module."""
        module = self._modules.pop(key)
        structure_changed()
        return module

    def clear(self) -> None:
        self._modules.clear()
        structure_changed()

    def update(self, modules: Any) -> None:
        """Add (or replace) every (key, module) of a mapping or of an iterable of pairs, all checked first."""
        pairs = list(modules.items()) if isinstance(modules, (dict, ModuleDict)) else [tuple(p) for p in modules]
        checked = {}
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: expected (key, module) pairs, got {pair!r}")
            checked[_key(pair[0], "ModuleDict.update")] = _module(pair[1], f"ModuleDict.update[{pair[0]!r}]")
        self._modules.update(checked)
        structure_changed()
