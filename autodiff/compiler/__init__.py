"""`ad.compile(fn)`: trace a function's ops once, then replay them as one node of the graph.

Eager autodiff pays Python for every op on every step: a Tensor per result, the decorator's
checks, the backward walk's dicts, unbroadcast decisions. For a function whose ops do not depend
on its inputs' values (a network's forward pass and its loss) all of that is the same every step.
So the first call *traces*: the ops record onto a tape (`tracer`) instead of building nodes. From
the tape we write two straight-line Python functions that call the ops' own forwards and VJPs,
nothing else (`codegen`). Later calls run the forward and return one Tensor whose single graph
node's VJP runs the backward. Parameters (leaf Tensors the function reaches) are read afresh on
every call and are the node's parents, so `.backward()` fills their `.grad` as usual.

A replay is never stale: everything the function read besides its arguments is watched
(`guards`), value-dependent choices are checked again (`autodiff.tracing.replay_check`), and what
cannot be replayed runs eagerly (`compiled`). A whole training step, the optimizer's update
included, compiles through `step`.

The package: `tracer` (the tape), `codegen` (the replay's code), `guards` (what a trace depends
on), `compiled` (the cache and the call), `step` (a compiled training step: `step_source` writes its
forward and backward through `kernels`, `update` the optimizer's update).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autodiff.compiler.compiled import Compiled
from autodiff.tracing import not_traceable, structure_changed

__all__ = ["Compiled", "compile", "not_traceable", "structure_changed"]


def compile(fn: Callable[..., Any]) -> Compiled:
    """Trace `fn` (a function of Tensors, or an `nn.Module`) once and replay it as one graph node.

    >>> import numpy as np, autodiff as ad
    >>> W = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    >>> f = ad.compile(lambda x: (x @ W).tanh().sum())
    >>> x = ad.Tensor(np.full((4, 2), 0.1))
    >>> f(x).backward()
    >>> W.grad.shape, f.traces
    ((2, 3), 1)
    """
    return fn if isinstance(fn, Compiled) else Compiled(fn)
