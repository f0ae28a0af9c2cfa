"""What both views of a graph need: its nodes in order, their names and modules, and gradient norms.

`collect` walks the recorded graph with the engine's own topological sort (no recursion) and
numbers every tensor in that order, root first, so node ids are deterministic. The engine keeps no
gradients of intermediates, so `gradient_norms` asks `autodiff.grad` for them in one extra pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autodiff.backward import consumer_counts, grad, reverse_topological
from autodiff.tensor import Tensor


class Graph:
    """The graph behind `root`: tensors in the engine's backward order (root first) with ids and names."""

    __slots__ = ("clusters", "ids", "names", "order", "params", "root", "uses")

    def __init__(self, root: Tensor, params: dict[Tensor, str]) -> None:
        self.root = root
        self.params = params
        # The engine's own order: every tensor after all of its consumers, as backward visits them.
        self.order: list[Tensor] = reverse_topological([root])
        self.ids: dict[Tensor, str] = {t: f"n{i}" for i, t in enumerate(self.order)}
        self.uses: dict[Tensor, int] = consumer_counts([root], grad_only=False)
        self.names: dict[Tensor, str] = {}
        self.clusters: dict[Tensor, tuple[str, ...]] = {}
        # The module of each tensor computed from parameters alone (W, W.T, W ** 2): an op that
        # reads such tensors of one module is that module's work (x @ W.T, h + b, linear(x, W, b)).
        weights: dict[Tensor, tuple[str, ...]] = {}
        for t in reversed(self.order):  # inputs first: a tensor's module follows from its inputs'
            ctx = t._ctx
            if ctx is None:
                pname = params.get(t)
                self.names[t] = pname or t.name or ("leaf" if t.requires_grad else "const")
                if pname:
                    weights[t] = self.clusters[t] = module_path(pname)
                continue
            self.names[t] = ctx[0].name if t.name is None else f"{ctx[0].name} {t.name}"
            parents = [p for p in ctx[1] if p is not None]
            paths = [weights[p] for p in parents if p in weights]
            if paths:
                self.clusters[t] = _shared_module(paths)
                if len(paths) == len(ctx[1]):  # a constant input (None) is no parameter
                    weights[t] = self.clusters[t]

    def describe(self, t: Tensor) -> str:
        """How to refer to `t` in text: its name and id, e.g. `W1 (n2)` or `tanh (n7)`."""
        return f"{self.names[t]} ({self.ids[t]})"


def collect(root: Any, params: Any, who: str) -> Graph:
    """The graph that produced `root`, with leaves named from `params`; checks the arguments."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{who}: root must be a Tensor, got {type(root).__name__}")
    return Graph(root, parameter_names(params, who))


def parameter_names(params: Any, who: str) -> dict[Tensor, str]:
    """`{tensor: dotted name}` from a module (anything with `named_parameters()`) or a dict."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        items = params.named_parameters()
    elif isinstance(params, Mapping):
        items = params.items()
    else:
        raise TypeError(
            f"{who}: params must be a module with named_parameters() or a {{name: Tensor}} dict, "
            f"got {type(params).__name__}"
        )
    names: dict[Tensor, str] = {}
    for name, t in items:
        if not isinstance(name, str) or not isinstance(t, Tensor):
            raise TypeError(
                f"{who}: params must map str names to Tensors, got {type(name).__name__}: {type(t).__name__}"
            )
        names.setdefault(t, name)  # a shared tensor keeps its first name, as named_parameters does
    return names


def module_path(name: str) -> tuple[str, ...]:
    """The modules a dotted parameter name lives in: `encoder.0.weight` → ('encoder', 'encoder.0')."""
    parts = name.split(".")[:-1]
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def _shared_module(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    # The deepest module that all of `paths` lie in: () when they belong to different top modules.
    common = paths[0]
    for p in paths[1:]:
        n = 0
        while n < len(common) and n < len(p) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return common


def gradients(graph: Graph) -> dict[Tensor, np.ndarray] | None:
    """∂root/∂t for every tensor t of the graph that requires grad, or None for a non-scalar root.

    One extra pass through `autodiff.grad`, which fills no `.grad`.
    """
    root = graph.root
    if not root.requires_grad or root.data.size != 1:
        return None
    wanted = [t for t in graph.order if t.requires_grad]
    return {t: g.data for t, g in zip(wanted, grad(root, wanted, hooks=False))}


def gradient_norms(graph: Graph) -> dict[Tensor, float] | None:
    """‖∂root/∂t‖ for every tensor t of the graph that requires grad, or None for a non-scalar root."""
    grads = gradients(graph)
    return None if grads is None else {t: float(np.linalg.norm(g)) for t, g in grads.items()}


def leaf_grad_norms(graph: Graph) -> dict[Tensor, float]:
    """‖t.grad‖ for every leaf of the graph whose `.grad` is set (what `backward()` accumulated)."""
    return {t: float(np.linalg.norm(t.grad)) for t in graph.order if t._ctx is None and t.grad is not None}


def fmt_type(t: Tensor) -> str:
    """`(4, 8) float64`: a tensor's shape and dtype."""
    return f"{tuple(t.shape)} {_dtype_names.get(t.data.dtype) or _dtype_name(t.data.dtype)}"


_dtype_names: dict[np.dtype, str] = {}


def _dtype_name(dtype: np.dtype) -> str:
    # str(dtype) costs microseconds, which add up over a graph of 10,000 nodes.
    name = _dtype_names[dtype] = str(dtype)
    return name


def fmt_shape(shape: tuple[int, ...]) -> str:
    """`(4, 8)`, `(3,)` or `()`: a tuple as Python writes it."""
    return str(tuple(shape))


def fmt_norm(v: float) -> str:
    """A norm with four significant digits, the way both the graph and `explain` print it."""
    return f"{v:.4g}"


def summarize(a: np.ndarray) -> str:
    """A few characters about an array's values: the values if it is tiny, else mean, std and range."""
    if a.size == 0:
        return "empty"
    if a.ndim == 0:
        return f"{a.item():.4g}"
    if a.size <= 4:
        return np.array2string(a.ravel(), precision=3, separator=", ", max_line_width=10_000)
    with np.errstate(all="ignore"):
        return f"μ={a.mean():.3g} σ={a.std():.3g} ∈ [{a.min():.3g}, {a.max():.3g}]"
