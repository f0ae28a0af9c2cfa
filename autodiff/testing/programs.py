"""Random programs: a Hypothesis strategy for whole computation graphs, to check gradients end to end.

A `Program` is a small straight-line Python function of Tensors, kept as its source, plus the input
arrays it was drawn for. `programs()` builds one step at a time from `OPS`, a table of
(name, builder) pairs over the public `autodiff` functions: random DAGs that reuse intermediates,
broadcast, reduce over random axes, index (basic, integer arrays with repeats, boolean masks, as
arrays and as Tensors made from bools or integers), raise to powers (zero exponents too), chain
matmuls, and take softmax / logsumexp. `programs(zero_size=True)` draws programs over inputs with
zero-length axes (sums over them, k = 0 matmuls, empty slices and joins), whose gradients must still
have every input's shape. Every step is evaluated while it is drawn, so values
stay in safe domains: log, sqrt and fractional powers only see exp-, sigmoid- or softplus-like
positive intermediates, kinks (relu, abs, clip, max, min, maximum) are kept at least `MARGIN`
away, and every value stays finite and within ±`BOUND`. Central differences are then trustworthy.

>>> from hypothesis import given, settings
>>> from autodiff.testing import gradcheck, programs
>>> @settings(max_examples=3, derandomize=True, database=None)
... @given(programs.programs(max_steps=4))
... def test_gradients(program):
...     assert gradcheck(program, *program.tensors())
>>> test_gradients()

`repr(program)` is a runnable script, so a failure Hypothesis reports can be pasted into a test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import autodiff as ad
from autodiff.extras import require
from autodiff.grad_mode import no_grad
from autodiff.tensor import Tensor

require(["hypothesis"], "testing", "autodiff.testing.programs")  # a clear MissingExtra line, not a bare ModuleNotFoundError

from hypothesis import strategies as st  # noqa: E402 (after the check)
from hypothesis.extra import numpy as hnp  # noqa: E402

#: Every intermediate value stays within ±BOUND ...
BOUND = 20.0
#: ... and at least MARGIN away from the kink of any kinked op applied to it.
MARGIN = 0.05
#: No intermediate holds more elements than this (finite differences cost two runs per input element).
MAX_SIZE = 48

Shape = tuple[int, ...]


# ---------------------------------------------------------------------------- the program
def _literal(a: np.ndarray) -> str:
    """`a` as exact Python source (floats by repr, so the value round-trips)."""
    if a.size == 0:  # tolist() would lose the shape
        kind = {"b": "bool", "i": "np.intp", "u": "np.intp"}.get(a.dtype.kind)
        return f"np.zeros({a.shape!r}{f', dtype={kind}' if kind else ''})"
    if a.dtype == bool:
        return f"np.array({a.tolist()!r}, dtype=bool)"
    if a.dtype.kind in "iu":
        return f"np.array({a.tolist()!r}, dtype=np.intp)"
    return f"np.array({a.tolist()!r})"


@dataclass
class Program:
    """`f(*tensors) -> tuple of Tensors`, written as Python source over `ad`, and inputs to run it on.

    `source` defines constants `c0, c1, …` (ndarrays) and `def f(x0, x1, …)`; float constants take
    the dtype of the first input, so a float32 program stays float32. Calling the program runs
    `f`; `tensors()` gives fresh input Tensors; `repr` is a self-contained script.
    """

    source: str
    inputs: list[np.ndarray]
    ops: tuple[str, ...] = ()  # the op builders used, for statistics
    fn: Callable[..., Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        namespace: dict[str, Any] = {"np": np, "ad": ad}
        exec(compile(self.source, "<program>", "exec"), namespace)
        self.fn = namespace["f"]

    def __call__(self, *tensors: Any) -> tuple[Tensor, ...]:
        return self.fn(*tensors)

    def tensors(self, dtype: Any = np.float64, requires_grad: bool = True) -> list[Tensor]:
        """Fresh leaf Tensors holding copies of the inputs, named x0, x1, …"""
        return [Tensor(a, requires_grad=requires_grad, dtype=dtype, name=f"x{i}") for i, a in enumerate(self.inputs)]

    @property
    def size(self) -> int:
        """Number of steps (lines of `f` other than the return)."""
        return self.source.count("\n    v")

    def __repr__(self) -> str:
        arrays = ",\n    ".join(_literal(a) for a in self.inputs)
        return (
            "import numpy as np\nimport autodiff as ad\n\n"
            f"{self.source}\n"
            f"inputs = [\n    {arrays},\n]\n"
            "outputs = f(*[ad.Tensor(a, requires_grad=True) for a in inputs])\n"
        )


# ---------------------------------------------------------------------------- drawing one
class Builder:
    """The program being drawn: its values (evaluated as they are added), constants and inputs."""

    def __init__(self, draw: Any, max_inputs: int, max_input_size: int, allow_empty: bool = False) -> None:
        self.draw = draw
        self.max_inputs = max_inputs
        self.max_input_size = max_input_size
        self.allow_empty = allow_empty  # values with a zero-length axis may be made and used
        self.inputs: list[np.ndarray] = []
        self.consts: list[np.ndarray] = []
        self.names: list[str] = []  # value names in order: x0, v1, …
        self.values: list[np.ndarray] = []  # their float64 values
        self.lines: list[str] = []
        self.used: set[str] = set()
        self.env: dict[str, Any] = {"np": np, "ad": ad}

    # ------------------------------------------------------------ values
    def input(self, shape: Shape, elements: st.SearchStrategy[float] | None = None) -> str | None:
        """A new input of `shape` (None once the inputs are used up)."""
        size = int(np.prod(shape))
        if len(self.inputs) >= self.max_inputs or sum(a.size for a in self.inputs) + size > self.max_input_size:
            return None
        a = self.draw(hnp.arrays(np.float64, shape, elements=_reals() if elements is None else elements))
        name = f"x{len(self.inputs)}"
        self.inputs.append(a)
        self.env[name] = Tensor(a)
        self.names.append(name)
        self.values.append(a)
        return name

    def operand(self, shape: Shape, elements: st.SearchStrategy[float] | None = None) -> str:
        """Something of `shape` to combine with: a new input if there is room, else a constant."""
        name = self.input(shape, elements) if self.draw(st.booleans()) else None
        return name or self.const(self.draw(hnp.arrays(np.float64, shape, elements=_reals() if elements is None else elements)))

    def const(self, a: np.ndarray) -> str:
        """Source for the constant `a`: float arrays in the program's dtype, masks and indices as they are."""
        name = f"c{len(self.consts)}"
        self.consts.append(a)
        self.env[name] = a
        return f"np.asarray({name}, x0.dtype)" if a.dtype.kind == "f" else name

    def pick(self, ok: Callable[[np.ndarray], bool] = lambda v: True, empty: bool = False) -> str | None:
        """A value satisfying `ok`: recent ones are likelier (and what Hypothesis shrinks to).

        Values without elements are offered only to builders that say they handle them (`empty`):
        most value tests (`v.min() > 0`) have no answer for them.
        """
        good = [n for n, v in zip(self.names, self.values) if (v.size or empty) and ok(v)]
        if not good:
            return None
        return good[-1 - self.draw(st.integers(0, len(good) - 1))]

    def value(self, name: str) -> np.ndarray:
        return self.values[self.names.index(name)]

    def eval(self, expr: str) -> np.ndarray:
        """The value of `expr` (a value's name, a constant's source or a number), not recorded."""
        with no_grad():
            out = eval(expr, self.env)
        return np.asarray(out.data if isinstance(out, Tensor) else out)

    def emit(self, expr: str) -> str | None:
        """Evaluate `expr` on the values so far and keep it as a step, unless its value is unsafe."""
        with no_grad(), np.errstate(all="ignore"):
            out = eval(expr, self.env)
        v = out.data
        if not (0 < v.size or self.allow_empty) or v.size > MAX_SIZE:
            return None
        if not np.isfinite(v).all() or (v.size and np.abs(v).max() > BOUND):
            return None
        name = f"v{len(self.names)}"
        self.env[name] = out
        self.names.append(name)
        self.values.append(v)
        self.lines.append(f"    {name} = {expr}")
        for n in self.names[:-1]:
            if _mentions(expr, n):
                self.used.add(n)
        return name

    def program(self, ops: Sequence[str], max_outputs: int) -> Program:
        steps = [n for n in self.names if n.startswith("v")]
        sinks = [n for n in steps if n not in self.used] or [self.names[-1]]
        outputs = sinks[-max_outputs:]
        consts = "".join(f"c{i} = {_literal(a)}\n" for i, a in enumerate(self.consts))
        args = ", ".join(f"x{i}" for i in range(len(self.inputs)))
        body = "\n".join(self.lines)
        source = f"{consts}\n\ndef f({args}):\n{body}\n    return ({', '.join(outputs)},)\n".lstrip("\n")
        return Program(source, list(self.inputs), tuple(ops))


def _mentions(expr: str, name: str) -> bool:
    import re

    return re.search(rf"\b{name}\b", expr) is not None


def _reals(lo: float = -2.0, hi: float = 2.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _axis(b: Builder, ndim: int, single: bool = False) -> Any:
    if single:
        return b.draw(st.integers(-ndim, ndim - 1))
    return b.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1), hnp.valid_tuple_axes(ndim, min_size=1)))


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _broadcastable(a: Shape, b: Shape) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _away(v: np.ndarray, *kinks: float) -> bool:
    return all(np.abs(v - k).min() > MARGIN for k in kinks)


# ---------------------------------------------------------------------------- the op builders
# Each builder draws one step (or a few) onto the builder and returns the new value's name, or
# None when nothing suitable is at hand. A builder may add steps before its own (a positive
# intermediate for log, a new weight matrix for matmul).
def _unary(fn: str, method: str | None = None) -> Callable[[Builder], str | None]:
    def build(b: Builder) -> str | None:
        x = b.pick(empty=True)
        if method and b.draw(st.booleans()):
            return b.emit(f"{x}.{method}()")
        return b.emit(f"ad.{fn}({x})")

    return build


POSITIVIZERS = (
    "ad.exp({x})",
    "ad.sigmoid({x})",
    "{x} * {x} + 0.5",
    "ad.log(1.0 + ad.exp({x}))",  # softplus
    "ad.softmax({x}, axis=-1)",
)


def _positive(b: Builder, lo: float = 0.1) -> str | None:
    """A value > lo: an existing one, or one made positive (exp, sigmoid, softplus, x² + ½, softmax)."""
    x = b.pick(lambda v: v.min() > lo) if b.draw(st.booleans()) else None
    if x is not None:
        return x
    x = b.pick(lambda v: np.abs(v).max() < 3)
    if x is None:
        return None
    form = b.draw(st.sampled_from(POSITIVIZERS if b.value(x).ndim else POSITIVIZERS[:-1]))
    y = b.emit(form.format(x=x))
    return y if y is not None and b.value(y).min() > lo else None


def _log_like(fn: str) -> Callable[[Builder], str | None]:
    def build(b: Builder) -> str | None:
        x = _positive(b)
        return None if x is None else b.emit(f"ad.{fn}({x})" if b.draw(st.booleans()) else f"{x}.{fn}()")

    return build


def _pow(b: Builder) -> str | None:
    kind = b.draw(st.sampled_from(["scalar", "tensor", "rpow", "zero", "rpow-zero"]))
    if kind == "rpow":
        x = b.pick(lambda v: np.abs(v).max() < 3)
        return None if x is None else b.emit(f"{b.draw(st.sampled_from([0.5, 2.0, 3.0]))} ** {x}")
    if kind == "rpow-zero":  # 0ˣ = 0 for every x > 0: its slope is 0, not 0 · ln 0
        x = b.pick(lambda v: v.min() > MARGIN)
        return None if x is None else b.emit(f"0.0 ** {x}" if b.draw(st.booleans()) else f"ad.pow(0.0, {x})")
    if kind == "zero":
        return _zero_power(b)
    base = _positive(b, 0.2)
    if base is None:
        return None
    if kind == "scalar":
        return b.emit(f"{base} ** {b.draw(st.sampled_from([2, 3, 0.5, -1.0, 1.5, -0.5, 0, 0.0]))!r}")
    shape = b.value(base).shape
    e = b.pick(lambda v: _broadcastable(v.shape, shape) and np.abs(v).max() < 2)
    return None if e is None else b.emit(f"ad.pow({base}, {e})" if b.draw(st.booleans()) else f"{base} ** {e}")


def _zero_power(b: Builder) -> str | None:
    """x⁰ on any x, or x^e with whole exponents e ∈ {0, 1, 2}, on bases that may hold exact zeros
    (x ⊙ a 0/1 constant): 0⁰ = 1 is flat in the base, so its slope there is 0, not 0 · 0⁻¹."""
    x = b.pick()
    if x is None:
        return None
    if b.draw(st.booleans()):
        keep = b.draw(hnp.arrays(np.float64, b.value(x).shape, elements=st.sampled_from([0.0, 1.0])))
        x = b.emit(f"{x} * {b.const(keep)}")
        if x is None:
            return None
    if b.draw(st.booleans()):
        return b.emit(f"{x} ** {b.draw(st.sampled_from(['0', '0.0']))}")
    shape = b.draw(hnp.broadcastable_shapes(b.value(x).shape, max_dims=b.value(x).ndim, max_side=3))
    e = b.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 2.0])))
    return b.emit(f"ad.pow({x}, {b.const(e)})")


def _anything(v: np.ndarray) -> bool:
    return True


def _other(b: Builder, x: str, ok: Callable[[np.ndarray], bool] = _anything) -> str | None:
    """A second operand for x: a value it broadcasts with, a Python scalar, or a new input or constant."""
    shape = b.value(x).shape
    kind = b.draw(st.sampled_from(["value", "value", "scalar", "new"]))
    if kind == "value":
        y = b.pick(lambda v: _broadcastable(v.shape, shape) and ok(v), empty=ok is _anything)
        if y is not None:
            return y
    if kind == "scalar":
        s = b.draw(st.sampled_from([1.5, -0.75, 2.0, 0.5, 3]))
        return repr(s)
    other = b.draw(hnp.broadcastable_shapes(shape, max_dims=max(len(shape), 1) + 1, max_side=3))
    if int(np.prod(np.broadcast_shapes(shape, other))) > MAX_SIZE:
        other = shape
    y = b.operand(other)
    return y if ok(b.eval(y)) else None


def _binary(symbol: str, fn: str, ok_b: Callable[[np.ndarray], bool] | None = None) -> Callable[[Builder], str | None]:
    def build(b: Builder) -> str | None:
        x = b.pick(empty=ok_b is None)
        if x is None:
            return None
        y = _other(b, x, ok_b or _anything)
        if y is None:
            return None
        # a constant or a scalar on either side (the reflected operators), unless it is a divisor
        left, right = (y, x) if ok_b is None and b.draw(st.booleans()) else (x, y)
        if b.draw(st.booleans()) and not (_is_number(left) and _is_number(right)):
            return b.emit(f"{left} {symbol} {right}")
        return b.emit(f"ad.{fn}({left}, {right})")

    return build


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _kinked_unary(b: Builder) -> str | None:
    kind = b.draw(st.sampled_from(["relu", "abs", "clip"]))
    if kind == "clip":
        lo, hi = b.draw(st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.0, 2.0)]))
        kinks = [k for k in (lo, hi) if k is not None]
        x = b.pick(lambda v: _away(v, *kinks))
        if x is None:
            return None
        return b.emit(f"ad.clip({x}, {lo}, {hi})" if b.draw(st.booleans()) else f"{x}.clip({lo}, {hi})")
    x = b.pick(lambda v: _away(v, 0.0))
    if x is None:
        return None
    return b.emit(f"ad.{kind}({x})" if b.draw(st.booleans()) else f"{x}.{kind}()")


def _extremum(b: Builder) -> str | None:
    fn = b.draw(st.sampled_from(["maximum", "minimum"]))
    x = b.pick()
    if x is None:
        return None
    xv = b.value(x)
    y = b.pick(lambda v: _broadcastable(v.shape, xv.shape) and np.abs(v - xv).min() > MARGIN)
    if y is None:
        y = b.operand(xv.shape)
        if np.abs(b.eval(y) - xv).min() <= MARGIN:
            return None
    return b.emit(f"ad.{fn}({x}, {y})")


def _reduce(b: Builder) -> str | None:
    fn = b.draw(st.sampled_from(["sum", "mean", "logsumexp", "max", "min"]))
    x = b.pick(lambda v: v.ndim > 0, empty=True) if b.draw(st.integers(0, 3)) else b.pick(empty=True)
    if x is None:
        return None
    v = b.value(x)
    axis = _axis(b, v.ndim) if v.ndim else None
    if fn != "sum" and any(v.shape[a] == 0 for a in _axes(axis, v.ndim)):
        return None  # only a sum is defined over no values (it is 0)
    if fn in ("max", "min") and v.size:
        # the extreme must be unique along the reduced axes, by MARGIN: no tie, no kink
        moved = np.moveaxis(v, _axes(axis, v.ndim), tuple(range(-len(_axes(axis, v.ndim)), 0))) if v.ndim else v
        flat = np.sort(moved.reshape(*moved.shape[: moved.ndim - len(_axes(axis, v.ndim))], -1), axis=-1)
        if flat.shape[-1] > 1 and (np.diff(flat, axis=-1)[..., [0, -1]].min() <= MARGIN):
            return None
    keepdims = b.draw(st.booleans())
    if b.draw(st.booleans()):
        return b.emit(f"{x}.{fn}(axis={axis!r}, keepdims={keepdims})")
    return b.emit(f"ad.{fn}({x}, axis={axis!r}, keepdims={keepdims})")


def _softmax(b: Builder) -> str | None:
    fn = b.draw(st.sampled_from(["softmax", "log_softmax"]))
    x = b.pick(lambda v: v.ndim > 0, empty=True)
    if x is None:
        return None
    axis = _axis(b, b.value(x).ndim, single=True)
    if b.value(x).shape[axis] == 0:
        return None  # a softmax over no values is an error
    return b.emit(f"ad.{fn}({x}, axis={axis})" if b.draw(st.booleans()) else f"{x}.{fn}({axis})")


def _reshape(b: Builder) -> str | None:
    x = b.pick(empty=True)
    shape = b.value(x).shape
    size = int(np.prod(shape))
    target = b.draw(st.sampled_from([(-1,), (1, -1), tuple(reversed(shape)), (size, 1), (*shape, 1), (1, *shape)]))
    return b.emit(f"{x}.reshape{target!r}" if len(target) > 1 else f"ad.reshape({x}, {target!r})")


def _transpose(b: Builder) -> str | None:
    x = b.pick(lambda v: v.ndim > 1, empty=True)
    if x is None:
        return None
    ndim = b.value(x).ndim
    if b.draw(st.booleans()):
        return b.emit(f"{x}.T")
    axes = tuple(b.draw(st.permutations(range(ndim))))
    return b.emit(f"{x}.transpose{axes!r}" if b.draw(st.booleans()) else f"ad.transpose({x}, *{axes!r})")


def _getitem(b: Builder) -> str | None:
    x = b.pick(lambda v: v.ndim > 0, empty=True)
    if x is None:
        return None
    shape = b.value(x).shape
    kind = b.draw(st.sampled_from(["basic", "integer", "mask"]))
    if kind == "basic":
        index = b.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
        if b.value(x)[index].size == 0 and not b.allow_empty:
            return None
        return b.emit(f"{x}[{index!r}]")
    if kind == "integer":
        if 0 in shape:
            return None  # no index fits an empty axis
        # repeated indices are likely: their gradients must add up
        index = b.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4)))
        names = [_as_index_tensor(b, b.const(i.astype(np.intp))) for i in index]
        return b.emit(f"{x}[{', '.join(names)}]" if len(names) > 1 else f"{x}[{names[0]}]")
    mask = b.draw(hnp.arrays(bool, shape))
    if not mask.any() and not b.allow_empty:
        return None
    return b.emit(f"{x}[{_as_index_tensor(b, b.const(mask))}]")


def _as_index_tensor(b: Builder, const: str) -> str:
    """An index array as it is, or as a Tensor made from it: a mask Tensor selects, an integer one indexes."""
    return f"ad.Tensor({const})" if b.draw(st.booleans()) else const


def _broadcast_to(b: Builder) -> str | None:
    x = b.pick(empty=True)
    shape = b.value(x).shape
    other = b.draw(hnp.broadcastable_shapes(shape, max_dims=len(shape) + 1, max_side=3))
    target = np.broadcast_shapes(shape, other)
    return b.emit(f"ad.broadcast_to({x}, {target!r})")


def _join(b: Builder) -> str | None:
    fn = b.draw(st.sampled_from(["concatenate", "stack"]))
    x = b.pick(lambda v: v.ndim > 0, empty=True) if fn == "concatenate" else b.pick(empty=True)
    if x is None:
        return None
    shape = b.value(x).shape
    if fn == "stack":
        axis = b.draw(st.integers(-len(shape) - 1, len(shape)))
        parts = [x] + [b.pick(lambda v: v.shape == shape, empty=True) for _ in range(b.draw(st.integers(1, 2)))]
    else:
        axis = b.draw(st.integers(-len(shape), len(shape) - 1))
        k = axis % len(shape)

        def fits(v: np.ndarray) -> bool:
            return v.ndim == len(shape) and v.shape[:k] == shape[:k] and v.shape[k + 1:] == shape[k + 1:]

        parts = [x] + [b.pick(fits, empty=True) for _ in range(b.draw(st.integers(1, 2)))]
    return b.emit(f"ad.{fn}([{', '.join(parts)}], axis={axis})")  # often x with itself: reuse


def _where(b: Builder) -> str | None:
    x = b.pick(empty=True)
    y = _other(b, x)
    if y is None:
        return None
    shape = np.broadcast_shapes(b.value(x).shape, b.eval(y).shape)
    cond_shape = b.draw(hnp.broadcastable_shapes(shape, max_dims=len(shape), max_side=3))
    cond = b.draw(hnp.arrays(bool, cond_shape))
    return b.emit(f"ad.where({b.const(cond)}, {x}, {y})")


def _matmul(b: Builder) -> str | None:
    """x @ W₁ @ W₂ …: a chain of 1–3 matrices, each a new input (a weight), a constant or a value."""
    x = b.pick(lambda v: v.ndim > 0, empty=True)
    if x is None:
        return None
    out = x
    for _ in range(b.draw(st.integers(1, 3))):
        shape = b.value(out).shape
        k = shape[-1]
        if b.draw(st.booleans()) and len(shape) >= 1:
            # a value of the right shape, when one exists: x @ x.T-like reuse
            w = b.pick(lambda v, k=k: v.ndim == 2 and v.shape[0] == k, empty=True)
        else:
            w = None
        if w is None:
            n = b.draw(st.sampled_from([1, 2, 3]) if b.draw(st.integers(0, 4)) else st.just(0))
            w = b.operand((k,) if n == 0 else (k, n), _reals(-1.0, 1.0))
        left = b.draw(st.integers(0, 5)) == 0 and len(shape) >= 2
        if left:  # W @ x instead: needs W of shape (m, shape[-2])
            m = b.draw(st.integers(1, 3))
            w = b.operand((m, shape[-2]), _reals(-1.0, 1.0))
            nxt = b.emit(f"{w} @ {out}" if b.draw(st.booleans()) else f"ad.matmul({w}, {out})")
        else:
            nxt = b.emit(f"{out} @ {w}" if b.draw(st.booleans()) else f"ad.matmul({out}, {w})")
        if nxt is None:
            break
        out = nxt
        if b.value(out).ndim == 0:
            break
    return None if out == x else out


def _div_ok(v: np.ndarray) -> bool:
    return np.abs(v).min() > 0.25


#: The op builders, by name: each draws one step (sometimes with a helper step before it).
OPS: list[tuple[str, Callable[[Builder], str | None]]] = [
    ("add", _binary("+", "add")),
    ("sub", _binary("-", "sub")),
    ("mul", _binary("*", "mul")),
    ("div", _binary("/", "div", _div_ok)),
    ("pow", _pow),
    ("neg", lambda b: b.emit(f"-{b.pick(empty=True)}") if b.draw(st.booleans()) else b.emit(f"ad.neg({b.pick(empty=True)})")),
    ("matmul", _matmul),
    ("exp", lambda b: (lambda x: None if x is None else b.emit(f"ad.exp({x})"))(b.pick(lambda v: v.max() < 2.5))),
    ("log", _log_like("log")),
    ("sqrt", _log_like("sqrt")),
    ("tanh", _unary("tanh", "tanh")),
    ("sigmoid", _unary("sigmoid", "sigmoid")),
    ("sin", _unary("sin", "sin")),
    ("cos", _unary("cos", "cos")),
    ("relu/abs/clip", _kinked_unary),
    ("maximum/minimum", _extremum),
    ("reduction", _reduce),
    ("softmax", _softmax),
    ("reshape", _reshape),
    ("transpose", _transpose),
    ("getitem", _getitem),
    ("broadcast_to", _broadcast_to),
    ("concatenate/stack", _join),
    ("where", _where),
]

OP_NAMES = tuple(name for name, _ in OPS)


@st.composite
def programs(
    draw: Any,
    max_inputs: int = 4,
    max_steps: int = 10,
    min_steps: int = 2,
    max_side: int = 3,
    max_input_size: int = 40,
    max_outputs: int = 3,
    ops: Sequence[str] | None = None,
    zero_size: bool = False,
) -> Program:
    """Random programs of `min_steps` to `max_steps` steps over 1 to `max_inputs` inputs (see the module docstring).

    The first inputs get mutually broadcastable shapes (sides up to `max_side`); later ones
    appear as the program needs them (weights of a matmul, the other operand of a binary op),
    at most `max_input_size` input elements in all. `ops` restricts the builders to those names
    (see `OP_NAMES`). The program returns its last `max_outputs` values that no later step used.
    With `zero_size`, one of the first inputs has a zero-length axis, and steps may make and use
    values without elements (the builders that can: elementwise, sums, matmul, shape ops).
    """
    table = dict(OPS)
    names = list(OP_NAMES if ops is None else ops)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"programs: unknown ops {unknown}; choose from {', '.join(OP_NAMES)}")
    b = Builder(draw, max_inputs, max_input_size, allow_empty=zero_size)
    n_first = draw(st.integers(1, min(2, max_inputs)))
    first = hnp.mutually_broadcastable_shapes(
        num_shapes=n_first, min_dims=1 if zero_size else 0, max_dims=3, min_side=0 if zero_size else 1, max_side=max_side
    )
    if zero_size:
        first = first.filter(lambda s: any(0 in shape for shape in s.input_shapes))
    shapes = draw(first).input_shapes
    for shape in shapes:
        b.input(shape)
    if not b.inputs:
        b.input(())
    used: list[str] = []
    target = draw(st.integers(min(min_steps, max_steps), max_steps))
    attempts = 0
    while len(b.lines) < target and attempts < 4 * max_steps:
        attempts += 1
        name = draw(st.sampled_from(names))
        before = len(b.lines)
        table[name](b)
        if len(b.lines) > before:
            used.append(name)
    if not b.lines:
        b.emit(f"ad.tanh({b.names[0]})")
        used.append("tanh")
    return b.program(used, max_outputs)
