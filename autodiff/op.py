"""The `@op` decorator: the only graph book-keeping there is.

An op is a forward function over ndarrays returning `(out, saved)`, and one vector-Jacobian
product (VJP) per differentiable input, `vjp_i(g, *saved) -> ∂E/∂input_i` given g = ∂E/∂out.
The decorator turns the forward into the public function: it unwraps Tensors, calls the forward,
and records `(op, parents, saved)` on the result only when recording is on and some input
requires grad; otherwise it costs nothing beyond the NumPy call. VJPs return full-shape
gradients; the engine sums them back to broadcast inputs' shapes (`unbroadcast`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autodiff.dtypes import coerce_operand, to_array
from autodiff.grad_mode import state
from autodiff.tensor import Tensor, _const, _node

#: Every public op by name: the test suite checks each one is in its op table.
registry: dict[str, Op] = {}

_ndarray = np.ndarray
_asarray = np.asarray


class Op:
    """A differentiable primitive: its name, its forward, its VJPs, and its rule in words."""

    __slots__ = ("__weakref__", "elementwise", "forward", "graph_vjps", "name", "rule", "selects", "vjps", "zero_safe_vjps")

    def __init__(self, name: str, forward: Callable[..., Any], rule: str) -> None:
        self.name = name
        self.forward = forward
        self.vjps: Sequence[Callable[..., Any]] = ()
        # The same VJPs written with Tensor ops, used when gradients must themselves be
        # differentiable (create_graph=True): fn(g, z, xs, saved) with g and the output z as
        # Tensors, xs the input Tensors (None for a constant, whose value the op saves).
        self.graph_vjps: Sequence[Callable[..., Any]] = ()
        self.rule = rule
        # True for ops whose VJP sends exact zeros to the inputs they did not select (where):
        # backward then keeps 0 · ∞ = 0 below them, so the unselected branch cannot leak NaN.
        self.selects = False
        # Elementwise ops (output element i depends on input element i only): below a `where`,
        # δ_in can be zeroed wherever δ_out is zero. Other ops state their rule, one per input, in
        # `zero_safe_vjps` (autodiff.zero_safe: masked, bilinear); ops that only move values need none.
        self.elementwise = False
        self.zero_safe_vjps: Sequence[Any] = ()

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def __reduce__(self) -> tuple:
        # By name: the forward and its VJPs are module-level code, found again on loading.
        if registry.get(self.name) is not self:
            raise TypeError(
                f"cannot pickle or copy a graph through {self.name!r}: it is not a registered op (a compiled "
                "function's node lives only as long as its trace); detach() the result first"
            )
        return op_named, (self.name, self.forward.__module__)


def op_named(name: str, module: str) -> Op:
    """The registered op `name`, defined in `module` (imported first: nn's fused losses, say)."""
    import importlib

    importlib.import_module(module)
    return registry[name]


class _Each:
    """VJPs of a variadic op: one function told which input it is asked about."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __getitem__(self, i: int) -> Callable[..., Any]:
        fn = self.fn
        return lambda *args: fn(i, *args)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g down to `shape`: broadcasting copies values, so its adjoint adds them.

    Works on ndarrays and, differentiably, on Tensors (for grad of grad): both have `.sum`.
    """
    gs = g.shape
    if gs == shape:
        return g
    if gs[1:] == shape:  # the common case, a bias broadcast over a batch: one sum over axis 0
        return g.sum(axis=0)
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _operand(x: Any, dtype: np.dtype) -> Any:
    """A non-Tensor operand's value: floats and ints pass through (fast path), the rest is coerced."""
    t = type(x)
    if t is float or t is int:
        return x
    if (t is list or t is tuple) and holds_tensor(x):
        raise _HoldsTensors  # the caller stacks them (`lifted`) and tries again: they are no constant
    return coerce_operand(x, dtype)


class _HoldsTensors(Exception):
    """An operand is a list or tuple holding Tensors: it must be stacked into the graph, not read as numbers."""


def holds_tensor(x: Any) -> bool:
    """Whether a list or tuple (nested to any depth) holds a Tensor."""
    return any(isinstance(v, Tensor) or (type(v) in (list, tuple) and holds_tensor(v)) for v in x)


def lifted(x: Any) -> Any:
    """x, or, for a list or tuple holding Tensors (nested to any depth), one Tensor stacking them
    (`[a, b]` is `stack([a, b])`), so they stay in the graph: c * [a, a] is c * stack([a, a]).
    Numbers beside them become constants of the first Tensor's dtype."""
    if type(x) not in (list, tuple) or not holds_tensor(x):
        return x
    from autodiff.ops.shape import stack

    dtype = _first_dtype(x)

    def lift(v: Any) -> Tensor:
        if isinstance(v, Tensor):
            return v
        if type(v) in (list, tuple) and holds_tensor(v):
            return stack([lift(u) for u in v])
        return _const(to_array(v, dtype))

    try:
        return lift(x)
    except ValueError as e:
        raise ValueError(f"a list holding Tensors is stacked to keep the graph, and this one cannot be: {e}") from None


def _first_dtype(x: Any) -> Any:
    for v in x:
        if isinstance(v, Tensor):
            return v.dtype
        if type(v) in (list, tuple):
            found = _first_dtype(v)
            if found is not None:
                return found
    return None


def _result(out: Any) -> np.ndarray:
    # NumPy returns scalars, not 0-d arrays, from 0-d operations and full reductions.
    return out if type(out) is _ndarray else _asarray(out)


#: PyTorch's spelling of a NumPy keyword → NumPy's: every op (and `accepts_torch_names` function)
#: that takes `axis=` also takes `dim=`, and `keepdims=` also `keepdim=`. Renamed only after a
#: call fails to bind (`renamed`), so a call without them pays nothing for them.
TORCH_NAMES = {"dim": "axis", "keepdim": "keepdims"}


def renamed(params: Any, name: str, kwargs: dict) -> dict | None:
    """`kwargs` with PyTorch's keywords (`TORCH_NAMES`) renamed to NumPy's, for a function whose
    parameters are `params` (a signature's mapping); None if there is nothing to rename, so the
    caller's TypeError stands. Both spellings given is a TypeError, unless the NumPy one holds
    its default (a Tensor method passes `axis=axis` on, None when the caller wrote `dim=`)."""
    found = [k for k, v in TORCH_NAMES.items() if k in kwargs and k not in params and v in params]
    if not found:
        return None
    kw = dict(kwargs)
    for k in found:
        numpy_name = TORCH_NAMES[k]
        value = kw.pop(k)
        default = params[numpy_name].default
        given = kw.get(numpy_name, default)
        if given is not default and given != default and given != value:
            raise TypeError(f"{name}: got both {numpy_name}={given!r} and {k}={value!r} (the same argument)")
        kw[numpy_name] = value
    return kw


def accepts_torch_names(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Let a plain function (not an `@op`) that takes `axis=`/`keepdims=` take `dim=`/`keepdim=` too.

    Ops get this from `@op`; this is the same rule for functions composed of ops (var, norm …)."""
    import functools

    params = inspect.signature(fn).parameters
    name = fn.__name__

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError:
            kw = renamed(params, name, kwargs) if kwargs else None
            if kw is None:
                raise
        return fn(*args, **kw)

    return call


def op(
    forward: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    variadic: bool = False,
    elementwise: bool = False,
    shape_error: str = "cannot be broadcast together",
) -> Any:
    """Make `forward(*arrays, *static) -> (out, saved)` a recording op; register VJPs with `.vjp`.

    The forward's parameters without defaults are its tensor inputs (one sequence of them if
    `variadic`); those with defaults are static arguments such as `axis`. The first line of the
    forward's docstring is the op's rule, shown by `explain`. `elementwise` marks ops whose
    output element i depends on input element i alone (after broadcasting).
    """
    if forward is None:
        return lambda f: op(f, name=name, variadic=variadic, elementwise=elementwise, shape_error=shape_error)
    params = list(inspect.signature(forward).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    tensors = [p for p in params if p.kind in positional and p.default is inspect.Parameter.empty]
    arity = 1 if variadic else len(tensors)
    static = len(params) > arity
    node_op = Op(name or forward.__name__, forward, (forward.__doc__ or "").strip().split("\n")[0])
    node_op.elementwise = elementwise
    registry[node_op.name] = node_op

    if variadic:
        apply = _variadic(node_op)
    elif arity == 1:
        apply = _unary_static(node_op) if static else _unary(node_op)
    elif arity == 2 and not static:
        apply = _binary(node_op, shape_error)
    else:
        apply = _nary(node_op, arity)

    def vjp(*fns: Callable[..., Any]) -> Callable[..., Any]:
        """Register the VJPs, one per input (a variadic op gives one taking the input's index).

        One definition serves both backward passes when it is written with operators and NumPy
        functions (which Tensors answer too) and names what it reads: `out` for the op's result,
        the forward's inputs by their own names, anything else is a constant. Backward calls it on
        arrays; grad of grad calls it with those names bound to the Tensors, so the gradient is
        recorded and can be differentiated again (see `on_tensors`). An op whose VJP cannot be
        written so registers a `graph_vjp` as well, which takes precedence.
        """
        if variadic:  # fn(i, g, *saved): what it reads of saved is constant (axes, offsets)
            node_op.vjps = _Each(fns[0])
            node_op.graph_vjps = _Each(lambda i, g, z, xs, saved, fn=fns[0]: fn(i, g, *saved))
        else:
            node_op.vjps = tuple(fns)
            node_op.graph_vjps = tuple(on_tensors(f, [p.name for p in tensors]) for f in fns)
        return fns[0]

    def graph_vjp(*fns: Callable[..., Any]) -> Callable[..., Any]:
        """Register VJPs written with Tensor ops, `fn(g, z, xs, saved)`, for grad of grad, where the
        plain VJP cannot serve on Tensors (it works in place, or saves values derived from the inputs)."""
        node_op.graph_vjps = _Each(fns[0]) if variadic else tuple(fns)
        return fns[0]

    def zero_safe_vjp(*fns: Callable[..., Any]) -> Callable[..., Any]:
        """Register how each input's VJP keeps 0 · ∞ = 0 below a `where` (see autodiff.zero_safe)."""
        node_op.zero_safe_vjps = tuple(fns)
        return fns[0]

    apply.__name__ = apply.__qualname__ = node_op.name
    apply.__doc__ = forward.__doc__
    apply.__module__ = forward.__module__
    apply.op = node_op  # type: ignore[attr-defined]
    apply.vjp = vjp  # type: ignore[attr-defined]
    apply.graph_vjp = graph_vjp  # type: ignore[attr-defined]
    apply.zero_safe_vjp = zero_safe_vjp  # type: ignore[attr-defined]
    return apply


def on_tensors(fn: Callable[..., Any], inputs: Sequence[str]) -> Callable[..., Any] | None:
    """`fn(g, *saved)` as a graph VJP `(g, z, xs, saved) -> Tensor`: each of its parameters named
    `out` becomes the result z, each named like an input becomes that input's Tensor (its saved
    array if the input was a constant), the rest stay the saved values. None (no grad of grad)
    for a VJP whose parameters cannot be told apart (`*saved`)."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    roles = [-1 if p.name == "out" else inputs.index(p.name) if p.name in inputs else None for p in params]
    if all(r is None for r in roles):  # nothing to differentiate through: the constants are all it reads
        return lambda g, z, xs, saved: fn(g, *saved)

    def graph(g: Tensor, z: Tensor, xs: Sequence[Tensor | None], saved: tuple) -> Tensor:
        args = [s if r is None else z if r < 0 else s if xs[r] is None else xs[r] for r, s in zip(roles, saved)]
        return fn(g, *args)

    return graph


def values(x: Any) -> Any:
    """The numbers of x, a Tensor or an array: for the parts of a derivative that are constant
    where they exist (a sign, a mask), which no gradient flows through."""
    return x.data if isinstance(x, Tensor) else x


def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if type(x) in (list, tuple) and holds_tensor(x):
        return lifted(x)
    return _const(to_array(x, copy=False))


def _unary(node_op: Op) -> Callable[..., Tensor]:
    forward = node_op.forward

    def apply(x: Any) -> Tensor:
        if type(x) is not Tensor:
            x = _as_tensor(x)
        out, saved = forward(x.data)
        if type(out) is not _ndarray:
            out = _asarray(out)
        if x.requires_grad and state.enabled:
            return _node(out, node_op, (x,), saved)
        if state.tracer is not None:
            return state.tracer.record(node_op, out, saved, (x,), (x.data,))
        return _const(out)

    return apply


def _unary_static(node_op: Op) -> Callable[..., Tensor]:
    forward = node_op.forward

    params = inspect.signature(forward).parameters
    name = node_op.name

    def apply(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        if type(x) is not Tensor:
            x = _as_tensor(x)
        try:
            out, saved = forward(x.data, *args, **kwargs)
        except TypeError:  # dim= for axis= (TORCH_NAMES): renamed here, so other calls pay nothing
            kw = renamed(params, name, kwargs) if kwargs else None
            if kw is None:
                raise
            return apply(x, *args, **kw)
        if type(out) is not _ndarray:
            out = _asarray(out)
        if x.requires_grad and state.enabled:
            return _node(out, node_op, (x,), saved)
        if state.tracer is not None:
            return state.tracer.record(node_op, out, saved, (x,), (x.data,), args, kwargs)
        return _const(out)

    return apply


def _binary(node_op: Op, shape_error: str) -> Callable[..., Tensor]:
    forward = node_op.forward
    name = node_op.name

    def apply(a: Any, b: Any) -> Tensor:
        # A constant operand (scalar, ndarray) is no parent: it gets None and no gradient.
        # `type(..) is Tensor` first: it is the common case and much cheaper than isinstance.
        # A Python float passes through as it is (weak: float32 stays float32); the rest is coerced.
        try:
            if type(a) is Tensor or isinstance(a, Tensor):
                ad = a.data
                if type(b) is Tensor or isinstance(b, Tensor):
                    bd = b.data
                else:
                    bd = b if type(b) is float else _operand(b, ad.dtype)
                    b = None
            elif type(b) is Tensor or isinstance(b, Tensor):
                bd = b.data
                ad = a if type(a) is float else _operand(a, bd.dtype)
                a = None
            else:
                a = _as_tensor(a)
                ad = a.data
                bd = _operand(b, ad.dtype)
                b = None
        except _HoldsTensors:  # c * [a, a]: the list's Tensors are stacked, not read as constants
            return apply(lifted(a), lifted(b))
        try:
            out, saved = forward(ad, bd)
        except ValueError:
            raise ValueError(
                f"{name}: shapes {np.shape(ad)} and {np.shape(bd)} {shape_error}"
            ) from None
        if type(out) is not _ndarray:
            out = _asarray(out)
        if state.enabled and ((a is not None and a.requires_grad) or (b is not None and b.requires_grad)):
            return _node(out, node_op, (a, b), saved)
        if state.tracer is not None:
            return state.tracer.record(node_op, out, saved, (a, b), (ad, bd))
        return _const(out)

    return apply


def _nary(node_op: Op, arity: int) -> Callable[..., Tensor]:
    forward = node_op.forward
    name = node_op.name

    params = inspect.signature(forward).parameters

    def apply(*args: Any, **kwargs: Any) -> Tensor:
        inputs = args[:arity]
        # The common case in one pass, without generators: every tensor input is a Tensor.
        arrays = []
        needs_grad = False
        for t in inputs:
            if type(t) is not Tensor and not isinstance(t, Tensor):
                parents, arrays = _mixed_inputs(inputs)
                needs_grad = any(p is not None and p.requires_grad for p in parents)
                break
            arrays.append(t.data)
            if t.requires_grad:
                needs_grad = True
        else:
            parents = inputs
        try:
            out, saved = forward(*arrays, *args[arity:], **kwargs)
        except ValueError as e:
            shapes = " and ".join(str(np.shape(x)) for x in arrays)
            raise ValueError(f"{name}: shapes {shapes}: {e}") from None
        except TypeError:  # dim= for axis= (TORCH_NAMES)
            kw = renamed(params, name, kwargs) if kwargs else None
            if kw is None:
                raise
            return apply(*args, **kw)
        if type(out) is not _ndarray:
            out = _asarray(out)
        if needs_grad and state.enabled:
            return _node(out, node_op, parents, saved)
        if state.tracer is not None:
            return state.tracer.record(node_op, out, saved, parents, arrays, args[arity:], kwargs)
        return _const(out)

    return apply


def _mixed_inputs(inputs: Sequence[Any]) -> tuple[tuple[Tensor | None, ...], list[Any]]:
    """(parents, arrays) when some inputs are not Tensors: those become constants (parent None)
    of the first Tensor's dtype; with no Tensor at all, every input becomes a constant Tensor."""
    inputs = [lifted(t) for t in inputs]  # Tensors inside a list are stacked into the graph
    dtype = next((t.data.dtype for t in inputs if isinstance(t, Tensor)), None)
    if dtype is None:
        inputs = [_as_tensor(t) for t in inputs]
    parents = tuple(t if isinstance(t, Tensor) else None for t in inputs)
    arrays = [t.data if isinstance(t, Tensor) else _operand(t, dtype) for t in inputs]
    return parents, arrays


def _variadic(node_op: Op) -> Callable[..., Tensor]:
    forward = node_op.forward
    name = node_op.name
    params = inspect.signature(forward).parameters

    def apply(tensors: Any, *args: Any, **kwargs: Any) -> Tensor:
        if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
            raise TypeError(f"{name}: expected a list or tuple of tensors, got {type(tensors).__name__}")
        if not tensors:
            raise ValueError(f"{name}: needs at least one tensor")
        ts = [_as_tensor(t) for t in tensors]
        try:
            out, saved = forward([t.data for t in ts], *args, **kwargs)
        except TypeError:  # dim= for axis= (TORCH_NAMES)
            kw = renamed(params, name, kwargs) if kwargs else None
            if kw is None:
                raise
            return apply(tensors, *args, **kw)
        out = _result(out)
        if state.enabled and any(t.requires_grad for t in ts):
            return _node(out, node_op, tuple(ts), saved)
        if state.tracer is not None:
            return state.tracer.record(node_op, out, saved, tuple(ts), [t.data for t in ts], args, kwargs, variadic=True)
        return _const(out)

    return apply
