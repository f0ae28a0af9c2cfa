"""A compiled step's forward and backward written out (autodiff.compiler.step): the trace's ops in
order, the hot ones through kernels (autodiff.compiler.kernels) into buffers planned once, in place
where the step is an array's last reader, the others as their own forward and VJP calls."""

from __future__ import annotations

import builtins
import re
from typing import Any

import numpy as np

from autodiff.aligned import empty_many
from autodiff.compiler.codegen import Trace, _safe
from autodiff.compiler.kernels import KERNELS
from autodiff.op import unbroadcast

_BUFFER = re.compile(r"\bB\d+\b")


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


class StepSource:
    """The straight-line forward and backward of one trace, into buffers planned now: `fn`, and its
    lines without the header and the return (`body`) for the fused step."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        tr = trace.tracer
        self.ns: dict[str, Any] = trace.ns  # one namespace: names made by trace._name land here too
        self.ns.update(np=np, _asarray=np.asarray, unbroadcast=unbroadcast, _safe=_safe)
        self.lines: list[str] = []
        self.n_temp = 0
        self.n_buf = 0
        self.buffers: set[str] = set()  # the names of the buffers planned here
        self.covered: set[int] = set()  # replay checks a kernel makes by itself (`class_index_check`)
        self.specs: dict[str, tuple] = {}  # name -> (shape, dtype), cut from one arena once planned
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
        self.buffer_ids: set[int] = set()
        self.code = self._source()
        self._carve()
        # A view of a buffer has the block they are cut from as its base: both say "the step's memory".
        for name in self.buffers:
            self.buffer_ids.update({id(self.ns[name]), id(self.ns[name].base)} - {id(None)})
        exec(builtins.compile(self.code, "<ad.compile step>", "exec"), self.ns)
        self.fn = self.ns["step"]

    def spare(self, *outside: Any) -> list[np.ndarray]:
        """The step's buffers that nothing reads once its backward is done (none shares memory with
        `outside`: the loss and the gradients), the most recently used first: an update's scratch
        there is still in cache."""
        order: dict[str, None] = {}
        for line in reversed(self.body):
            for name in reversed(_BUFFER.findall(line)):
                if name in self.buffers:
                    order.setdefault(name)
        arrays = [a for a in outside if isinstance(a, np.ndarray)]
        return [b for b in map(self.ns.__getitem__, order) if not any(np.may_share_memory(b, a) for a in arrays)]

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
        self.specs[name] = (tuple(shape), np.dtype(dtype))
        self.buffers.add(name)
        return name

    def _carve(self) -> None:
        """Every buffer planned here, cut from one block, each starting on a cache line
        (`autodiff.aligned`). Against the same step with one `np.empty` per buffer, interleaved:
        3–6 % faster on W3, 7–12 % on W2, about 1 % on W1."""
        names = list(self.specs)
        self.ns.update(zip(names, empty_many([self.specs[name] for name in names])))

    def class_index_check(self, e: _Entry, target: str, shape: tuple) -> bool:
        """Whether the kernel of entry e, reading class indices `target` for logits of `shape` (N, C),
        takes over the replay check made for it (`autodiff.tracing.checks_class_indices`): yes when
        its ignore_index is no class, so that "every target a class in 0..C−1" is all the check asks;
        the kernel then fails with DIVERGED where the check would have."""
        tr = self.trace.tracer
        for n, (check, specs, result) in enumerate(tr.checks):
            if (n not in self.covered and tr.check_before[n] == e.k and getattr(check, "class_indices", False)
                    and result is False
                    and len(specs) == 3 and self.trace._static(specs[0]) == target and specs[1] == ("const", shape)
                    and specs[2][0] == "const" and not 0 <= specs[2][1] < shape[1]):
                self.covered.add(n)
                return True
        return False

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
        lines.append(f"def step({', '.join(f'a{i}' for i in range(n_args))}):")
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
        self.backs = set(trace.backs)
        for k, (op, ins, static, named, slot, variadic) in enumerate(tr.tape):
            at = len(lines)
            if live[slot]:
                self._forward(k, op, ins, static, named, slot, variadic)
            # The replay checks made for entry k, before it (unless its kernel checks by itself): in
            # the eager order, so that of two failing checks the eager one's error comes first.
            lines[at:at] = self._checks(lambda before, k=k: before == k)
        lines += self._checks(lambda before: before >= len(tr.tape))
        self.line(f"loss = {self.expr[trace.out_slot]}")
        if trace.out_slot not in self.planned:  # a view of a buffer, which the backward may overwrite in place
            ids = trace._name(self.buffer_ids, "buffer_ids")  # (a view of a parameter stays one, as eagerly)
            self.line(f"if type(loss) is np.ndarray and (id(loss) in {ids} or loss.base is not None and id(loss.base) in {ids}):")
            self.line("    loss = loss.copy()")
        self._backward()
        return "\n".join(lines)

    def _forward(self, k: int, op: Any, ins: tuple, static: tuple, named: tuple, slot: int, variadic: bool) -> None:
        """Entry k of the tape: through its kernel into buffers, or as the op's own forward call."""
        trace, tr = self.trace, self.trace.tracer
        e = _Entry(k, slot)
        e.ins = [self.expr[j] for j in ins]
        e.shapes = [tr.shapes[j] for j in ins]
        e.dtypes = [tr.dtypes[j] for j in ins]
        e.consts = {i: tr.values[j] for i, j in enumerate(ins) if tr.kinds[j] == "const"}
        e.static = {key: spec[1] for key, spec in named if spec[0] == "const"}
        e.static_expr = {key: trace._static(spec) for key, spec in named}
        e.out_shape, e.out_dtype = tr.shapes[slot], tr.dtypes[slot]
        if k in self.backs:
            e.flows = {i for i, j in enumerate(ins) if tr.needs[j]}
        kernel = KERNELS.get(op.name)
        usable = (kernel is not None and not variadic and not static and slot not in self.guarded
                  and not any(trace.casts.get((k, i), (False, False))[0] or trace.casts.get((k, i), (False, False))[1]
                              for i in e.flows))
        if usable and kernel[0](self, e):
            self.entries[k] = e
            if "out" in e.keep:
                self.keeps_out.add(slot)
            return
        # As it is: the op's own forward (the same call the replay of ad.compile makes).
        f = trace._name(op.forward, op.name)
        call_args = [f"[{', '.join(e.ins)}]"] if variadic else list(e.ins)
        call_args += [trace._static(s) for s in static] + [f"{key}={trace._static(s)}" for key, s in named]
        out, saved = self.temp(), f"S{k}"
        self.line(f"{out}, {saved} = {f}({', '.join(call_args)})")
        if not tr.shapes[slot]:
            self.line(f"{out} = _asarray({out})")
        self.expr[slot] = out

    def _checks(self, made_for: Any) -> list[str]:
        """The lines of the replay checks whose entry `made_for(entry)` picks, but those a kernel makes."""
        trace, tr = self.trace, self.trace.tracer
        return [f"    if {trace._name(check, f'check{n}')}({', '.join(trace._static(s) for s in specs)}) != "
                f"{trace._name(result, f'expected{n}')}:\n        raise DIVERGED"
                for n, (check, specs, result) in enumerate(tr.checks)
                if n not in self.covered and made_for(tr.check_before[n])]

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
