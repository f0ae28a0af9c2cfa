"""Ops written into buffers planned at trace time, for a compiled training step.

An op's forward and VJPs allocate their results, as ops must (a result may be kept by anyone). In
a compiled step nobody else sees the intermediate values, so the hot ops of a network (the affine
layer, tanh, relu, the fused losses) are written here as NumPy calls with `out=` into buffers made
once, and in place where the step itself is the array's last reader. Each kernel computes exactly
what its op computes, bit for bit: the same ufuncs on the same operands in the same order
(tests/test_compile_step.py checks each against its op). An op without a kernel is called as it is,
so every op works in a compiled step; a kernel only makes it allocate nothing.

A kernel is `forward(c, e) -> bool` and `backward(c, e, g) -> {input position: δ expression}`,
given the emitter `c` (autodiff.compiler.step_source) and the entry `e` (its input expressions, static
arguments, shapes and dtypes, and where its output goes). `forward` returns False when the call is
one it does not cover (the op then runs as it is).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _linear(c: Any, e: Any) -> bool:
    """a = x Wᵀ + b: `np.matmul(x, W.T, out=a); a += b` (the op: `x @ W.T`, then `+= b`)."""
    if len(e.shapes[0]) != 2 or e.consts.get(2, 0) is None or any(d != e.out_dtype for d in e.dtypes):
        return False
    xs, ws, bs = e.ins
    o = c.out_buffer(e)
    c.line(f"np.matmul({xs}, {ws}.T, out={o})")
    c.line(f"np.add({o}, {bs}, out={o})")
    e.keep = {"x": xs, "w": ws}
    return True


def _linear_back(c: Any, e: Any, g: str) -> dict[int, str]:
    out = {}
    if 0 in e.flows:  # δ_x = δ_a W
        out[0] = c.buffer(e.shapes[0], e.dtypes[0])
        c.line(f"np.matmul({g}, {e.keep['w']}, out={out[0]})")
    if 1 in e.flows:  # ∂E/∂W = δᵀ x
        out[1] = c.buffer(e.shapes[1], e.dtypes[1])
        c.line(f"np.matmul({g}.T, {e.keep['x']}, out={out[1]})")
    if 2 in e.flows:  # ∂E/∂b = Σₙ δ
        out[2] = c.buffer(e.shapes[2], e.dtypes[2])
        c.line(f"np.add.reduce({g}, axis=0, out={out[2]})")  # what g.sum(axis=0) calls
    return out


def _tanh(c: Any, e: Any) -> bool:
    """z = tanh(x), into x's buffer when the step is its last reader."""
    o = c.out_buffer(e, reuse=0)
    c.line(f"np.tanh({e.ins[0]}, out={o})")
    e.keep = {"out": o}
    return True


def _tanh_back(c: Any, e: Any, g: str) -> dict[int, str]:
    # The op's VJP: d = out²; d = 1 − d; d *= g, here in the output's own buffer (its last use).
    o = e.keep["out"]
    d = o if c.owns(e) else c.buffer(e.out_shape, e.out_dtype)
    c.line(f"np.multiply({o}, {o}, out={d})")
    c.line(f"np.subtract(1, {d}, out={d})")
    c.line(f"np.multiply({d}, {g}, out={d})")
    return {0: d}


def _relu(c: Any, e: Any) -> bool:
    """z = max(x, 0), into x's buffer when the step is its last reader."""
    if e.dtypes[0] != e.out_dtype:
        return False
    o = c.out_buffer(e, reuse=0)
    c.line(f"np.maximum({e.ins[0]}, 0, out={o})")
    e.keep = {"out": o}  # [z > 0] is [x > 0]: the mask needs only the output
    return True


def _relu_back(c: Any, e: Any, g: str) -> dict[int, str]:
    # The op's VJP is g · [x > 0]: the same multiply by a boolean mask.
    o = e.keep["out"]
    mask = c.buffer(e.out_shape, np.dtype(bool))
    d = o if c.owns(e) else c.buffer(e.out_shape, e.out_dtype)
    c.line(f"np.greater({o}, 0, out={mask})")
    c.line(f"np.multiply({g}, {mask}, out={d})")
    return {0: d}


def _reduced(c: Any, losses: str, reduction: str, n: int) -> str:
    """`_reduce` of nn.functional for "mean" and "sum": Σ losses (÷ N), as a 0-d array."""
    if reduction == "sum":
        return f"_asarray(np.add.reduce({losses}, axis=None))"  # .sum() itself, without NumPy's Python wrapper
    return f"_asarray(np.add.reduce({losses}, axis=None) / {n})" if n else ""


def _mse(c: Any, e: Any) -> bool:
    """E = Σ (y − t)² (÷ N): d = y − t into a buffer, d² into another, and their sum."""
    reduction = e.static.get("reduction", "mean")
    y, t = e.shapes
    if reduction not in ("mean", "sum") or y != t or e.dtypes[0] != e.dtypes[1] or 1 in e.flows or not np.prod(y):
        return False
    d, sq = c.buffer(y, e.dtypes[0]), c.buffer(y, e.dtypes[0])
    c.line(f"np.subtract({e.ins[0]}, {e.ins[1]}, out={d})")
    c.line(f"np.multiply({d}, {d}, out={sq})")
    c.assign(e, _reduced(c, sq, reduction, int(np.prod(y))))
    scale = 1.0 if reduction == "sum" else 1.0 / float(np.prod(y))
    e.keep = {"d": d, "scale": c.const(2.0 * scale)}
    return True


def _mse_back(c: Any, e: Any, g: str) -> dict[int, str]:
    # The op's VJP: d · (δ_E · 2/N), in d's buffer (its last use).
    d = e.keep["d"]
    c.line(f"np.multiply({d}, {g}.item() * {e.keep['scale']}, out={d})")
    return {0: d}


def _cross_entropy(c: Any, e: Any) -> bool:
    """E = Σₙ (log Σ exp zₙ − zₙ,tₙ) (÷ N) with z = a − max a: the op's plain path, into buffers."""
    reduction = e.static.get("reduction", "mean")
    target = e.static_expr.get("target")
    if (e.static.get("options") is not None or reduction not in ("mean", "sum") or len(e.shapes) != 1
            or len(e.shapes[0]) != 2 or target is None or not e.shapes[0][0]):
        return False
    n, k = e.shapes[0]
    dt = e.dtypes[0]
    m, p, s, lg = c.buffer((n, 1), dt), c.buffer((n, k), dt), c.buffer((n, 1), dt), c.buffer((n,), dt)
    rows = c.const(np.arange(n))
    a = e.ins[0]
    c.line(f"np.maximum.reduce({a}, axis=-1, keepdims=True, out={m})")  # what .max() calls
    c.line(f"np.subtract({a}, {m}, out={p})")
    zt, flat = c.temp(), None
    if c.class_index_check(e, target, (n, k)):  # the targets checked by the indexing itself: one call
        flat = c.temp()  # n·C + tₙ, which ravel_multi_index refuses for a target out of 0..C−1
        c.line("try:")
        c.line(f"    {flat} = np.ravel_multi_index(({rows}, {target}), {(n, k)})")
        c.line("except (ValueError, TypeError):  # a target that is no class: eagerly, as the check would have")
        c.line("    raise DIVERGED from None")
        c.line(f"{zt} = np.take({p}, {flat})")
    else:
        c.line(f"{zt} = {p}[{rows}, {target}]")
    c.line(f"np.exp({p}, out={p})")
    c.line(f"np.add.reduce({p}, axis=-1, keepdims=True, out={s})")
    c.line(f"np.divide({p}, {s}, out={p})")
    c.line(f"np.log({s}[..., 0], out={lg})")
    c.line(f"np.subtract({lg}, {zt}, out={lg})")
    c.line(f"del {zt}")  # not held through the step: its peak of bytes stays the tight step's
    c.assign(e, _reduced(c, lg, reduction, n))
    scale = 1.0 if reduction == "sum" else 1.0 / float(n)
    e.keep = {"p": p, "rows": rows, "target": target, "flat": flat, "scale": c.const(scale)}
    return True


def _cross_entropy_back(c: Any, e: Any, g: str) -> dict[int, str]:
    # The op's VJP: d = p · s; d[n, tₙ] −= s with s = δ_E / N, in p's buffer (its last use).
    k = e.keep
    s = c.temp()
    c.line(f"{s} = {g}.item() * {k['scale']}")
    c.line(f"np.multiply({k['p']}, {s}, out={k['p']})")
    if k["flat"]:
        c.line(f"{k['p']}.reshape(-1)[{k['flat']}] -= {s}")
        c.line(f"del {k['flat']}")
    else:
        c.line(f"{k['p']}[{k['rows']}, {k['target']}] -= {s}")
    return {0: k["p"]}


#: op name -> (forward kernel, backward kernel, inputs whose buffer the output may take)
KERNELS: dict[str, tuple] = {
    "linear": (_linear, _linear_back),
    "tanh": (_tanh, _tanh_back),
    "relu": (_relu, _relu_back),
    "mse_loss": (_mse, _mse_back),
    "cross_entropy": (_cross_entropy, _cross_entropy_back),
}
