"""`ad.compile(fn)`: trace a function's ops once, then replay them as one node of the graph.

Eager autodiff pays Python for every op on every step: a Tensor per result, the decorator's
checks, the backward walk's dicts, unbroadcast decisions. For a function whose ops do not depend
on its inputs' values (a network's forward pass and its loss) all of that is the same every step.
So the first call *traces*: the ops record onto a tape (op, input slots, static arguments) instead
of building nodes. From the tape we write two straight-line Python functions that call the ops'
own forwards and VJPs, nothing else: the forward, and the backward (δ of every input from δ of the
output, in reverse tape order, with the unbroadcast sums and the gradient sums decided once).
Later calls run the forward and return one Tensor whose single graph node's VJP runs the
backward. Parameters (leaf Tensors the function reaches) are read afresh on every call and are the
node's parents, so `.backward()` fills their `.grad` as usual and `opt.step()` trains as eagerly.

It traces again when an input's shape, dtype or `requires_grad`, the grad mode, or the set of
parameters the function reaches changes (`traces` counts traces); it runs eagerly inside
`detect_anomaly()`, and a recorded gradient (`create_graph=True`) runs the function again eagerly.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
import re
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff import anomaly
from autodiff.grad_mode import enable_grad, state
from autodiff.op import Op, unbroadcast
from autodiff.tensor import Tensor, _const, _node
from autodiff.zero_safe import keep_zeros

__all__ = ["Compiled", "compile", "not_traceable", "structure_changed"]

# Bumped whenever a module's structure may have changed (a sub-module or parameter assigned,
# train()/eval()): compiled functions then check again which parameters they reach.
_structure = [0]


def structure_changed() -> None:
    """Tell compiled functions that some module's parameters, sub-modules or training flag changed."""
    _structure[0] += 1


class _Untraceable(Exception):
    pass


def not_traceable(reason: str) -> None:
    """Called by code whose result a replay could not reproduce (a fresh random mask, running
    statistics updated outside the graph): while tracing, the compiled function runs eagerly
    instead. Outside a trace it does nothing."""
    if state.tracer is not None:
        raise _Untraceable(reason)


def _detach(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """An op result's values read without its gradient (`h.detach()`, `h.data`): in the replay, the same array."""
    return x, ()


_DETACH = Op("detach", _detach, "z = x, no gradient flows back")


class _Tracer:
    """The tape of one trace: every op the function ran, with where its inputs came from.

    Slots number every value: the function's arguments, leaves it reached (parameters, other
    Tensors), constant operands, and op results. A tape entry is (op, input slots, static
    arguments, keyword arguments, output slot, variadic).
    """

    def __init__(self, args: tuple, grad_enabled: bool) -> None:
        self.grad_enabled = grad_enabled
        self.kinds: list[str] = []  # per slot: "arg", "leaf", "const" or "op"
        self.values: list[Any] = []  # arg index, leaf Tensor, constant value, or tape index
        self.shapes: list[tuple] = []
        self.dtypes: list[Any] = []
        # Does a gradient flow to this slot: an argument's or leaf's requires_grad (whatever the
        # grad mode where it is first read: a parameter read first under `no_grad` may be read
        # again outside it), an op result's recorded inputs and the grad mode it ran in.
        self.needs: list[bool] = []
        self.tape: list[tuple] = []
        self.saved: list[tuple] = []  # each entry's saved values at trace time, for the probe
        self.keep: list[Tensor] = []  # results made while tracing, alive so their ids stay unique
        self.slot_of: dict[int, int] = {}
        self.op_arrays: dict[int, int] = {}  # id of an op result's array -> its slot (alive in `keep`)
        # Arrays the replay must read from the call's arguments: array arguments, and Tensor
        # arguments' data (`x.data` passed on to an op), found by identity wherever they show up.
        # An argument passed twice (f(x, x)) is read through its first position: the trace key
        # records the aliasing, so this trace replays only for calls that alias the same way.
        self.array_args: dict[int, int] = {}
        for i, a in enumerate(args):
            if isinstance(a, (Tensor, np.ndarray)):
                self.array_args.setdefault(id(a.data if isinstance(a, Tensor) else a), i)
        self.arg_is_tensor = [isinstance(a, Tensor) for a in args]
        self.used: set[int] = set()  # the arguments the tape reads
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and id(a) not in self.slot_of:
                self.slot_of[id(a)] = self._new("arg", i, a.data, a.requires_grad)
        self.arg_slots = set(self.slot_of.values())

    def _new(self, kind: str, value: Any, array: Any, needs: bool) -> int:
        self.kinds.append(kind)
        self.values.append(value)
        self.shapes.append(np.shape(array))
        self.dtypes.append(getattr(array, "dtype", None))
        self.needs.append(needs)
        return len(self.kinds) - 1

    def _input(self, parent: Tensor | None, array: Any) -> int:
        if parent is not None:
            slot = self.slot_of.get(id(parent))
            if slot in self.arg_slots:
                self.used.add(self.values[slot])
            if slot is None:
                if id(parent.data) in self.array_args:  # an argument's array wrapped inside the function
                    slot = self._new("arg", self._use(parent.data), parent.data, False)
                elif id(parent.data) in self.op_arrays:  # an op result detached: computed per call too
                    slot = self._detached(parent.data)
                else:
                    slot = self._new("leaf", parent, parent.data, parent.requires_grad)
                self.slot_of[id(parent)] = slot
                self.keep.append(parent)
            return slot
        if id(array) in self.array_args:
            return self._new("arg", self._use(array), array, False)
        if id(array) in self.op_arrays:  # `h.data` of an op result h, handed on as a constant
            return self._detached(array)
        return self._new("const", array, array, False)

    def _detached(self, array: np.ndarray) -> int:
        """A slot for an op result's values with no gradient: baking them in would replay stale values."""
        slot = self._new("op", len(self.tape), array, False)
        self.tape.append((_DETACH, (self.op_arrays[id(array)],), (), (), slot, False))
        self.saved.append(())
        return slot

    def _use(self, array: Any) -> int:
        i = self.array_args[id(array)]
        self.used.add(i)
        return i

    def _static(self, value: Any) -> Any:
        # An array argument passed as a static argument (class indices, say), also inside an index
        # tuple (`logits[np.arange(n), t]`), is read per call.
        if id(value) in self.array_args:
            return ("arg", self._use(value))
        if type(value) is tuple and any(id(v) in self.array_args for v in value):
            return ("tuple", tuple(self._static(v) for v in value))
        return ("const", value)

    def record(self, op: Op, out: np.ndarray, saved: tuple, parents: Any, arrays: Any, args: tuple = (),
               kwargs: dict | None = None, variadic: bool = False) -> Tensor:
        """Put one op on the tape and return its result as a Tensor for the function to go on with."""
        ins = tuple(self._input(p, a) for p, a in zip(parents, arrays))
        static = tuple(self._static(a) for a in args)
        named = tuple((k, self._static(v)) for k, v in (kwargs or {}).items())
        needs = self.grad_enabled and any(self.needs[i] for i in ins)
        t = _const(out)
        t.requires_grad = needs
        slot = self._new("op", len(self.tape), out, needs)
        self.tape.append((op, ins, static, named, slot, variadic))
        self.saved.append(saved)
        self.slot_of[id(t)] = slot
        self.op_arrays[id(out)] = slot
        self.keep.append(t)
        return t


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


class _Trace:
    """One traced function, written out as straight-line code: `call(*args)` runs the forward and
    returns the result Tensor (one node), `backward(g, S)` gives the gradients of that node's
    parents from δ of the output."""

    def __init__(self, tracer: _Tracer, out_slot: int, fn: Any) -> None:
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
        self.ns: dict[str, Any] = {"_asarray": np.asarray, "unbroadcast": unbroadcast, "_safe": _safe,
                                   "_node": _node, "_const": _const, "OP": self.op, "FN": fn}
        self.casts = self._probe() if self.needs_node else {}
        self.code = self._call_source()
        if self.needs_node:
            self.code += "\n\n" + self._backward_source(guard_all=False)
        exec(builtins.compile(self.code, f"<ad.compile {name}>", "exec"), self.ns)
        self.call = self.ns["call"]
        self.backward = self.ns.get("backward")
        self._guarded: Callable | None = None
        self.leaf_guard = [(t, t.requires_grad, t.data.shape, t.data.dtype) for t in self.leaves]
        self.bindings: list[tuple] = []
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
        """(tape index, entry, [(input position, input slot)]) for every VJP the backward runs,
        consumers first."""
        needs = self.tracer.needs
        for k in reversed(self.backs):
            entry = self.tracer.tape[k]
            yield k, entry, [(i, j) for i, j in enumerate(entry[1]) if needs[j]]

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
        # Not a local of the generated code (v0, g1, a2, S), not a keyword, not starting with a digit.
        if not base.isidentifier() or keyword.iskeyword(base) or re.fullmatch(r"[vga]\d+|S", base):
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
        lines = [f"def call({args}):"]
        if self.backs:
            lines.append(f"    S = [None] * {len(self.backs)}")
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
        saved_index = {k: n for n, k in enumerate(self.backs)}
        for k, (op, ins, static, named, slot, variadic) in enumerate(tr.tape):
            if not live[slot]:
                continue
            f = self._name(op.forward, op.name)
            vals = [regs.of.get(j) or inputs[j] for j in ins]
            call_args = [f"[{', '.join(vals)}]"] if variadic else vals
            call_args += [self._static(s) for s in static] + [f"{key}={self._static(s)}" for key, s in named]
            for j in dict.fromkeys(ins):
                if last.get(j) == k and j in regs.of:
                    regs.release(j)
            out = regs.define(slot)
            keep = f"S[{saved_index[k]}]" if k in backs else "_"
            lines.append(f"    {out}, {keep} = {f}({', '.join(call_args)})")
            if not tr.shapes[slot]:  # NumPy gives scalars, not 0-d arrays, from full reductions
                lines.append(f"    {out} = _asarray({out})")
        out = regs.of[self.out_slot]
        if not self.needs_node:
            lines.append(f"    return _const({out})")
        else:
            parents = "".join(f"{inputs[j].removesuffix('.data') if tr.kinds[j] == 'leaf' else f'a{tr.values[j]}'}, "
                              for j in self.parents)
            lines.append(f"    return _node({out}, OP, ({parents}), (S, [None, None], (FN, ({args}{',' if n_args else ''}))))")
        return "\n".join(lines)

    def _backward_source(self, guard_all: bool) -> str:
        """δ of each slot, consumers first: every VJP of an input that needs one, its unbroadcast
        sum and dtype cast where the probe found them needed, and the sum over consumers."""
        tr = self.tracer
        name = "backward_guarded" if guard_all else "backward"
        regs = _Registers("g")
        lines = [f"def {name}({regs.define(self.out_slot)}, S):"]
        guarded = self._guarded_slots(guard_all)
        saved_index = {k: n for n, k in enumerate(self.backs)}
        parents = set(self.parents)
        for k, (op, _, _, _, slot, _), flows in self._flows():
            g, s = regs.of[slot], f"S[{saved_index[k]}]"
            for i, j in flows:
                vjp = self._name(op.vjps[i], f"{op.name}_vjp{i}")
                if slot in guarded:
                    expr = f"_safe({self._name(op, op.name + '_op')}, {i}, {g}, {s}, {vjp})"
                else:
                    expr = f"{vjp}({g}, *{s})"
                reduce, cast, dtype = self.casts[k, i]
                if reduce:
                    expr = f"unbroadcast({expr}, {tr.shapes[j]!r})"
                if cast:
                    expr = f"{expr}.astype({self._name(dtype, 'dtype')})"
                if j in regs.of:
                    lines.append(f"    {regs.of[j]} = {regs.of[j]} + {expr}")
                else:
                    lines.append(f"    {regs.define(j)} = {expr}")
            if slot not in parents:
                regs.release(slot)
        lines.append(f"    return ({''.join(regs.of[j] + ', ' for j in self.parents)})")
        return "\n".join(lines)

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
        the function's closure and globals still hold the objects they held."""
        for t, rg, shape, dtype in self.leaf_guard:
            if t.requires_grad is not rg or t.data.shape != shape or t.data.dtype != dtype:
                return False
        for holder, key, obj in self.bindings:
            if (holder.cell_contents if key is None else holder.get(key)) is not obj:
                return False
        return True


def _safe(op: Op, i: int, g: np.ndarray, saved: tuple, vjp: Callable) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return keep_zeros(op, i, g, saved, vjp(g, *saved))


def _grad_of(trace: _Trace, i: int, g: np.ndarray, S: tuple, memo: list, call: Any, guarded: bool = False) -> Any:
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

    _, memo, (fn, args) = saved
    m = memo[1]
    if m is None or m[0] is not g:
        targets: dict[Tensor, Any] = dict.fromkeys(xs)
        with enable_grad():
            out = fn(*args)
            # The parents' own hooks run once, when the outer walk reaches them, not here as well.
            _run([out], [g], targets, create_graph=True, skip_hooks=frozenset(xs))
        m = memo[1] = (g, [_const(np.zeros_like(x.data)) if targets[x] is None else targets[x] for x in xs])
    return m[1][i]


class Compiled:
    """What `ad.compile` returns: call it as the function; `traces` counts its traces."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function or an nn.Module, got {type(fn).__name__}")
        self.fn = fn
        self.__wrapped__ = fn
        if isinstance(fn, types.FunctionType):
            functools.update_wrapper(self, fn, updated=())
        self.traces = 0
        self._cache: dict[tuple, _Trace | None] = {}
        self._reach: tuple | None = None
        self._structure = -1
        self._warned = False

    def __reduce__(self) -> tuple:
        # The traces are a cache: a copy (or a pickle) is the function compiled afresh.
        return compile, (self.fn,)

    def __getattr__(self, name: str) -> Any:
        # `compiled.parameters()`, `compiled.train()`: the module's own attributes.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["fn"], name)

    @property
    def code(self) -> str:
        """The Python source of the most recent trace: what a call runs."""
        traces = [t for t in self._cache.values() if t is not None]
        return traces[-1].code if traces else ""

    def __call__(self, *args: Any) -> Any:
        if state.tracer is not None or anomaly.active():
            return self.fn(*args)  # inside another trace it is just ops; under anomaly, checked eagerly
        enabled = state.enabled
        key = (enabled, _aliases(args), *[_signature(a) for a in args])
        if _structure[0] != self._structure:
            self._check_reach()
        trace = self._cache.get(key, False)
        if trace is False or (trace is not None and not trace.guard()):
            trace = self._trace(args, key, enabled)
        if trace is None:
            return self.fn(*args)
        return trace.call(*args)

    def _check_reach(self) -> None:
        """After a structure change: if the parameters the function reaches changed, drop the traces."""
        reach = _reachable(self.fn)
        if reach != self._reach:
            self._cache.clear()
            self._reach = reach
        self._structure = _structure[0]

    def _trace(self, args: tuple, key: tuple, enabled: bool) -> _Trace | None:
        tracer = _Tracer(args, enabled)
        self.traces += 1
        # Recording off, tracer on: every op lands on the tape, none builds a node.
        state.tracer, state.enabled = tracer, False
        try:
            out = self.fn(*args)
        except _Untraceable as e:
            self._eagerly(key, str(e))
            return None
        finally:
            state.tracer, state.enabled = None, enabled
        if not isinstance(out, Tensor):
            raise TypeError(f"compile: the function must return one Tensor, it returned {type(out).__name__}")
        # An array or Tensor argument no op read as it was given was converted first (class indices
        # made integers, say, from a float Tensor): the trace holds the converted copy. One simply
        # unused cannot be told from that, so it runs eagerly too: slower, never stale.
        first = {id(a): i for i, a in reversed(list(enumerate(args)))}  # an alias counts as read with its first
        unread = [i for i, a in enumerate(args)
                  if isinstance(a, (Tensor, np.ndarray)) and i not in tracer.used and first[id(a)] not in tracer.used]
        if unread:
            self._eagerly(key, f"argument {unread[0]} never reached an op as it was given (unused, or converted or read as "
                          "numbers first), so a replay could not read it afresh")
            return None
        slot = tracer.slot_of.get(id(out))
        if slot is None or tracer.kinds[slot] != "op":
            self._eagerly(key, "the function returns one of its inputs or a leaf, so there is nothing to replay")
            return None
        trace = _Trace(tracer, slot, self.fn)
        trace.bindings = _bindings(self.fn)
        self._cache[key] = trace
        return trace

    def _eagerly(self, key: tuple, reason: str) -> None:
        self._cache[key] = None
        if not self._warned:
            self._warned = True
            warnings.warn(f"compile: running {getattr(self.fn, '__name__', 'the module')} eagerly: {reason}", RuntimeWarning, stacklevel=4)


def _aliases(args: tuple) -> tuple | None:
    """Which arguments are one object (or share one array), as the first index holding each: a
    trace of `f(x, x)` reads both from one slot, so `f(a, b)` must not replay it. None when all differ."""
    first: dict[int, int] = {}
    pattern: list[Any] = []
    seen = 0
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            pattern.append((first.setdefault(id(a), i), first.setdefault(id(a.data), i)))
            seen += 2
        elif type(a) is np.ndarray:
            pattern.append(first.setdefault(id(a), i))
            seen += 1
    return tuple(pattern) if len(first) < seen else None


def _signature(a: Any) -> Any:
    """What an argument contributes to the trace key: a Tensor's or array's shape and dtype (and
    requires_grad), any other value itself (it is baked into the trace, as in `jax.jit`)."""
    if isinstance(a, Tensor):
        d = a.data
        return (d.shape, d.dtype, a.requires_grad)
    if type(a) is np.ndarray:
        return ("array", a.shape, a.dtype)
    if isinstance(a, (float, np.floating)):
        # By its bits: −0.0 == 0.0 (a trace of one would replay for the other), and NaN != NaN (a
        # new trace on every call, each kept).
        return ("value", type(a), float(a).hex())
    try:
        hash(a)
    except TypeError:
        raise TypeError(f"compile: argument of type {type(a).__name__} is neither an array nor hashable") from None
    return ("value", type(a), a)


def _reachable(root: Any) -> tuple:
    """Identity of every Tensor the object reaches (through modules, closures, globals a function
    names, containers), and each module's training flag: what a trace silently depends on."""
    seen: set[int] = set()
    found: list[Any] = []
    stack = [root]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Tensor):
            found.append(id(x))
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, functools.partial):
            stack.extend([x.func, *x.args, *x.keywords.values()])
        elif isinstance(x, types.MethodType):
            stack.extend([x.__func__, x.__self__])
        elif isinstance(x, types.FunctionType):
            stack.extend(c.cell_contents for c in x.__closure__ or () if _filled(c))
            stack.extend(x.__globals__[n] for n in _names(x.__code__) if n in x.__globals__)
            stack.extend(x.__defaults__ or ())
        elif _is_module(x):
            # Its plain settings too (a LeakyReLU's slope, a Dropout's p): the trace baked them in.
            found.append((id(x), tuple((k, v) for k, v in vars(x).items() if _literal(v) or type(v) is float)))
            stack.append(type(x).forward)
            stack.extend(vars(x).values())
    return tuple(found)


def _bindings(fn: Any) -> list[tuple]:
    """(cell, None, object) for each closure cell, (globals, name, object) for each global the
    function names, that may lead to parameters or be a constant array: rebinding one (`W = new`)
    means a new trace.
    Modules are watched through `structure_changed` instead."""
    fn = getattr(fn, "__func__", fn)
    if not isinstance(fn, types.FunctionType):
        return []
    # An ndarray too: a constant operand is baked into the trace as the object it was.
    kinds = (Tensor, np.ndarray, list, tuple, dict, types.FunctionType, functools.partial)
    out: list[tuple] = [(c, None, c.cell_contents) for c in fn.__closure__ or () if _filled(c)]
    out = [b for b in out if isinstance(b[2], kinds) or _is_module(b[2])]
    g = fn.__globals__
    for name in dict.fromkeys(_names(fn.__code__)):
        obj = g.get(name)
        if isinstance(obj, kinds) or _is_module(obj):
            out.append((g, name, obj))
    return out


def _literal(value: Any) -> bool:
    """A static argument that reads best written out (`reduction='mean'`, `axis=(0, 1)`)."""
    if type(value) is float:
        return math.isfinite(value)  # repr(inf) and repr(nan) are not Python
    if value is None or type(value) in (bool, int, str):
        return True
    return type(value) is tuple and all(_literal(v) for v in value)


def _parameter_names(fn: Any) -> dict[int, str]:
    """Names for the parameters in the generated code: `model.0.weight` becomes `model_0_weight`."""
    roots: list[tuple[str, Any]] = [("", fn)] if _is_module(fn) else []
    f = getattr(fn, "__func__", fn)
    if getattr(fn, "__self__", None) is not None and _is_module(fn.__self__):
        roots.append(("", fn.__self__))
    if isinstance(f, types.FunctionType):
        cells = zip(f.__code__.co_freevars, f.__closure__ or ())
        roots += [(name, c.cell_contents) for name, c in cells if _filled(c) and _is_module(c.cell_contents)]
        roots += [(n, f.__globals__[n]) for n in _names(f.__code__) if _is_module(f.__globals__.get(n))]
    names: dict[int, str] = {}
    for prefix, module in roots:
        for name, p in module.named_parameters():
            names.setdefault(id(p), f"{prefix}.{name}" if prefix else name)
    return names


def _is_module(x: Any) -> bool:
    return isinstance(getattr(type(x), "training", None), bool) and hasattr(type(x), "forward")


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _names(code: types.CodeType) -> list[str]:
    """Global names a function's code (and the code nested in it) may read."""
    names = list(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names += _names(c)
    return names


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
