"""A whole training step compiled: forward, loss, backward and the optimizer's update.

`opt.compile_step(loss_fn)` (nn.optim) returns a `CompiledStep`: calling it does what

    opt.zero_grad(); E = loss_fn(*args); E.backward(); opt.step(); return E

does, bit for bit. The loss function is traced by `ad.compile` (so it is never stale: the same key,
watch and value checks), and from its tape we write one straight-line function for the forward
and the backward in which the hot ops write into buffers made once, when the step is first
compiled (autodiff.compiler.kernels), in place where the step is an array's last reader; the
gradients land in buffers that become the parameters' `.grad`, and the optimizer's own update
(in place into its state, through its scratch buffers) moves the parameters. After the first
step a step allocates nothing but the loss it returns (and what ops without a kernel allocate).

What runs eagerly instead, with the same result: a function `ad.compile` would run eagerly (the
warning says why), a parameter with a hook, anomaly mode, a step under `no_grad`.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import anomaly
from autodiff.backward import _accumulate
from autodiff.compiler.codegen import Diverged, Trace, _safe
from autodiff.compiler.compiled import Compiled
from autodiff.compiler.kernels import KERNELS
from autodiff.compiler.update import Grad, plan_update
from autodiff.grad_mode import state
from autodiff.op import unbroadcast
from autodiff.tensor import Tensor, _const, mark_modified


class CompiledStep:
    """What `optimizer.compile_step(loss_fn)` returns: call it with loss_fn's arguments for one step."""

    def __init__(self, optimizer: Any, loss_fn: Callable[..., Any]) -> None:
        self.optimizer = optimizer
        self.loss_fn = Compiled(loss_fn)
        self.eager_steps = 0  # steps that ran eagerly (the first of a new trace, or a fallback)

    @property
    def traces(self) -> int:
        return self.loss_fn.traces

    @property
    def code(self) -> str:
        """The source of the most recent compiled step."""
        progs = [t.step_program for t in self.loss_fn._cache.values() if getattr(t, "step_program", None)]
        return progs[-1].code if progs else ""

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        if state.tracer is not None or anomaly.active() or not state.enabled:
            return self._eager(args, kwargs)
        entry, leaves, tree = self.loss_fn.entry(args, kwargs)
        if not isinstance(entry, Trace) or not entry.needs_node:
            return self._eager(args, kwargs)
        program = entry.step_program
        if program is None:
            program = entry.step_program = StepProgram(entry)
        try:
            if program.fused is not None and program.plan_for is self.optimizer:
                loss = program.fused((args, kwargs), *leaves)
                if loss is not None:
                    return program.loss(loss)
            out = program.run(self.optimizer, args, kwargs, leaves)
        except Diverged:  # a value the trace chose by changed: trace again, and take this step eagerly
            self.loss_fn._trace(args, kwargs, leaves, tree)
            out = None
        return self._eager(args, kwargs) if out is None else out

    def _eager(self, args: tuple, kwargs: dict) -> Tensor:
        self.eager_steps += 1
        opt = self.optimizer
        opt.zero_grad()
        loss = self.loss_fn.fn(*args, **kwargs)
        loss.backward()
        opt.step()
        return loss


class _Entry:
    """One tape entry as a kernel sees it."""

    def __init__(self, k: int, slot: int) -> None:
        self.k, self.slot = k, slot
        self.ins: list[str] = []
        self.shapes: list[tuple] = []
        self.dtypes: list[Any] = []
        self.consts: dict[int, Any] = {}
        self.static: dict[str, Any] = {}
        self.static_expr: dict[str, str] = {}
        self.flows: set[int] = set()
        self.keep: dict[str, str] = {}
        self.out_shape: tuple = ()
        self.out_dtype: Any = None


class StepProgram:
    """The straight-line forward and backward of one trace, into buffers planned now."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        tr = trace.tracer
        self.ns: dict[str, Any] = trace.ns  # one namespace: names made by trace._name land here too
        self.ns.update(np=np, _asarray=np.asarray, unbroadcast=unbroadcast, _safe=_safe)
        self.lines: list[str] = []
        self.n_temp = 0
        self.n_buf = 0
        self.expr: dict[int, str] = {}  # slot -> the name holding its value
        self.planned: set[int] = set()  # slots whose value lives in a buffer planned here
        self.keeps_out: set[int] = set()  # slots whose producer reads them again in the backward
        self.owned: set[int] = set()  # slots whose buffer the producer's VJP may overwrite
        live = trace.live
        # How many live entries read each slot: a buffer read once may be overwritten by its reader.
        self.readers: dict[int, int] = {}
        for _op, ins, _, _, slot, _ in tr.tape:
            if live[slot]:
                for j in ins:
                    self.readers[j] = self.readers.get(j, 0) + 1
        self.guarded = trace._guarded_slots(False)
        self.entries: dict[int, _Entry] = {}
        self.code = self._source()
        exec(builtins.compile(self.code, "<ad.compile step>", "exec"), self.ns)
        self.fn = self.ns["step"]
        self.leaf_parents = [tr.values[j] if tr.kinds[j] == "leaf" else None for j in trace.parents]
        self.arg_parents = [tr.values[j] if tr.kinds[j] == "arg" else None for j in trace.parents]
        self.fixed_parents = self.leaf_parents if None not in self.leaf_parents else None
        self.loss_in_buffer = trace.out_slot in self.planned
        self.update: Callable[[], bool] | None = None  # the optimizer's update, written out (`_plan`)
        self.fused: Callable[..., Any] | None = None  # the whole step in one function (`_fuse`)
        self.plan_for: Any = None
        self.moved: list = []
        self.optimized: tuple = (None, -1, set())

    # ------------------------------------------------------------------ what kernels call
    def line(self, text: str) -> None:
        self.lines.append("    " + text)

    def temp(self) -> str:
        self.n_temp += 1
        return f"t{self.n_temp}"

    def const(self, value: Any) -> str:
        return self.trace._name(value, "k")

    def buffer(self, shape: tuple, dtype: Any) -> str:
        self.n_buf += 1
        name = f"B{self.n_buf}"
        self.ns[name] = np.empty(shape, dtype)
        return name

    def out_buffer(self, e: _Entry, reuse: int | None = None) -> str:
        """The buffer for e's output: its input `reuse`'s, if nobody reads that again, else a new one."""
        tr = self.trace.tracer
        if reuse is not None:
            j = tr.tape[e.k][1][reuse]
            if (j in self.planned and self.readers.get(j) == 1 and j not in self.keeps_out
                    and j != self.trace.out_slot and e.shapes[reuse] == e.out_shape and e.dtypes[reuse] == e.out_dtype):
                name = self.expr[j]
                self._set(e, name, planned=True)
                return name
        name = self.buffer(e.out_shape, e.out_dtype)
        self._set(e, name, planned=True)
        return name

    def assign(self, e: _Entry, expr: str) -> None:
        name = self.temp()
        self.line(f"{name} = {expr}")
        self._set(e, name, planned=False)

    def owns(self, e: _Entry) -> bool:
        return e.slot in self.owned

    def _set(self, e: _Entry, name: str, planned: bool) -> None:
        self.expr[e.slot] = name
        if planned:
            self.planned.add(e.slot)
            if e.slot != self.trace.out_slot:
                self.owned.add(e.slot)

    # ------------------------------------------------------------------ the source
    def _source(self) -> str:
        trace, tr = self.trace, self.trace.tracer
        live = trace.live
        n_args = len(tr.arg_is_tensor)
        lines = self.lines
        lines.append(f"def step(A, {', '.join(f'a{i}' for i in range(n_args))}):")
        for n, (check, specs, result) in enumerate(tr.checks):
            got = f"{trace._name(check, f'check{n}')}({', '.join(trace._static(s) for s in specs)})"
            self.line(f"if {got} != {trace._name(result, f'expected{n}')}:")
            self.line("    raise DIVERGED")
        for j, (kind, value) in enumerate(zip(tr.kinds, tr.values)):
            if not live[j] or kind == "op":
                continue
            if kind == "arg":
                self.expr[j] = f"a{value}.data" if tr.arg_is_tensor[value] else f"a{value}"
            elif kind == "leaf":
                self.expr[j] = f"{trace._name(value, trace.names.get(id(value)) or value.name or 'p')}.data"
            else:
                self.expr[j] = trace._name(value, "c")
            if kind != "const":  # read once, at the start, as the eager function reads them
                name = self.temp()
                self.line(f"{name} = {self.expr[j]}")
                self.expr[j] = name
        backs = set(trace.backs)
        needs = tr.needs
        for k, (op, ins, static, named, slot, variadic) in enumerate(tr.tape):
            if not live[slot]:
                continue
            e = _Entry(k, slot)
            e.ins = [self.expr[j] for j in ins]
            e.shapes = [tr.shapes[j] for j in ins]
            e.dtypes = [tr.dtypes[j] for j in ins]
            e.consts = {i: tr.values[j] for i, j in enumerate(ins) if tr.kinds[j] == "const"}
            e.static = {key: spec[1] for key, spec in named if spec[0] == "const"}
            e.static_expr = {key: trace._static(spec) for key, spec in named}
            e.out_shape, e.out_dtype = tr.shapes[slot], tr.dtypes[slot]
            if k in backs:
                e.flows = {i for i, j in enumerate(ins) if needs[j]}
            kernel = KERNELS.get(op.name)
            usable = (kernel is not None and not variadic and not static and slot not in self.guarded
                      and not any(trace.casts.get((k, i), (False, False))[0] or trace.casts.get((k, i), (False, False))[1]
                                  for i in e.flows))
            if usable and kernel[0](self, e):
                self.entries[k] = e
                if "out" in e.keep:
                    self.keeps_out.add(slot)
                continue
            # As it is: the op's own forward (the same call the replay of ad.compile makes).
            f = trace._name(op.forward, op.name)
            call_args = [f"[{', '.join(e.ins)}]"] if variadic else list(e.ins)
            call_args += [trace._static(s) for s in static] + [f"{key}={trace._static(s)}" for key, s in named]
            out, saved = self.temp(), f"S{k}"
            self.line(f"{out}, {saved} = {f}({', '.join(call_args)})")
            if not tr.shapes[slot]:
                self.line(f"{out} = _asarray({out})")
            self.expr[slot] = out
        self.line(f"loss = {self.expr[trace.out_slot]}")
        self._backward()
        return "\n".join(lines)

    def _backward(self) -> None:
        trace, tr = self.trace, self.trace.tracer
        one = self.const(np.ones(tr.shapes[trace.out_slot], tr.dtypes[trace.out_slot]))
        delta: dict[int, str] = {trace.out_slot: one}
        for k, (op, _, _, _, slot, _), flows in trace._flows():
            g = delta.pop(slot, None)
            if g is None:
                continue
            e = self.entries.get(k)
            if e is not None:
                got = KERNELS[op.name][1](self, e, g)
            else:
                got = {}
                for i, j in flows:
                    expr = trace.delta_expr(k, op, i, j, g=g, saved=f"S{k}", guarded=slot in self.guarded)
                    name = self.temp()
                    self.line(f"{name} = {expr}")
                    got[i] = name
            ins = tr.tape[k][1]
            for i, name in got.items():
                j = ins[i]
                if j in delta:  # a value read twice: its δ is the sum over its readers
                    total = self.temp()
                    self.line(f"{total} = {delta[j]} + {name}")
                    delta[j] = total
                else:
                    delta[j] = name
        self.grads = [delta.get(j, "None") for j in trace.parents]
        self.body = self.lines[1:]  # the forward and the backward, for the fused step (`_fuse`)
        self.line(f"return loss, ({''.join(g + ', ' for g in self.grads)})")

    # ------------------------------------------------------------------ one step
    def run(self, opt: Any, args: tuple, kwargs: dict, leaves: list) -> Tensor | None:
        """One step; None when it must run eagerly instead (a hook on a parameter)."""
        parents = self.fixed_parents or [p if p is not None else leaves[i] for p, i in zip(self.leaf_parents, self.arg_parents)]
        for p in parents:
            if p._hooks:
                return None
        opt.zero_grad()
        loss, grads = self.fn((args, kwargs), *leaves)
        if self.optimized[0] is not opt or self.optimized[1] != len(opt.params):
            self.optimized = (opt, len(opt.params), {id(p) for p in opt.params})
        optimized = self.optimized[2]
        seen: set[int] = set()
        for p, g in zip(parents, grads):
            if g is None:
                continue
            if id(p) in optimized and id(g) not in seen and type(g) is np.ndarray and g.dtype == p.data.dtype:
                p.grad = g  # a buffer the next step overwrites, as torch's .grad is reused in place
            else:  # one array for two parameters, or a Tensor the optimizer does not own: as eagerly
                _accumulate(p, g.copy())
            seen.add(id(g))
        # The optimizer's update: its own code written out straight (`_update_source`) once its state
        # exists, else its `step()` without the checks (the gradients are this step's own buffers).
        if self.update is None and self.plan_for is not opt:
            self._plan(opt, parents, grads)
        if self.update is not None and self.plan_for is opt and self.update():
            opt._stepped()
            mark_modified(self.moved)
        else:
            if self.update is not None:  # a flag or a state array changed: this step as it is, a new plan next
                self.update = self.fused = self.plan_for = None
            getattr(opt, "_step_checked", opt.step)()
        return self.loss(loss)

    def loss(self, loss: Any) -> Tensor:
        """The step's loss: a fresh array unless a kernel wrote it into a buffer; then a copy, so that a
        loss kept from this step does not change with the next."""
        return _const(np.array(loss) if self.loss_in_buffer or type(loss) is not np.ndarray else loss)

    def param_name(self, p: Tensor) -> str:
        return self.trace._name(p, self.trace.names.get(id(p)) or p.name or "p")

    def _plan(self, opt: Any, parents: list, grads: tuple) -> None:
        """Write the optimizer's update for the parameters this step gives gradients to, if it can;
        and when every one of them is the optimizer's, the whole step as one function (`_fuse`)."""
        ids = {id(p) for p in opt.params}
        todo = []
        for p, g, expr in zip(parents, grads, self.grads):
            if g is not None and id(p) in ids:
                P = self.param_name(p)
                fixed = self.ns.get(expr) is g  # a buffer of this step, the same array on every step
                todo.append(Grad(p, P, g, expr if fixed else f"{P}.grad", fixed))
        plan = plan_update(opt, todo, self.trace._name)
        if plan is NotImplemented:
            self.plan_for = opt  # never: this optimizer's own step() it is
            return
        if plan is None:
            return  # its state is made by the first step: plan on the next
        conds, lines, moved = plan
        code = ("def update():\n    if not (" + "\n            and ".join(conds) + "):\n        return False\n"
                + "".join(f"    {line}\n" for line in lines) + "    return True\n")
        self.ns.update(_sqrt=math.sqrt, _mark=mark_modified)
        exec(builtins.compile(code, "<ad.compile update>", "exec"), self.ns)
        self.update, self.plan_for, self.moved = self.ns["update"], opt, moved
        self.code += "\n\n" + code
        if len(todo) == len(parents) and self.fixed_parents is not None and len(set(self.grads)) == len(self.grads):
            self._fuse(opt, todo, conds, lines)

    def _fuse(self, opt: Any, todo: list, conds: list[str], lines: list[str]) -> None:
        """The whole step as one function: the plan's conditions and the parameters' hooks checked
        first (None when one fails: `run` then takes the step), then the forward and backward, each
        `.grad` handed over (None for the optimizer's other parameters, as `zero_grad` leaves them),
        the update, and the optimizer's bookkeeping."""
        if any(g.array.dtype != g.param.data.dtype for g in todo):
            return
        ids = {id(g.param) for g in todo}
        self.ns.update(_stepped=opt._stepped, MOVED=self.moved)
        n_args = len(self.trace.tracer.arg_is_tensor)
        code = "\n".join([
            f"def fused(A, {', '.join(f'a{i}' for i in range(n_args))}):",
            "    if not (" + "\n            and ".join([*conds, *(f"not {g.name}._hooks" for g in todo)]) + "):",
            "        return None",
            *self.body,
            *(f"    {g.name}.grad = {expr}" for g, expr in zip(todo, self.grads)),
            *(f"    {self.param_name(q)}.grad = None" for q in opt.params if id(q) not in ids),
            *(f"    {line}" for line in lines),
            "    _stepped()",
            "    _mark(MOVED)",
            "    return loss",
        ]) + "\n"
        exec(builtins.compile(code, "<ad.compile fused step>", "exec"), self.ns)
        self.fused = self.ns["fused"]
        self.code += "\n\n" + code
