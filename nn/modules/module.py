"""`Module`: a plain object whose Parameters and sub-modules are found by walking its attributes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from autodiff.compiler import structure_changed
from autodiff.tensor import mark_modified
from nn.io.npz import open_npz
from nn.io.state_dict import check_state, save_npz
from nn.parameter import Buffer, Parameter


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped: keys the model has but the state lacks, and the reverse."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _expand(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    """The Parameters, Buffers and Modules in one attribute value, looking inside lists, tuples and dicts."""
    if isinstance(value, (Parameter, Buffer, Module)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _expand(f"{name}.{i}", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _expand(f"{name}.{k}", v)


class Module:
    """A differentiable function with learnable parameters: subclass it and write `forward`.

    Modules are plain objects. Parameters and sub-modules are whatever the attributes hold:
    `Parameter`s, `Module`s, and lists, tuples and dicts of them, found in attribute order and
    listed once each even when shared. No `__init__` call is needed in subclasses.

    >>> import numpy as np
    >>> import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         self.w = nn.Parameter(np.ones((2, 3)))
    ...         self.heads = [nn.Linear(3, 1, rng=np.random.default_rng(0))]
    ...     def forward(self, x):
    ...         return self.heads[0](x @ self.w)
    >>> [name for name, _ in Affine().named_parameters()]
    ['w', 'heads.0.weight', 'heads.0.bias']
    """

    #: True after `train()` (the default), False after `eval()`.
    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        # What a compiled function reaches, or a setting it baked in, may change: it checks again
        # before its next call.
        structure_changed()
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        structure_changed()
        object.__delattr__(self, name)

    # ----------------------------------------------------------------- walking the tree
    def _named_members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) pairs to search for parameters and sub-modules; `Sequential` overrides it."""
        return iter(vars(self).items())

    def _direct(self) -> Iterator[tuple[str, Any]]:
        for name, value in self._named_members():
            yield from _expand(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, each once."""
        seen: set[int] = set()
        for name, value in self._direct():
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, each once."""
        return (m for _, m in self.named_children())

    def _walk(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """Depth-first in attribute order: this module, then every module and Parameter below it, each once."""
        seen = {id(self)}
        yield prefix, self
        stack = [(prefix, self._direct())]
        while stack:
            base, members = stack[-1]
            for name, value in members:
                if id(value) in seen:
                    continue
                seen.add(id(value))
                full = f"{base}.{name}" if base else name
                yield full, value
                if isinstance(value, Module):
                    stack.append((full, value._direct()))
                    break
            else:
                stack.pop()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it (depth-first, attribute order), each once, with dotted names."""
        return ((name, m) for name, m in self._walk(prefix) if isinstance(m, Module))

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, each once."""
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every Parameter with its dotted name (`0.weight`); a shared one only under its first name."""
        return ((name, p) for name, p in self._walk(prefix) if isinstance(p, Parameter))

    def parameters(self) -> Iterator[Parameter]:
        """Every Parameter, each once: what an optimizer updates."""
        return (p for _, p in self.named_parameters())

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """Every Buffer (state that is saved but not learnt, such as running statistics) with its dotted name."""
        return ((name, b) for name, b in self._walk(prefix) if isinstance(b, Buffer))

    def _named_state(self) -> dict[str, Any]:
        """What `state_dict` saves: the parameters, then the buffers."""
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    # ----------------------------------------------------------------- modes and gradients
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set `.grad` to None), ready for the next backward."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set `training` on this module and all below it; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Same as `train(False)`."""
        return self.train(False)

    # ----------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in `repr`; layers override it."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self.named_children():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

    # ----------------------------------------------------------------- saving and loading
    def state_dict(self) -> dict[str, np.ndarray]:
        """{dotted name: copy of the parameter's array}, in `named_parameters()` order, then the buffers."""
        return {name: p.data.copy() for name, p in self._named_state().items()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy `state`'s arrays into the parameters, after checking all of them.

        Every key, shape and dtype is checked before anything changes; any problem (a missing
        or, with `strict`, unexpected key, a shape or dtype that differs, an object array) raises
        one `ValueError` listing every problem, and leaves the model as it was. With
        `strict=False` missing and unexpected keys are allowed and returned.
        """
        params = self._named_state()
        arrays, missing, unexpected = check_state(params, state, strict)
        for name, array in arrays.items():
            params[name].data[...] = array
        mark_modified(params[name] for name in arrays)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `state_dict()` to `path` as an `.npz` archive, atomically (no half-written file)."""
        save_npz(self.state_dict(), path)

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> IncompatibleKeys:
        """Load parameters saved by `save`; a bad file raises and leaves the model unchanged.

        Never unpickles. A missing file raises `FileNotFoundError`; a file that is not a readable
        `.npz` archive of numeric arrays (see `nn.io.npz`: symbolic links, zip bombs, object arrays,
        truncated entries …) or does not match the model raises `ValueError`. Every entry's shape
        and dtype are checked from its header before any data is read, so a file declaring a huge
        array is refused without inflating it; with `strict=False`, unexpected entries are not read.
        """
        params = self._named_state()
        with open_npz(path, "load") as archive:
            try:
                wanted, missing, unexpected = check_state(params, archive.headers, strict)
            except ValueError as e:
                raise _does_not_fit(path, e) from None
            state = {name: archive.read(name) for name in wanted}
        self.load_state_dict(state, strict=False)
        return IncompatibleKeys(missing, unexpected)


def _does_not_fit(path: str | os.PathLike[str], e: ValueError) -> ValueError:
    return ValueError(f"load: {os.fspath(path)!r} does not fit this model; {e}")
