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
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import anomaly
from autodiff.backward import _accumulate
from autodiff.compiler.codegen import Diverged, Trace
from autodiff.compiler.compiled import Compiled
from autodiff.compiler.step_source import StepSource
from autodiff.compiler.update import Grad, plan_update
from autodiff.grad_mode import state
from autodiff.tensor import Tensor, _const, mark_modified


def _own(g: Any, dtype: Any, taken: frozenset, *earlier: Any) -> np.ndarray:
    """A gradient the step did not write into a buffer of its own, as a parameter's `.grad` may hold
    it: a copy when it is not an array of its own (a view, read-only, a NumPy scalar), or is one of
    the step's constants (the backward's seed), buffers or state (`taken`), or went to an earlier
    parameter this step; as the eager walk copies what a VJP passes through."""
    if (type(g) is not np.ndarray or g.base is not None or not g.flags.writeable or id(g) in taken
            or any(g is e for e in earlier)):
        return np.array(g, dtype=dtype)
    return g


def _eager_update(opt: Any) -> None:
    """The optimizer's step on the gradients the compiled step handed over: `_step_checked` (its
    `step()` without the checks) unless a subclass has its own `step()`, which then runs."""
    mro = type(opt).__mro__
    owner = {name: next((i for i, c in enumerate(mro) if name in c.__dict__), None) for name in ("step", "_step_checked")}
    if owner["_step_checked"] is not None and owner["step"] is not None and owner["step"] >= owner["_step_checked"]:
        if hasattr(opt, "_check_data"):
            opt._check_data()  # a parameter whose .data is no array (a NumPy scalar) is refused, not left
        opt._step_checked()
    else:
        opt.step()


class CompiledStep:
    """What `optimizer.compile_step(loss_fn)` returns: call it with loss_fn's arguments for one step."""

    def __init__(self, optimizer: Any, loss_fn: Callable[..., Any]) -> None:
        self.optimizer = optimizer
        self.loss_fn = Compiled(loss_fn)
        self.eager_steps = 0  # steps that ran eagerly (the first of a new trace, or a fallback)
        self._fast: tuple | None = None  # the last step's fused function (and its arity), if it checks the key

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
        try:
            got = self._replay(args, kwargs)
        except BaseException:
            # The loss failed (a target out of range, say): as the eager step, which forgets the
            # gradients first, no `.grad` of the last step is left behind.
            self.optimizer.zero_grad()
            raise
        if got is None or isinstance(got, Tensor):
            return self._eager(args, kwargs) if got is None else got
        program, leaves, tree = got
        try:  # `run` forgets the gradients before the loss, as the eager step does
            out = program.run(self.optimizer, args, kwargs, leaves, self.loss_fn)
        except Diverged:  # a value the trace chose by changed: trace again, and take this step eagerly
            self.loss_fn._trace(args, kwargs, leaves, tree)
            out = None
        return self._eager(args, kwargs) if out is None else out

    def _replay(self, args: tuple, kwargs: dict) -> Any:
        """The step's loss when the fused step took it; else (program, leaves, tree) for `run`, or
        None to take it eagerly."""
        fast = self._fast
        if fast is not None and not kwargs and len(args) == fast[1]:
            # The last step's function again, with the trace's key and guard among its conditions:
            # no lookup (a third of a step's Python after a large one has flushed the caches).
            try:
                loss = fast[0](*args)
            except Diverged:  # a value the trace chose by changed: the general path traces again
                loss = None
            if loss is not None:
                return loss
            self._fast = None
        entry, leaves, tree = self.loss_fn.entry(args, kwargs)
        if not isinstance(entry, Trace) or not entry.needs_node or math.prod(entry.tracer.shapes[entry.out_slot]) != 1:
            return None  # a loss of several elements: `backward()` says what it says eagerly
        program = entry.step_program
        if program is None:
            program = entry.step_program = StepProgram(entry)
        if program.fused is not None and program.plan_for is self.optimizer:
            try:
                loss = program.fused(*leaves)
            except Diverged:  # trace again, and take this step eagerly
                self.loss_fn._trace(args, kwargs, leaves, tree)
                return None
            if loss is not None:
                self._fast = (program.fused, len(args)) if program.replays else None
                return loss
        return program, leaves, tree

    def _eager(self, args: tuple, kwargs: dict) -> Tensor:
        self.eager_steps += 1
        opt = self.optimizer
        opt.zero_grad()
        loss = self.loss_fn.fn(*args, **kwargs)
        loss.backward()
        opt.step()
        return loss


class StepProgram(StepSource):
    """A step's source, run: the gradients handed over, the optimizer's update written out once its
    state exists, and then the whole step as one function."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        tr = trace.tracer
        self.leaf_parents = [tr.values[j] if tr.kinds[j] == "leaf" else None for j in trace.parents]
        self.arg_parents = [tr.values[j] if tr.kinds[j] == "arg" else None for j in trace.parents]
        self.fixed_parents = self.leaf_parents if None not in self.leaf_parents else None
        self.loss_in_buffer = trace.out_slot in self.planned
        # Which gradients are buffers of this step (handed over as they are), and which arrays no
        # `.grad` may be without a copy: the step's constants (the seed), buffers and state.
        self.fixed_grads = [expr in self.buffers for expr in self.grads]
        self.taken = frozenset(id(v) for v in self.ns.values() if type(v) is np.ndarray)
        self.update: Callable[[], bool] | None = None  # the optimizer's update, written out (`_plan`)
        self.fused: Callable[..., Any] | None = None  # the whole step in one function (`_fuse`)
        self.replays = False
        self.plan_for: Any = None
        self.moved: list = []
        self.plan_parents: list = []
        self.optimized: tuple = (None, -1, set())

    # ------------------------------------------------------------------ one step
    def run(self, opt: Any, args: tuple, kwargs: dict, leaves: Any, compiled: Compiled) -> Tensor | None:
        """One step; None when it must run eagerly instead (a hook on a parameter)."""
        parents = self.fixed_parents or [p if p is not None else leaves[i] for p, i in zip(self.leaf_parents, self.arg_parents)]
        for p in parents:
            if p._hooks:
                return None
        opt.zero_grad()
        loss, grads = self.fn(*leaves)
        if self.optimized[0] is not opt or self.optimized[1] != len(opt.params):
            self.optimized = (opt, len(opt.params), {id(p) for p in opt.params})
        optimized = self.optimized[2]
        handed: list = []
        for p, g, fixed in zip(parents, grads, self.fixed_grads):
            if g is None:
                continue
            if id(p) in optimized:  # a buffer of the step, which the next one overwrites (as torch's .grad)
                p.grad = g if fixed else _own(g, p.data.dtype, self.taken, *handed)
                handed.append(p.grad)
            else:  # a Tensor the optimizer does not own: added to what it holds, as eagerly
                _accumulate(p, np.array(g, dtype=p.data.dtype))
        # The optimizer's update: its own code written out straight (`_update_source`) once its state
        # exists, else its `step()` without the checks (the gradients are this step's own buffers).
        if self.update is None and self.plan_for is not opt:
            self._plan(opt, parents, grads, self.spare(loss, *grads), None if kwargs else compiled.replay_conditions(
                self.trace, args, self.trace._name, self.param_name))
        # The plan moves the parameters it was made for: parameters passed as arguments may be others.
        same = self.update is not None and all(map(operator.is_, parents, self.plan_parents))
        if same and self.plan_for is opt and self.update():
            opt._stepped()
            mark_modified(self.moved)
        else:
            if same:  # a flag or a state array changed: this step as it is, a new plan next
                self.update = self.fused = self.plan_for = None
            _eager_update(opt)
        return self.loss(loss)

    def loss(self, loss: Any) -> Tensor:
        """The step's loss: a fresh array unless a kernel wrote it into a buffer; then a copy, so that a
        loss kept from this step does not change with the next."""
        return _const(np.array(loss) if self.loss_in_buffer or type(loss) is not np.ndarray else loss)

    def param_name(self, p: Tensor) -> str:
        return self.trace._name(p, self.trace.names.get(id(p)) or p.name or "p")

    def _plan(self, opt: Any, parents: list, grads: tuple, spare: list[np.ndarray], replay: list[str] | None) -> None:
        """Write the optimizer's update for the parameters this step gives gradients to, if it can
        (its scratch in the step's `spare` buffers); and when every one of them is the optimizer's,
        the whole step as one function (`_fuse`)."""
        ids = {id(p) for p in opt.params}
        todo = []
        for p, g, expr, fixed in zip(parents, grads, self.grads, self.fixed_grads):
            if g is not None and id(p) in ids:
                P = self.param_name(p)
                todo.append(Grad(p, P, g, expr if fixed else f"{P}.grad", fixed))
        plan = plan_update(opt, todo, self.trace._name, spare)
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
        self.update, self.plan_for, self.moved, self.plan_parents = self.ns["update"], opt, moved, list(parents)
        self.code += "\n\n" + code
        if len(todo) == len(parents):
            self._fuse(opt, todo, conds, lines, replay)

    def _hand_over(self, todo: list) -> list[str]:
        """`run`'s hand-over of the gradients as lines: a buffer of the step as it is, anything else
        through `_own`."""
        lines, earlier = [], []
        for g, expr, fixed in zip(todo, self.grads, self.fixed_grads):
            if fixed:
                lines.append(f"    {g.name}.grad = {expr}")
            else:
                dtype = self.trace._name(g.param.data.dtype, "dtype")
                lines.append(f"    {g.name}.grad = _own({expr}, {dtype}, TAKEN{''.join(', ' + e for e in earlier)})")
                earlier.append(f"{g.name}.grad")
        return lines

    def _fuse(self, opt: Any, todo: list, conds: list[str], lines: list[str], replay: list[str] | None) -> None:
        """The whole step as one function: the plan's conditions and the parameters' hooks checked
        first (None when one fails: `run` then takes the step), then the forward and backward, each
        `.grad` handed over (None for the optimizer's other parameters, as `zero_grad` leaves them),
        the update, and the optimizer's bookkeeping."""
        if any(g.array.dtype != g.param.data.dtype for g in todo):
            return
        ids = {id(g.param) for g in todo}
        # A parameter passed as an argument (`step([W, b], x, t)`): the plan holds while it is the same one.
        same = [f"a{i} is {g.name}" for g, i in zip(todo, self.arg_parents) if i is not None]
        self.ns.update(_stepped=opt._stepped, MOVED=self.moved, _own=_own, TAKEN=self.taken)
        n_args = len(self.trace.tracer.arg_is_tensor)
        code = "\n".join([
            f"def fused({', '.join(f'a{i}' for i in range(n_args))}):",
            "    if not (" + "\n            and ".join([*(replay or ()), *same, *conds, *(f"not {g.name}._hooks" for g in todo)])
            + "):",
            "        return None",
            *self.body,
            *self._hand_over(todo),
            *(f"    {self.param_name(q)}.grad = None" for q in opt.params if id(q) not in ids),
            *(f"    {line}" for line in lines),
            "    _stepped()",
            "    _mark(MOVED)",
            f"    return _const({'loss.copy()' if self.loss_in_buffer else '_asarray(loss)'})",
        ]) + "\n"
        exec(builtins.compile(code, "<ad.compile fused step>", "exec"), self.ns)
        self.fused = self.ns["fused"]
        self.replays = replay is not None  # it checks the call's key and the trace's guard itself
        self.code += "\n\n" + code
