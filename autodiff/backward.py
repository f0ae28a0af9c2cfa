"""Reverse-mode differentiation: walk the recorded graph from the output back to the leaves.

The walk is Kahn's algorithm on the reversed graph: a tensor's gradient is complete once every
op that consumed it has passed its share back, so each tensor is handed to its op's VJPs exactly
once, in reverse topological order, with no recursion and no visited set. Gradients of
intermediates live only in a local dict and are dropped as soon as they are used.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from autodiff import anomaly
from autodiff import tensor as tensor_module
from autodiff.dtypes import to_array
from autodiff.grad_mode import enable_grad, state
from autodiff.op import unbroadcast
from autodiff.ops.shape import astype
from autodiff.tensor import Tensor, _const
from autodiff.zero_safe import keep_zeros, keep_zeros_graph


def consumer_counts(roots: Iterable[Tensor], grad_only: bool = True) -> dict[Tensor, int]:
    """For every tensor reachable from `roots`, how many graph edges lead into it from consumers.

    With `grad_only`, tensors that do not require grad (constants) are left out: nothing flows
    back into them.
    """
    counts: dict[Tensor, int] = {}
    stack = []
    for r in roots:
        if r not in counts:
            counts[r] = 0
            stack.append(r)
    while stack:
        for p in stack.pop()._parents:
            if p is None or (grad_only and not p.requires_grad):
                continue
            c = counts.get(p)
            if c is None:
                counts[p] = 1
                stack.append(p)
            else:
                counts[p] = c + 1
    return counts


def reverse_topological(roots: Sequence[Tensor], grad_only: bool = False) -> list[Tensor]:
    """Every tensor reachable from `roots`, each after all of its consumers (roots first)."""
    counts = consumer_counts(roots, grad_only)
    ready = [r for r in reversed(roots) if counts[r] == 0]
    order = []
    while ready:
        t = ready.pop()
        order.append(t)
        for p in reversed(t._parents):
            if p is None or p not in counts:
                continue
            c = counts[p] - 1
            counts[p] = c
            if c == 0:
                ready.append(p)
    return order


def _seed(t: Tensor, grad: Any, who: str) -> np.ndarray:
    """The starting gradient for `t`: ones for a one-element tensor, else `grad` of t's shape."""
    if grad is None:
        if t.data.size != 1:
            raise ValueError(
                f"{who}: grad can be omitted only for a one-element tensor; pass a gradient of "
                f"shape {t.shape} for this one (for a loss, reduce it with .sum() or .mean() first)"
            )
        return np.ones_like(t.data)
    g = to_array(grad, dtype=t.data.dtype)  # a copy: the caller's array is never aliased
    if g.shape != t.data.shape:
        raise ValueError(f"{who}: grad has shape {g.shape} but the tensor has shape {t.shape}")
    return g


def _run(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    targets: dict[Tensor, Any] | None,
    create_graph: bool = False,
    hooks: bool = True,
    skip_hooks: frozenset = frozenset(),
) -> None:
    """Propagate `seeds` from `roots` back through the graph.

    With `targets` None, accumulate into the `.grad` of every leaf that requires grad; else fill
    `targets[t]` with the gradient reaching each tensor t in it and touch no `.grad`. With
    `create_graph`, gradients are Tensors computed by the ops' graph VJPs, so they are recorded
    and can be differentiated again. The hooks of `skip_hooks` do not run (a compiled node's
    parents, whose hooks the walk that asked for their gradients runs).
    """
    counts = consumer_counts(roots)
    grads: dict[Tensor, Any] = {}
    for r, s in zip(roots, seeds):
        grads[r] = grads[r] + s if r in grads else s
    ready = [r for r in dict.fromkeys(roots) if counts[r] == 0]
    selected: set[Tensor] = set()  # tensors whose gradient holds a `where`'s structural zeros
    check = anomaly.active() or _read_only_depth > 0
    leaves: list[tuple[Tensor, Any]] = []  # written only once the whole walk has succeeded
    writes = tensor_module._writes  # a node recorded since the last in-place write needs no version check
    pause = len(counts) >= _GC_PAUSE_NODES
    if pause:
        _pause_gc()
    try:
        while ready:
            t = ready.pop()
            g = grads.pop(t)
            if hooks and t._hooks and t not in skip_hooks:
                g = _call_hooks(t, g, create_graph)
            node_op = t._op
            if targets is not None:
                if t in targets:
                    targets[t] = g
            elif node_op is None:
                leaves.append((t, g))
            if node_op is None:
                continue
            if t._version != writes:
                _check_unmodified(t)
            if create_graph or check or node_op.selects or (selected and t in selected):
                _propagate_special(t, g, grads, counts, ready, selected, create_graph, check)
                continue
            # The common case, kept tight: NumPy VJPs, no checks.
            saved = t._saved
            for p, vjp in zip(t._parents, node_op.vjps):
                if p is None or not p.requires_grad:
                    continue
                gp = vjp(g, *saved)
                if gp is g and p._op is None:
                    gp = gp.copy()  # passed through unchanged (add): another parent may hold it too
                data = p.data
                if gp.shape != data.shape:
                    gp = unbroadcast(gp, data.shape)
                if gp.dtype is not data.dtype and gp.dtype != data.dtype:
                    gp = gp.astype(data.dtype)
                prev = grads.get(p)
                grads[p] = gp if prev is None else prev + gp
                c = counts[p] - 1
                counts[p] = c
                if c == 0:
                    ready.append(p)
    finally:
        if pause:
            _resume_gc()
    # A failed walk (a hook's bad gradient, an anomaly) has raised before any .grad changed.
    for leaf, g in leaves:
        _accumulate(leaf, g)


def _check_unmodified(t: Tensor) -> None:
    """Refuse to differentiate through t if a leaf it was computed from changed in place since."""
    for i, p in enumerate(t._parents):
        if p is not None and p._op is None and getattr(p, "_version", 0) > t._version:
            what = f"{p.name!r} of shape {p.shape}" if p.name else f"of shape {p.shape}"
            raise RuntimeError(
                f"backward: a leaf tensor {what} (input {i} of {t._op.name}) was modified by an inplace "
                "operation (an optimizer step, load_state_dict or init) after this graph was recorded, so its "
                "gradients would mix old and new values; compute the forward pass again after changing the "
                "parameters (call backward before opt.step(), then recompute the loss), nothing was changed"
            )


# The walk makes no reference cycles, so the cyclic GC has nothing to find in it; pausing it saves
# the collections that the walk's many small allocations would trigger. Counted under a lock, so
# concurrent backward calls cannot leave the collector switched off. A small graph allocates too
# little to trigger a collection (CPython's first threshold is 700), so it is not worth the lock.
_GC_PAUSE_NODES = 128
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_resume = False


def _pause_gc() -> None:
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1


def _resume_gc() -> None:
    global _gc_pauses
    with _gc_lock:
        _gc_pauses -= 1
        if _gc_pauses == 0 and _gc_resume:
            gc.enable()


def _propagate_special(t, g, grads, counts, ready, selected, create_graph, check) -> None:
    """Pass t's gradient g to its inputs when something is out of the ordinary: a graph of the
    gradient is recorded, anomaly detection is on, or a `where` upstream zeroed parts of g (then
    0 · ∞ = 0: `autodiff.zero_safe`)."""
    node_op, parents, saved = t._op, t._parents, t._saved
    if _read_only_depth and type(g) is np.ndarray:
        g.flags.writeable = False  # a VJP that writes into the gradient it was given fails loudly
    vjps = node_op.graph_vjps if create_graph else node_op.vjps
    if create_graph and (not vjps or (type(vjps) is tuple and None in vjps)):
        raise RuntimeError(f"grad: {node_op.name} cannot be differentiated twice (create_graph=True)")
    guard = t in selected
    for i, p in enumerate(parents):
        if p is None or not p.requires_grad:
            continue
        if create_graph:
            with anomaly.backward_of(t) if check else nullcontext():
                if guard:
                    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                        gp = keep_zeros_graph(node_op, i, g, t, parents, saved, vjps[i](g, t, parents, saved))
                else:
                    gp = vjps[i](g, t, parents, saved)
                if gp.shape != p.data.shape:
                    gp = unbroadcast(gp, p.data.shape)
                if gp.dtype != p.data.dtype:
                    gp = astype(gp, p.data.dtype)
        else:
            if guard:
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    gp = keep_zeros(node_op, i, g, saved, vjps[i](g, *saved))
            else:
                gp = vjps[i](g, *saved)
            if gp is g and p._op is None:
                gp = gp.copy()
            data = p.data
            if gp.shape != data.shape:
                gp = unbroadcast(gp, data.shape)
            if gp.dtype != data.dtype:
                gp = gp.astype(data.dtype)
        if check and anomaly.active():
            anomaly.check_backward(t, i, gp)
        if guard or node_op.selects:
            selected.add(p)
        prev = grads.get(p)
        grads[p] = gp if prev is None else prev + gp
        counts[p] -= 1
        if counts[p] == 0:
            ready.append(p)


_read_only_depth = 0


@contextmanager
def read_only_gradients() -> Iterator[None]:
    """Inside, backward hands every VJP a read-only gradient, so one that writes into the array it
    was given (an aliasing bug: `add` passes the same array to both of its inputs) raises. Used by
    `gradcheck`; slower, since every node takes the careful path."""
    global _read_only_depth
    _read_only_depth += 1
    try:
        yield
    finally:
        _read_only_depth -= 1


def _accumulate(leaf: Tensor, g: Any) -> None:
    # A VJP may return its incoming gradient or a view (reshape, broadcast); only an array it
    # allocated itself may become `.grad` without a copy, since users may write into `.grad`.
    if type(g) is not np.ndarray or g.base is not None or not g.flags.writeable:
        g = np.array(g, dtype=leaf.data.dtype)
    if leaf.grad is None:
        leaf.grad = g
    else:
        leaf.grad = leaf.grad + g


def backward(t: Tensor, grad: Any = None) -> None:
    """`t.backward(grad)`: see `Tensor.backward`."""
    if not t.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad, so there is nothing to differentiate; "
            "create the inputs you want gradients for with requires_grad=True"
        )
    seed = _seed(t, grad, "backward")
    if _one_op_above_leaves(t):
        _run_one_op(t, seed)
    else:
        _run([t], [seed], None)


def _one_op_above_leaves(t: Tensor) -> bool:
    """True when t's op reads only leaves and nothing needs the careful walk (no hooks, no
    anomaly checks, no `where`): a compiled function's output, one op on parameters."""
    op = t._op
    if op is None or t._hooks or op.selects or _read_only_depth or anomaly.active():
        return False
    for p in t._parents:
        if p is not None and (p._op is not None or p._hooks):
            return False
    return True


def _run_one_op(t: Tensor, g: np.ndarray) -> None:
    """The walk of `_run` for a graph of one op: its VJPs, straight into the leaves' `.grad`."""
    if t._version != tensor_module._writes:
        _check_unmodified(t)
    saved = t._saved
    out: list[tuple[Tensor, Any]] = []
    for p, vjp in zip(t._parents, t._op.vjps):
        if p is None or not p.requires_grad:
            continue
        gp = vjp(g, *saved)
        if gp is g:
            gp = gp.copy()
        data = p.data
        if gp.shape != data.shape:
            gp = unbroadcast(gp, data.shape)
        if gp.dtype is not data.dtype and gp.dtype != data.dtype:
            gp = gp.astype(data.dtype)
        for k, (q, prev) in enumerate(out):
            if q is p:  # an input used twice (x * x): its gradients add up before .grad does
                out[k] = (p, prev + gp)
                break
        else:
            out.append((p, gp))
    for p, gp in out:
        _accumulate(p, gp)


def _as_list(x: Any, what: str) -> list[Tensor]:
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what} must be Tensors, got {type(t).__name__}")
    return items


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    create_graph: bool = False,
    *,
    hooks: bool = True,
) -> tuple[Tensor, ...]:
    """Gradients of `outputs` with respect to each of `inputs`, leaving every `.grad` untouched.

    Like `torch.autograd.grad`: `grad_outputs` holds one seed per output (None for a one-element
    output). An input that the outputs do not depend on gets a zero gradient. With
    `create_graph=True` the returned gradients are recorded too, so they can be differentiated
    again (Hessians, Hessian-vector products, gradient penalties), to any order. `hooks=False`
    skips tensors' hooks (for tools that only look, such as the graph renderer).

    >>> import autodiff as ad
    >>> x = ad.Tensor(3.0, requires_grad=True)
    >>> (dx,) = ad.grad(x * x * x, x)
    >>> dx.item()
    27.0
    >>> (dx,) = ad.grad(x * x * x, x, create_graph=True)
    >>> (d2x,) = ad.grad(dx, x)
    >>> d2x.item()
    18.0
    """
    outs = _as_list(outputs, "outputs")
    ins = _as_list(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise ValueError(f"grad: {len(outs)} outputs but {len(grad_outputs)} grad_outputs")
    for t in outs:
        if not t.requires_grad:
            raise RuntimeError(
                "grad: an output does not require grad; compute it from inputs created with "
                "requires_grad=True"
            )
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("grad: an input does not require grad; create it with requires_grad=True")
    targets: dict[Tensor, Any] = dict.fromkeys(ins)
    if create_graph:
        # A seed that is itself a Tensor requiring grad stays in the graph (as in hvp).
        seeds = [
            g if isinstance(g, Tensor) and g.shape == t.shape else _const(_seed(t, g, "grad"))
            for t, g in zip(outs, grad_outputs)
        ]
        with enable_grad():
            _run(outs, seeds, targets, create_graph=True)
        return tuple(_const(np.zeros_like(t.data)) if targets[t] is None else targets[t] for t in ins)
    seeds = [_seed(t, g, "grad") for t, g in zip(outs, grad_outputs)]
    _run(outs, seeds, targets, hooks=hooks)
    # Copies: a gradient passed through unchanged may be shared by several inputs.
    return tuple(
        _const(np.zeros_like(t.data) if targets[t] is None else np.array(targets[t], dtype=t.data.dtype))
        for t in ins
    )


class RemovableHandle:
    """Returned by `register_hook`; `remove()` takes the hook off again."""

    __slots__ = ("_fn", "_tensor")

    def __init__(self, tensor: Tensor, fn: Callable[..., Any]) -> None:
        self._tensor = tensor
        self._fn = fn

    def remove(self) -> None:
        hooks = self._tensor._hooks
        if hooks and self._fn in hooks:
            hooks.remove(self._fn)


def register_hook(t: Tensor, fn: Callable[..., Any]) -> RemovableHandle:
    if not callable(fn):
        raise TypeError("register_hook: fn must be callable")
    if not t.requires_grad:
        raise RuntimeError("register_hook: no gradient flows into a tensor that does not require grad")
    if state.tracer is not None:
        from autodiff.tracing import not_traceable

        not_traceable("it registers a hook on a value inside it, which a replay would never call")
    if t._hooks is None:
        t._hooks = []
    t._hooks.append(fn)
    return RemovableHandle(t, fn)


def _call_hooks(t: Tensor, g: Any, create_graph: bool) -> Any:
    """Run t's hooks on the gradient reaching it (as a Tensor); a non-None result replaces it."""
    for fn in list(t._hooks or ()):
        out = fn(g if create_graph else _const(g))
        if out is None:
            continue
        if create_graph:
            out = out if isinstance(out, Tensor) else _const(to_array(out, dtype=t.data.dtype))
        else:
            out = to_array(out.data if isinstance(out, Tensor) else out, dtype=t.data.dtype)
        if out.shape != t.data.shape:
            raise ValueError(f"hook returned a gradient of shape {out.shape} for a tensor of shape {t.shape}")
        g = out
    return g
