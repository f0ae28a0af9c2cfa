"""The tape of one trace: every op a function ran, with where each of its inputs came from.

While `ad.compile` traces, the op wrappers (autodiff.op) hand every op here instead of building a
graph node (`state.tracer`). Slots number every value: the function's arguments (the Tensors and
arrays among its positional and keyword arguments, flattened), leaves it reached (parameters,
other Tensors), constant operands, and op results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff.op import Op
from autodiff.tensor import Tensor, _const
from autodiff.tracing import Untraceable


def _detach(x: np.ndarray) -> tuple[np.ndarray, tuple]:
    """An op result's values read without its gradient (`h.detach()`, `h.data`): in the replay, the same array."""
    return x, ()


DETACH = Op("detach", _detach, "z = x, no gradient flows back")


class Tracer:
    """The tape: a list of entries (op, input slots, static arguments, keyword arguments, output
    slot, variadic), and the value checks (`replay_check`) the replay must run first."""

    def __init__(self, args: list, grad_enabled: bool) -> None:
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
        self.checks: list[tuple] = []  # (check, static specs of its arrays, result)
        self.check_before: list[int] = []  # for each check, the tape entry it was made for: the next one recorded
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
            self.array_args.setdefault(id(a.data if isinstance(a, Tensor) else a), i)
        self.arg_is_tensor = [isinstance(a, Tensor) for a in args]
        self.arg_arrays = [(i, a.data if isinstance(a, Tensor) else a) for i, a in enumerate(args)
                           if isinstance(a.data if isinstance(a, Tensor) else a, np.ndarray)]
        self.made_here: set[int] = set()  # Tensors the function built from data while traced
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
                elif id(parent) in self.made_here:
                    # Its data may come from anything (an argument's array copied, a random draw):
                    # baked into the trace, every replay would reuse the first call's values.
                    raise Untraceable("it builds a Tensor from data inside the function (ad.Tensor(...), a random "
                                      "draw); build it outside and pass it in as an argument")
                else:
                    slot = self._new("leaf", parent, parent.data, parent.requires_grad)
                self.slot_of[id(parent)] = slot
                self.keep.append(parent)
            return slot
        if id(array) in self.array_args:
            return self._new("arg", self._use(array), array, False)
        if id(array) in self.op_arrays:  # `h.data` of an op result h, handed on as a constant
            return self._detached(array)
        self._not_a_view_of_an_argument(array)
        return self._new("const", array, array, False)

    def _not_a_view_of_an_argument(self, array: Any) -> None:
        """Refuse a constant that is a NumPy view of an argument's array (x[:, :3] of an array x):
        baked into the trace, every replay would read the first call's argument."""
        if type(array) is np.ndarray and array.base is not None:
            for i, a in self.arg_arrays:
                if np.may_share_memory(array, a):
                    raise Untraceable(f"it reads argument {i} through a NumPy view of its array (such as x[:, :3]), "
                                      "which a replay would not read afresh; index it as a Tensor, or pass the view in "
                                      "as an argument of its own")

    def made(self, t: Tensor) -> None:
        """`Tensor(...)` was called while tracing: remember it (alive, so its id stays unique)."""
        self.made_here.add(id(t))
        self.keep.append(t)

    def _detached(self, array: np.ndarray) -> int:
        """A slot for an op result's values with no gradient: baking them in would replay stale values."""
        slot = self._new("op", len(self.tape), array, False)
        self.tape.append((DETACH, (self.op_arrays[id(array)],), (), (), slot, False))
        self.saved.append(())
        return slot

    def _use(self, array: Any) -> int:
        i = self.array_args[id(array)]
        self.used.add(i)
        return i

    def static(self, value: Any) -> tuple:
        """How the replay gets a static argument: ("arg", i) for an argument's array (class
        indices, say, also inside an index tuple `logits[np.arange(n), t]`), read per call;
        ("tuple", specs), or ("const", value), baked in."""
        if id(value) in self.array_args:
            return ("arg", self._use(value))
        if type(value) is tuple and any(id(v) in self.array_args for v in value):
            return ("tuple", tuple(self.static(v) for v in value))
        self._not_a_view_of_an_argument(value)
        return ("const", value)

    def check(self, check: Any, arrays: tuple, result: Any) -> None:
        """`replay_check`: the replay runs `check(*arrays)` first and traces again unless it gives `result`."""
        for a in arrays:
            if id(a) in self.op_arrays:
                raise Untraceable("an op chooses its path by values computed inside the function")
        self.checks.append((check, tuple(self.static(a) for a in arrays), result))
        self.check_before.append(len(self.tape))

    def record(self, op: Op, out: np.ndarray, saved: tuple, parents: Any, arrays: Any, args: tuple = (),
               kwargs: dict | None = None, variadic: bool = False) -> Tensor:
        """Put one op on the tape and return its result as a Tensor for the function to go on with."""
        ins = tuple(self._input(p, a) for p, a in zip(parents, arrays))
        static = tuple(self.static(a) for a in args)
        named = tuple((k, self.static(v)) for k, v in (kwargs or {}).items())
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
