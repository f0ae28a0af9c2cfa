"""Layers: Linear, the lecture's activations, Sequential and MLP (more activations in `nn.activations`,
convolution in `nn.conv`, normalisation in `nn.norm`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.op import op
from autodiff.zero_safe import bilinear
from nn.activations import GELU, LeakyReLU
from nn.module import Module
from nn.parameter import Parameter


# ---------------------------------------------------------------------- the fused affine op
@op(name="linear")
def _linear(x, weight, bias):
    """a = x Wᵀ + b, a_j = Σ_i w_ji x_i + b_j;  δ_x = δ_a W,  ∂E/∂w_ji = Σ_n δ_nj x_ni,  ∂E/∂b_j = Σ_n δ_nj"""
    out = x @ weight.T
    if out.ndim and (out.dtype is getattr(bias, "dtype", None) or out.dtype == np.result_type(out, bias)):
        out += bias  # out is ours: add in place rather than allocate another activation
    else:
        out = out + bias
    return out, (x, weight)


def _linear_x(g, x, weight):
    return g @ weight


def _linear_weight(g, x, weight):
    if x.ndim == 1:  # the outer product δ xᵀ
        return g.reshape(-1, 1) * x.reshape(1, -1)
    if x.ndim > 2:
        g = g.reshape(-1, g.shape[-1])
        x = x.reshape(-1, x.shape[-1])
    return g.T @ x


def _linear_bias(g, x, weight):
    if g.ndim == 2:
        return g.sum(axis=0)
    return g if g.ndim == 1 else g.sum(axis=tuple(range(g.ndim - 1)))


# Written with operators only, these serve grad of grad too, on the input Tensors (Hessians, Newton-CG).
_linear.vjp(_linear_x, _linear_weight, _linear_bias)
# Below a `where`, 0 · ∞ = 0: δ_x is bilinear in δ and W, δ_W in δ and x; δ_b only sums δ.
_linear.zero_safe_vjp(bilinear(1), bilinear(0), None)


# ---------------------------------------------------------------------- layers
class Linear(Module):
    """a_j = Σ_i w_ji z_i + b_j, i.e. y = x Wᵀ + b with W of shape (out, in): the lecture's w_ji.

    Weights and biases start uniform in ±1/√in_features, drawn from `rng` (default: the
    generator `autodiff.manual_seed` resets).

    >>> import numpy as np
    >>> import nn
    >>> layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer(np.ones((5, 3))).shape
    (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype: Any = None,
    ) -> None:
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Linear: {what} must be a positive int, got {type(n).__name__} {n!r}")
            if n < 1:
                raise ValueError(f"Linear: {what} must be a positive int, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = ad.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)), dtype=dtype)
        self.bias = Parameter(rng.uniform(-bound, bound, out_features), dtype=dtype) if bias else None

    def forward(self, x: Any) -> Tensor:
        if type(x) is not Tensor and not isinstance(x, Tensor):
            x = np.asarray(x)
            shape = x.shape
        else:
            shape = x.data.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: input of shape {shape} has {shape[-1] if shape else 0} features "
                f"(its last dimension), the layer expects {self.in_features}"
            )
        if self.bias is None:
            return x @ self.weight.T
        return _linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Tanh(Module):
    """z = tanh(a);  δ = (1 − z²) ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.tanh(x)


class Sigmoid(Module):
    """z = σ(a) = 1 / (1 + e⁻ᵃ);  δ = z (1 − z) ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.sigmoid(x)


class ReLU(Module):
    """z = max(a, 0);  δ = [a > 0] ⊙ δ_out"""

    def forward(self, x: Any) -> Tensor:
        return ad.relu(x)


class Identity(Module):
    """z = a;  δ = δ_out (a linear output unit)"""

    def forward(self, x: Any) -> Any:
        return x


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
