"""The optimizer base class: parameter groups, per-parameter state, block-wise updates, state dicts.

The optimizer is the one writer of parameters: it updates `p.data` in place, outside the graph,
through state buffers allocated once (on a parameter's first step, as torch does), so a training
step allocates nothing here. It then marks the parameters it moved (`mark_modified`), so a graph
recorded before the step refuses backward. A large parameter is updated in blocks of at most
256 KB through a block-sized scratch buffer, which stays in cache from one block to the next (a
scratch as large as the parameter would be written back to memory and read again: measured 2 %
of an MNIST-sized step).

Parameter groups are torch's: `params` is an iterable of Tensors or of dicts
`{"params": [...], "lr": ...}` whose missing hyperparameters are the constructor's. Each
parameter's group is looked up by its index (`_group_of[i]`), so the update reads its
hyperparameters with one dict lookup each, as it read attributes before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from autodiff import Tensor, aligned
from autodiff.dtypes import not_real
from autodiff.tensor import mark_modified
from nn.io.npz import Header

#: Largest block of a parameter updated at once: small enough for its scratch to stay in L2 cache.
_BLOCK_BYTES = 256 * 1024


def hyper(value: Any, name: str, owner: str, upper: float | None = None) -> float:
    """A hyperparameter as a Python float (weak: float32 parameters stay float32), range-checked."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}") from None
    if not v >= 0 or (upper is not None and not v < upper) or math.isinf(v):
        bound = f"in [0, {upper})" if upper is not None else "a finite number ≥ 0"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value!r}")
    return v


def betas_pair(betas: Any, owner: str) -> tuple[float, float]:
    """(β₁, β₂), each in [0, 1)."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: betas must be a pair (β₁, β₂), got {betas!r}") from None
    return (hyper(b1, "betas[0]", owner, 1.0), hyper(b2, "betas[1]", owner, 1.0))


def fit(buf: np.ndarray, s: np.ndarray) -> np.ndarray:
    """A second scratch shaped like `s`: `buf` itself, its front if both are flat blocks, or a new array."""
    if buf.shape == s.shape:
        return buf
    if buf.ndim == s.ndim == 1 and buf.size >= s.size:
        return buf[: s.size]
    return np.empty_like(s)


def check_data(p: Any, i: int, who: str) -> None:
    """Parameter i's `.data` must be an array to be moved in place: a NumPy scalar (what arithmetic on
    a 0-d array gives, `W.data = W.data - 0.5`) would be left where it is."""
    if not isinstance(p.data, np.ndarray):
        raise TypeError(
            f"{who}: parameter {i} has a .data that is a {type(p.data).__name__}, not a numpy array, so it cannot "
            "be moved in place (arithmetic on a 0-d array gives a NumPy scalar: assign np.asarray(...)); nothing "
            "was updated"
        )


class Optimizer:
    """Base class: holds the parameter groups; `zero_grad()` forgets gradients, `step()` updates.

    A subclass sets `_state` ({torch's state name: attribute holding one entry per parameter,
    None until the parameter's first step}) and `_check(group)` (validates and normalises one
    group's hyperparameters), and writes `step()`.
    """

    #: torch's name of each piece of per-parameter state -> the list attribute that holds it.
    _state: ClassVar[dict[str, str]] = {}

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        owner = type(self).__name__
        if isinstance(params, (Tensor, Mapping)):
            raise TypeError(f"{owner}: params must be an iterable of Parameters, such as model.parameters()")
        params = list(params)
        if not params:
            raise ValueError(f"{owner}: got an empty parameter list; pass model.parameters() of a model that has parameters")
        groups = params if all(isinstance(p, Mapping) for p in params) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.params: list[Tensor] = []
        self._group_of: list[dict[str, Any]] = []
        self._scratch: list[np.ndarray] = []
        self._scratch2: list[np.ndarray | None] = []
        for attr in self._state.values():
            setattr(self, attr, [])
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group `{"params": [...], hyperparameter: value, ...}`; missing ones are the defaults."""
        owner = type(self).__name__
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError(f"{owner}: a parameter group must be a dict with a 'params' entry, got {group!r:.60}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        unique: dict[int, Tensor] = {}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner}: params must be Parameters or Tensors, got a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{owner}: can only optimize leaf tensors, not results of ops")
            unique.setdefault(id(p), p)
        if not unique:
            raise ValueError(f"{owner}: got an empty parameter list; pass model.parameters() of a model that has parameters")
        taken = {id(p) for p in self.params}
        if any(id(p) in taken for p in unique.values()):
            raise ValueError(f"{owner}: a parameter appears in more than one parameter group")
        merged = self._check({**self.defaults, **{k: v for k, v in group.items() if k != "params"}})
        merged["params"] = list(unique.values())
        self.param_groups.append(merged)
        for p in merged["params"]:
            self.params.append(p)
            self._group_of.append(merged)
            # A scratch buffer per parameter for intermediate results, reused every step: the
            # parameter's shape if it fits in one block, else one flat block.
            self._scratch.append(self._block_buffer(p.data))
            self._scratch2.append(None)
            for attr in self._state.values():
                getattr(self, attr).append(None)

    #: hyperparameters every group must hold: rates checked by `hyper`, flags made bools
    _rates: ClassVar[tuple[str, ...]] = ()
    _flags: ClassVar[tuple[str, ...]] = ()

    def _check(self, group: dict[str, Any]) -> dict[str, Any]:
        """A parameter group with its hyperparameters checked; a subclass adds the rules that tie them together."""
        owner = type(self).__name__
        for name in self._rates:
            group[name] = hyper(group[name], name, owner)
        for name in self._flags:
            group[name] = bool(group[name])
        return group

    # ----------------------------------------------------------------- the learning rate
    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: Any) -> None:
        v = hyper(value, "lr", type(self).__name__)
        for group in self.param_groups:
            group["lr"] = v

    # ----------------------------------------------------------------- updating in blocks
    @staticmethod
    def _block_buffer(w: np.ndarray) -> np.ndarray:
        n = _BLOCK_BYTES // w.itemsize
        return aligned.empty(w.shape if w.size <= n else n, w.dtype)  # on a cache line: see autodiff.aligned

    def _second(self, i: int, s: np.ndarray) -> np.ndarray:
        """A second scratch for parameter i shaped like the block `s`, kept from step to step."""
        buf = self._scratch2[i]
        if buf is None or buf.dtype != s.dtype:  # s's dtype: the first scratch may still be another's
            buf = self._scratch2[i] = aligned.empty(self._scratch[i].shape, s.dtype)
        return fit(buf, s)

    def _apply(self, i: int, update: Callable[..., None], w: np.ndarray, *arrays: np.ndarray | None) -> None:
        """`update(i, w, *arrays, scratch)` on parameter i: at once if it fits in one block, else
        on flat views of ≤ 256 KB blocks (None stays None), the scratch cut to fit. Writing into
        the views writes the parameter and its state."""
        s = self._scratch[i]
        if s.shape == w.shape and s.dtype == w.dtype:
            update(i, w, *arrays, s)
            return
        if s.dtype != w.dtype or s.ndim != 1 or s.size >= w.size:  # p.data was replaced: fit the scratch again
            s = self._scratch[i] = self._block_buffer(w)
            self._scratch2[i] = None
            if s.shape == w.shape:
                update(i, w, *arrays, s)
                return
        whole = (w, *arrays)
        if not all(a is None or a.flags.c_contiguous for a in whole):  # flat views need C order
            update(i, *whole, np.empty_like(w))
            return
        flat = [None if a is None else a.reshape(-1) for a in whole]
        n, size = s.size, w.size
        for start in range(0, size, n):
            stop = min(start + n, size)
            update(i, *(None if a is None else a[start:stop] for a in flat), s[: stop - start])

    def _zeros(self, attr: str, i: int) -> np.ndarray:
        """Parameter i's state `attr`, zeros of the parameter's shape on its first step."""
        entries = getattr(self, attr)
        a = entries[i]
        if a is None or a.shape != self.params[i].data.shape or a.dtype != self.params[i].data.dtype:
            a = entries[i] = aligned.zeros_like(self.params[i].data)
        return a

    # ----------------------------------------------------------------- a compiled step
    def compile_step(self, loss_fn: Callable[..., Any]) -> Any:
        """One training step compiled: `step = opt.compile_step(loss_fn)`, then `E = step(x, t)` does
        `zero_grad()`, `E = loss_fn(x, t)`, `E.backward()` and `step()`, with the same result bit for bit.

        The forward and backward are traced once by `ad.compile` and replayed into buffers planned
        then; the update is this optimizer's own, in place. After the first step a step allocates
        nothing beyond the loss it returns, and each `.grad` is a buffer the next step overwrites
        (copy it to keep it). See docs/compile.md.
        """
        from autodiff.compiler.step import CompiledStep

        return CompiledStep(self, loss_fn)

    #: What a compiled function that reaches this optimizer watches: its hyperparameters and
    #: parameters, not its state (which changes every step and is read afresh).
    __compile_watch__ = ("param_groups",)

    def _update_source(self, i: int, name: Callable[[Any, str], str]) -> Any:
        """For a compiled step: `_update` of parameter i written out as code, (conds, head, body, state).

        `conds` are expressions that hold while this plan does (the same flags, the same state
        arrays); `head` lines run once a step (hyperparameters read afresh from the group, step
        counts); `body` lines run on one block and read or write only the block's arrays, named
        `u{i}_w` (the parameter), `u{i}_g` (its gradient), `u{i}_s` and `u{i}_t` (scratch) and
        `u{i}_<key>` for each state array in `state` ({key: array}), which is cut into blocks as the
        parameter is. `name(obj, hint)` names an object for the code. None while the state is not
        made yet (the first step makes it); NotImplemented for an optimizer without one (the
        compiled step then calls `_step_checked()`, the same update)."""
        return NotImplemented

    # ----------------------------------------------------------------- gradients
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`.grad = None`), ready for the next backward."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (one without is left alone), after checking them all."""
        self._check_grads()
        self._step_checked()

    def _check_data(self) -> None:
        """`check_data` on every parameter with a gradient (a compiled step, before `_step_checked`)."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                check_data(p, i, f"{type(self).__name__}.step")

    def _step_checked(self) -> None:
        """`step()` without checking the gradients (a compiled step, whose gradients it made itself)."""
        moved = []
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._step_one(i, p)
                moved.append(p)
        self._stepped()
        mark_modified(moved)  # a graph recorded before this step may no longer run backward

    def _step_one(self, i: int, p: Any) -> None:
        """Move parameter i (which has a gradient) by this optimizer's rule."""
        raise NotImplementedError

    def _stepped(self) -> None:
        """After every parameter has moved (a hook for per-step bookkeeping)."""

    def _check_grads(self) -> None:
        """Every gradient must be a real array of its parameter's shape, checked before any parameter moves."""
        who = f"{type(self).__name__}.step"
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            check_data(p, i, who)
            if not isinstance(g, np.ndarray):
                raise TypeError(
                    f"{who}: parameter {i} has a .grad that is a {type(g).__name__}, not a numpy array; set .grad "
                    "to an array of the parameter's shape (or None), nothing was updated"
                )
            what = not_real(g.dtype)
            if what is not None:
                raise TypeError(
                    f"{who}: parameter {i} has a .grad of {what}, not real numbers; set .grad to a float array "
                    "(or None), nothing was updated"
                )
            if g.shape != p.data.shape:
                raise ValueError(
                    f"{who}: parameter {i} of shape {p.data.shape} has a .grad of shape {g.shape}; set .grad to "
                    "an array of the parameter's shape (or None), nothing was updated"
                )

    # ----------------------------------------------------------------- saving and resuming
    def state_dict(self) -> dict[str, Any]:
        """torch's layout: `{"state": {index: {name: array or int}}, "param_groups": [{hyper..., "params": [indices]}]}`.

        Arrays are copies; a parameter that has not been stepped has no state. Loading it into an
        optimizer over the same parameters resumes exactly where this one stands.
        """
        state: dict[int, dict[str, Any]] = {}
        for i in range(len(self.params)):
            entry = {}
            for name, attr in self._state.items():
                value = getattr(self, attr)[i]
                if value is not None:
                    entry[name] = value.copy() if isinstance(value, np.ndarray) else value
            if entry:
                state[i] = entry
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` returned, after checking all of it: groups, sizes, shapes, dtypes.

        Any mismatch raises one `ValueError` listing every problem and changes nothing.
        """
        hypers, checked = self._check_state_dict(state_dict)
        for ours, new in zip(self.param_groups, hypers):
            ours.update({k: v for k, v in new.items() if k != "params"})
        for attr in self._state.values():
            entries = getattr(self, attr)
            entries[:] = [None] * len(entries)
        for i, entry in checked.items():
            for name, value in entry.items():
                getattr(self, self._state[name])[i] = value

    def _check_state_dict(self, state_dict: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        """(each group's checked hyperparameters, {index: {name: value to store}}) for `load_state_dict`.

        The state's values may be `nn.io.npz.Header`s (what a checkpoint's entries declare), to check
        a file before reading its data; they are checked but not returned.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= state_dict.keys():
            raise TypeError(f"{owner}: expected a dict with 'state' and 'param_groups', as state_dict() returns")
        groups, state = list(state_dict["param_groups"]), state_dict["state"]
        problems = []
        if len(groups) != len(self.param_groups):
            problems.append(f"it has {len(groups)} parameter group(s), this optimizer has {len(self.param_groups)}")
        else:
            for k, (saved, ours) in enumerate(zip(groups, self.param_groups)):
                if len(saved.get("params", ())) != len(ours["params"]):
                    problems.append(f"group {k} has {len(saved.get('params', ()))} parameter(s), this one {len(ours['params'])}")
                # another optimizer's hyperparameters (SGD's momentum given to Adam) do not fit
                missing = sorted(set(self.defaults) - set(saved))
                unknown = sorted(set(saved) - set(ours) - {"params", "initial_lr"})
                if missing or unknown:
                    problems.append(f"group {k}: missing hyperparameters {missing}, unknown ones {unknown}")
        checked: dict[int, dict[str, Any]] = {}
        for key, entry in dict(state).items():
            i = int(key)
            if not 0 <= i < len(self.params):
                problems.append(f"state for parameter {key}, which this optimizer does not have")
                continue
            p = self.params[i]
            checked[i] = {}
            for name, value in dict(entry).items():
                declared = isinstance(value, Header)
                if name not in self._state:
                    problems.append(f"parameter {i}: unknown state {name!r} (expected {', '.join(self._state)})")
                elif name == "step" and declared:
                    if value.shape != () or value.dtype.kind not in "iu":
                        problems.append(f"parameter {i}: 'step' is {value.dtype} {value.shape}, not one integer")
                elif name == "step":
                    checked[i][name] = int(np.asarray(value))
                else:
                    a = value if declared else np.asarray(value)
                    if a.shape != p.data.shape or a.dtype.newbyteorder("=") != p.data.dtype:
                        problems.append(
                            f"parameter {i}: {name!r} is {a.dtype} {a.shape}, the parameter is {p.data.dtype} {p.data.shape}"
                        )
                    elif not declared:
                        checked[i][name] = np.array(a, dtype=p.data.dtype)
        if not problems:
            try:
                hypers = [self._check({**ours, **{k: v for k, v in saved.items() if k != "params"}})
                          for saved, ours in zip(groups, self.param_groups)]
            except (TypeError, ValueError) as e:
                problems.append(str(e))
        if problems:
            listed = "\n".join(f"  - {p}" for p in problems)
            raise ValueError(f"{owner}: {len(problems)} problem(s), nothing was loaded:\n{listed}")
        return hypers, checked

    def __repr__(self) -> str:
        groups = self.param_groups
        hyper_text = ", ".join(f"{k}={v}" for k, v in groups[0].items() if k != "params")
        head = f"{type(self).__name__}({len(self.params)} parameters"
        return f"{head}, {hyper_text})" if len(groups) == 1 else f"{head} in {len(groups)} groups, first: {hyper_text})"
