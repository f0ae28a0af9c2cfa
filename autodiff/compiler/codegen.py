"""A trace written out as straight-line Python: the replay's forward and backward.

From a tape (autodiff.compiler.tracer) we write two plain functions that call the ops' own
forwards and VJPs and nothing else: `call`, the forward, which returns one Tensor whose single
graph node has the parameters as parents, and `backward`, δ of every parent from δ of the output
in reverse tape order, with the unbroadcast sums, dtype casts and gradient sums decided once.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff.compiler.tracer import Tracer
from autodiff.grad_mode import enable_grad
from autodiff.op import Op, unbroadcast
from autodiff.tensor import Tensor, _const, _node
from autodiff.zero_safe import keep_zeros

#: Names the generated code defines after naming its values (the functions exec'd into the namespace,
#: and what a compiled step adds to it): never handed out for a value.
RESERVED = frozenset({"call", "backward", "backward_guarded", "step", "update", "fused", "MOVED", "TAKEN",
                      "_stepped", "_mark", "_sqrt", "_own"})


class Diverged(Exception):
    """A replay's value check (`replay_check`) gave another answer than at trace time: trace again."""


class _Registers:
    """Local variable names for the generated code, reused once a value is dead: a long trace
    (W4's 15,000 ops) then needs a handful of locals, not one per value, and its frame stays small."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.free, self.n, self.of = prefix, [], 0, {}

    def define(self, slot: int) -> str:
        if self.free:
            name = self.free.pop()
        else:
            name = f"{self.prefix}{self.n}"
            self.n += 1
        self.of[slot] = name
        return name

    def release(self, slot: int) -> None:
        self.free.append(self.of.pop(slot))


class Trace:
    """One traced function, written out as straight-line code: `call(*args)` runs the forward and
    returns the result Tensor (one node), `backward(g, S)` gives the gradients of that node's
    parents from δ of the output."""

    def __init__(self, tracer: Tracer, out_slot: int, fn: Any) -> None:
        self.tracer, self.out_slot = tracer, out_slot
        self.names = _parameter_names(fn)
        kinds, values, needs = tracer.kinds, tracer.values, tracer.needs
        self.live = live = self._live(out_slot)
        self.leaves = [values[j] for j in range(len(kinds)) if kinds[j] == "leaf" and live[j]]
        # An `enable_grad()` inside records the output under an outer `no_grad`, as eagerly.
        self.needs_node = needs[out_slot]
        reached = self._reached(out_slot) if self.needs_node else [False] * len(kinds)
        # The node's parents: the arguments and leaves a gradient reaches from the output.
        self.parents = [j for j in range(len(kinds)) if kinds[j] in ("arg", "leaf") and reached[j]]
        # Which entries keep their saved values: those whose output a gradient flows through.
        self.backs = [k for k, e in enumerate(tracer.tape) if reached[e[4]]]
        name = getattr(fn, "__name__", type(fn).__name__)
        self.op = Op(f"compiled {name}", fn, "δ of every input by the traced VJPs")
        n = len(self.parents)
        self.op.vjps = tuple(functools.partial(_grad_of, self, i) for i in range(n))
        self.op.zero_safe_vjps = tuple(functools.partial(_grad_of, self, i, guarded=True) for i in range(n))
        self.op.graph_vjps = tuple(functools.partial(_graph_grad_of, i) for i in range(n))
        # A `where` inside marks what lies below it, outside the function too, as the eager walk does.
        self.op.selects = any(entry[0].selects for entry in tracer.tape)
        if INLINE["add"][3] is None:
            _inline_vjps()
        self.ns: dict[str, Any] = {"np": np, "_asarray": np.asarray, "unbroadcast": unbroadcast, "_safe": _safe,
                                   "_node": _node, "_const": _const, "OP": self.op, "FN": fn,
                                   "DIVERGED": Diverged}
        self.casts = self._probe() if self.needs_node else {}
        self.code = self._call_source()
        if self.needs_node:
            self.code += "\n\n" + self._backward_source(guard_all=False)
        exec(builtins.compile(self.code, f"<ad.compile {name}>", "exec"), self.ns)
        self.call = self.ns["call"]
        self.backward = self.ns.get("backward")
        self._guarded: Callable | None = None
        self.step_program: Any = None  # a whole training step written from this trace (step.py), made on demand
        self.leaf_guard = [(t, t.requires_grad, t.data.shape, t.data.dtype) for t in self.leaves]
        self.watch: Callable[[], bool] = _always  # what the function reads besides its arguments (guards.py)
        # The probe is done: the trace-time values (saved, and every result made while tracing) are
        # not kept alive with the trace, which lives as long as the compiled function.
        del tracer.saved[:], tracer.keep[:]
        tracer.slot_of.clear()
        tracer.op_arrays.clear()

    def _live(self, out_slot: int) -> list[bool]:
        """Which slots the output depends on: only those are computed (dead code is dropped)."""
        tr = self.tracer
        live = [False] * len(tr.kinds)
        live[out_slot] = True
        for _op, ins, _, _, slot, _ in reversed(tr.tape):
            if live[slot]:
                for i in ins:
                    live[i] = True
        return live

    def _reached(self, out_slot: int) -> list[bool]:
        """Which slots a gradient reaches from the output. Not every live slot that needs one: a
        value read only detached, or only under `no_grad`, is computed but gets no gradient."""
        tr = self.tracer
        reached = [False] * len(tr.kinds)
        reached[out_slot] = True
        for _op, ins, _, _, slot, _ in reversed(tr.tape):
            if reached[slot] and tr.needs[slot]:
                for i in ins:
                    reached[i] = reached[i] or tr.needs[i]
        return reached

    def _flows(self):
        """(tape index, entry, [(input position, input slot)]) for every VJP the backward runs, in
        the order the eager walk (autodiff.backward._run) runs them: a value is taken from a stack
        once its last consumer has sent it its δ. So a δ from several consumers is summed in the
        eager order, to the same bits (reverse tape order would be valid too, not the same sum)."""
        tr = self.tracer
        needs = tr.needs
        producer = {tr.tape[k][4]: k for k in self.backs}
        counts: dict[int, int] = {}
        for k in self.backs:
            for j in tr.tape[k][1]:
                if needs[j]:
                    counts[j] = counts.get(j, 0) + 1
        ready = [self.out_slot]
        while ready:
            k = producer.get(ready.pop())
            if k is None:  # an argument or a leaf
                continue
            entry = tr.tape[k]
            flows = [(i, j) for i, j in enumerate(entry[1]) if needs[j]]
            yield k, entry, flows
            for _, j in flows:
                counts[j] -= 1
                if counts[j] == 0:
                    ready.append(j)

    def _probe(self) -> dict[tuple[int, int], tuple]:
        """Run the VJPs once on the trace-time values to learn, for each, whether its result must
        be summed down to a broadcast input's shape or cast to its dtype, as the eager walk checks
        every step: the generated backward then does exactly those and checks nothing."""
        tr = self.tracer
        casts: dict[tuple[int, int], tuple] = {}
        with np.errstate(all="ignore"):
            for k, (op, _, _, _, slot, _), flows in self._flows():
                g = np.ones(tr.shapes[slot], dtype=tr.dtypes[slot])  # the values do not matter, the shape does
                for i, j in flows:
                    gp = np.asarray(op.vjps[i](g, *tr.saved[k]))
                    casts[k, i] = (gp.shape != tr.shapes[j], gp.dtype != tr.dtypes[j], tr.dtypes[j])
        return casts

    def _name(self, value: Any, hint: str = "c") -> str:
        """A name in the generated code's namespace for `value` (the op's name for its functions)."""
        base = "".join(ch if ch.isalnum() else "_" for ch in hint)
        # Not a local of the generated code (v0, g1, a2, S; a compiled step's t3, B4, S5, u0_w, loss, A),
        # not a keyword, not starting with a digit.
        if (not base.isidentifier() or keyword.iskeyword(base) or base in RESERVED
                or re.fullmatch(r"[vgatBS]\d+|u\d+_\w*|S|A|loss", base)):
            base = f"_{base}"
        name, n = base, 1
        while name in self.ns and self.ns[name] is not value:
            n += 1
            name = f"{base}_{n}"
        self.ns[name] = value
        return name

    def _static(self, spec: tuple) -> str:
        kind, value = spec
        if kind == "arg":
            return f"a{value}.data" if self.tracer.arg_is_tensor[value] else f"a{value}"
        if kind == "tuple":
            return f"({''.join(self._static(v) + ', ' for v in value)})"
        return repr(value) if _literal(value) else self._name(value, "c")

    def _call_source(self) -> str:
        tr = self.tracer
        live, backs = self.live, set(self.backs)
        n_args = len(tr.arg_is_tensor)
        args = ", ".join(f"a{i}" for i in range(n_args))
        lines = [f"def call(A, {args}):"]  # A: the call's (args, kwargs), for create_graph's eager rerun
        for n, (check, specs, result) in enumerate(tr.checks):
            got = f"{self._name(check, f'check{n}')}({', '.join(self._static(s) for s in specs)})"
            lines.append(f"    if {got} != {self._name(result, f'expected{n}')}:")
            lines.append("        raise DIVERGED")
        s_line = len(lines)  # `S = [None] * n`, once n is known
        # Where each value is last read: its local is free for another value after that.
        last: dict[int, int] = {}
        for k, (_, ins, _, _, slot, _) in enumerate(tr.tape):
            if live[slot]:
                for j in ins:
                    last[j] = k
        regs = _Registers("v")
        inputs: dict[int, str] = {}  # slots read straight from an argument, a leaf or a constant
        for j, (kind, value) in enumerate(zip(tr.kinds, tr.values)):
            if not live[j] or kind == "op":
                continue
            if kind == "arg":
                inputs[j] = f"a{value}.data" if tr.arg_is_tensor[value] else f"a{value}"
            elif kind == "leaf":
                inputs[j] = f"{self._name(value, self.names.get(id(value)) or value.name or 'p')}.data"
            else:
                inputs[j] = self._name(value, "c")
        for j, src in inputs.items():
            if tr.kinds[j] != "const":
                lines.append(f"    {regs.define(j)} = {src}")
        # What the backward reads: an op's own saved tuple in S[n], or, for an op written out, each
        # value it saves in S[n] of its own, kept once however many ops save it (W4's tanh output is
        # the next multiplication's input), and a constant by its name: no tuple per op.
        self.saved_of: dict[int, str | dict[str, str]] = {}
        kept: dict[int, str] = {}
        where: list[str] = []  # S[0], S[1], …: one per value kept or saved tuple

        def keep(j: int, value: str) -> str:
            if tr.kinds[j] == "const":
                return inputs[j]
            if j not in kept:
                kept[j] = f"S[{len(where)}]"
                where.append(kept[j])
                lines.append(f"    {kept[j]} = {value}")
            return kept[j]

        for k, (op, ins, static, named, slot, variadic) in enumerate(tr.tape):
            if not live[slot]:
                continue
            vals = [regs.of.get(j) or inputs[j] for j in ins]
            inline = INLINE.get(op.name) if not (static or named or variadic) else None
            if inline is not None and len(vals) == inline[0].count("{") and tr.shapes[slot]:
                # A one-expression op written out: its forward's own expression, no call; its inputs
                # kept before their names are reused.
                refs = {r: keep(ins[int(r[1:])], vals[int(r[1:])]) for r in inline[1] if r != "out"} if k in backs else {}
                for j in dict.fromkeys(ins):
                    if last.get(j) == k and j in regs.of:
                        regs.release(j)
                out = regs.define(slot)
                lines.append(f"    {out} = {inline[0].format(*vals)}")
                if k in backs:
                    if "out" in inline[1]:
                        refs["out"] = keep(slot, out)
                    self.saved_of[k] = refs
                continue
            f = self._name(op.forward, op.name)
            call_args = [f"[{', '.join(vals)}]"] if variadic else vals
            call_args += [self._static(s) for s in static] + [f"{key}={self._static(s)}" for key, s in named]
            for j in dict.fromkeys(ins):
                if last.get(j) == k and j in regs.of:
                    regs.release(j)
            out = regs.define(slot)
            saved = "_"
            if k in backs:
                saved = self.saved_of[k] = f"S[{len(where)}]"
                where.append(saved)
            lines.append(f"    {out}, {saved} = {f}({', '.join(call_args)})")
            if not tr.shapes[slot]:  # NumPy gives scalars, not 0-d arrays, from full reductions
                lines.append(f"    {out} = _asarray({out})")
        if where:
            lines.insert(s_line, f"    S = [None] * {len(where)}")
        out = regs.of[self.out_slot]
        if not self.needs_node:
            lines.append(f"    return _const({out})")
        else:
            parents = "".join(f"{inputs[j].removesuffix('.data') if tr.kinds[j] == 'leaf' else f'a{tr.values[j]}'}, "
                              for j in self.parents)
            lines.append(f"    return _node({out}, OP, ({parents}), (S, [None, None], (FN, A)))")
        return "\n".join(lines)

    def _backward_source(self, guard_all: bool) -> str:
        """δ of each slot, consumers first: every VJP of an input that needs one, its unbroadcast
        sum and dtype cast where the probe found them needed, and the sum over consumers."""
        tr = self.tracer
        name = "backward_guarded" if guard_all else "backward"
        regs = _Registers("g")
        lines = [f"def {name}({regs.define(self.out_slot)}, S):"]
        guarded = self._guarded_slots(guard_all)
        parents = set(self.parents)
        for k, (op, _, _, _, slot, _), flows in self._flows():
            g, s = regs.of[slot], self.saved_of[k]
            refs = s if type(s) is dict else None
            if refs is not None:  # an op written out: its saved tuple, for a VJP that is called
                s = f"({''.join(refs[r] + ', ' for r in INLINE[op.name][1])})"
            for i, j in flows:
                inline = INLINE.get(op.name)
                small = bool(tr.shapes[slot]) and math.prod(tr.shapes[slot]) < INLINE_BELOW
                if (refs is not None and slot not in guarded and small and inline[3]
                        and op.vjps[i] is inline[3][i]):
                    expr = self.delta_expr(k, op, i, j, inline[2][i].format(g=g, **refs))
                else:
                    expr = self.delta_expr(k, op, i, j, g=g, saved=s, guarded=slot in guarded)
                if j in regs.of:
                    lines.append(f"    {regs.of[j]} = {regs.of[j]} + {expr}")
                else:
                    lines.append(f"    {regs.define(j)} = {expr}")
            if slot not in parents:
                regs.release(slot)
        lines.append(f"    return ({''.join(regs.of[j] + ', ' for j in self.parents)})")
        return "\n".join(lines)

    def delta_expr(self, k: int, op: Op, i: int, j: int, expr: str | None = None, *, g: str = "", saved: str = "",
                   guarded: bool = False) -> str:
        """The source of tape entry k's δ for its input i (slot j): `expr` if given (an inlined VJP), else
        its VJP called on `g` and `saved` (through `_safe` below a `where`), then summed back to a
        broadcast input's shape and cast to its dtype where the probe found that needed."""
        if expr is None:
            vjp = self._name(op.vjps[i], f"{op.name}_vjp{i}")
            expr = f"_safe({self._name(op, op.name + '_op')}, {i}, {g}, {saved}, {vjp})" if guarded else f"{vjp}({g}, *{saved})"
        reduce, cast, dtype = self.casts[k, i]
        if reduce:
            expr = f"unbroadcast({expr}, {self.tracer.shapes[j]!r})"
        if cast:
            expr = f"{expr}.astype({self._name(dtype, 'dtype')})"
        return expr

    def _guarded_slots(self, guard_all: bool) -> set[int]:
        """The op results whose δ may hold a `where`'s structural zeros: as in the eager walk, the
        inputs of a selecting op and, below them, the inputs of every op whose output is one."""
        tr = self.tracer
        if guard_all:
            return {slot for *_, slot, _ in tr.tape}
        guarded: set[int] = set()
        for op, ins, _, _, slot, _ in reversed(tr.tape):
            if self.live[slot] and (op.selects or slot in guarded):
                guarded.update(ins)
        return guarded

    def guarded_backward(self) -> Callable:
        """The backward for a node below a `where` outside the function: every VJP keeps 0 · ∞ = 0."""
        if self._guarded is None:
            exec(builtins.compile(self._backward_source(True), "<ad.compile>", "exec"), self.ns)
            self._guarded = self.ns["backward_guarded"]
        return self._guarded

    def guard(self) -> bool:
        """The parameters this trace read still have the shape, dtype and requires_grad it saw, and
        everything else it read (closure, globals, modules, containers) is unchanged."""
        for t, rg, shape, dtype in self.leaf_guard:
            if t.requires_grad is not rg or t.data.shape != shape or t.data.dtype != dtype:
                return False
        return self.watch()


def _always() -> bool:
    return True


def _safe(op: Op, i: int, g: np.ndarray, saved: tuple, vjp: Callable) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return keep_zeros(op, i, g, saved, vjp(g, *saved))


def _grad_of(trace: Trace, i: int, g: np.ndarray, S: tuple, memo: list, call: Any, guarded: bool = False) -> Any:
    """The VJP of the compiled node for its parent i: one backward replay serves every parent."""
    m = memo[0]
    if m is None or m[0] is not g or m[1] is not guarded:
        grads = (trace.guarded_backward() if guarded else trace.backward)(g, S)
        # Gradients passed through unchanged may be one array for several parents: each leaf
        # gets its own, since users may write into `.grad`.
        ids: set[int] = {id(g)}
        out = []
        for x in grads:
            if id(x) in ids:
                x = x.copy()
            ids.add(id(x))
            out.append(x)
        m = memo[0] = (g, guarded, out)
    return m[2][i]


def _graph_grad_of(i: int, g: Tensor, z: Tensor, xs: tuple, saved: tuple) -> Tensor:
    """For create_graph=True: run the function again eagerly and differentiate that, recorded."""
    from autodiff.backward import _run

    _, memo, (fn, (args, kwargs)) = saved
    m = memo[1]
    if m is None or m[0] is not g:
        targets: dict[Tensor, Any] = dict.fromkeys(xs)
        with enable_grad():
            out = fn(*args, **kwargs)
            # The parents' own hooks run once, when the outer walk reaches them, not here as well.
            _run([out], [g], targets, create_graph=True, skip_hooks=frozenset(xs))
        m = memo[1] = (g, [_const(np.zeros_like(x.data)) if targets[x] is None else targets[x] for x in xs])
    return m[1][i]




#: Ops whose forward is one NumPy expression, written out in the replay instead of called (a call
#: costs as much as the arithmetic on small arrays: W4's chain of 15,000 one-element ops):
#: name -> (forward, what it saves (its inputs x0, x1 and its output, as the op's own saved tuple),
#: its VJPs, the VJP functions they stand for). Each is the op's own expression
#: (autodiff/ops/arithmetic.py, elementwise.py), so the values are the same bit for bit;
#: `_inline_vjps` fills the last field, and an op whose VJP is replaced is called again.
INLINE: dict[str, list] = {
    "add": ["{0} + {1}", (), ("{g}", "{g}"), None],
    "sub": ["{0} - {1}", (), ("{g}", "-{g}"), None],
    "mul": ["{0} * {1}", ("x0", "x1"), ("{g} * {x1}", "{g} * {x0}"), None],
    "tanh": ["np.tanh({0})", ("out",), ("{g} * (1 - {out} * {out})",), None],
}
#: VJPs are written out only for arrays this small; past it the ops' own VJPs reuse their buffers.
INLINE_BELOW = 4096


def _inline_vjps() -> None:
    from autodiff.op import registry

    for name, row in INLINE.items():
        op = registry.get(name)
        row[3] = tuple(op.vjps) if op is not None else ()


def _literal(value: Any) -> bool:
    """A static argument that reads best written out (`reduction='mean'`, `axis=(0, 1)`)."""
    if type(value) is float:
        return math.isfinite(value)  # repr(inf) and repr(nan) are not Python
    if value is None or type(value) in (bool, int, str):
        return True
    return type(value) is tuple and all(_literal(v) for v in value)


def _parameter_names(fn: Any) -> dict[int, str]:
    """Names for the parameters in the generated code: `model.0.weight` becomes `model_0_weight`."""
    import types

    from autodiff.compiler.code import filled, global_names, is_module

    roots: list[tuple[str, Any]] = [("", fn)] if is_module(fn) else []
    f = getattr(fn, "__func__", fn)
    if getattr(fn, "__self__", None) is not None and is_module(fn.__self__):
        roots.append(("", fn.__self__))
    if isinstance(f, types.FunctionType):
        cells = zip(f.__code__.co_freevars, f.__closure__ or ())
        roots += [(name, c.cell_contents) for name, c in cells if filled(c) and is_module(c.cell_contents)]
        roots += [(n, f.__globals__[n]) for n in global_names(f.__code__) if is_module(f.__globals__.get(n))]
    names: dict[int, str] = {}
    for prefix, module in roots:
        for name, p in module.named_parameters():
            names.setdefault(id(p), f"{prefix}.{name}" if prefix else name)
    return names
