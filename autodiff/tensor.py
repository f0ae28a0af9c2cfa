"""The Tensor: an ndarray that remembers which op made it, so `backward()` can apply the chain rule."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from autodiff.dtypes import source_array, to_array
from autodiff.grad_mode import state as _grad_state
from autodiff.grad_mode import state as _state
from autodiff.size import Size


def _read_as_number(how: str) -> None:
    """Inside ad.compile's trace, a value read as a Python number may steer the function: a replay
    could not follow, so the compiled function runs eagerly."""
    from autodiff.tracing import not_traceable

    not_traceable(f"it reads a value as a number ({how}), and a replay would reuse the first call's")


# A Tensor's values are floats, but one made from bools or integers remembers which, so that it
# indexes as a mask or as indices, as PyTorch's bool and long tensors do.
_INDEX_KINDS = {"b": "b", "i": "i", "u": "i"}


class Tensor:
    """A floating-point array that records the computation graph for reverse-mode differentiation.

    `data` is the ndarray; `grad` collects ∂E/∂(this tensor) after `backward()` (leaves only);
    `_op`, `_parents`, `_saved` record how a tensor was made while recording (None, (), () for a
    leaf).

    >>> import autodiff as ad
    >>> x = ad.Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.]])
    """

    # A recorded result keeps the op that made it, its parents (None for a constant operand) and
    # what the op saved for its VJPs, in three slots rather than one tuple: one object fewer per
    # node for the cyclic GC to track. `_index_kind` ("b" or "i") is set only on tensors made
    # from bools or integers (see `getitem`); `_version` on a recorded result is the count of
    # in-place writes when it was recorded, on a leaf the count at its last in-place write (set
    # only then: read both with getattr where a tensor may lack them). See `mark_modified`.
    __slots__ = (
        "__weakref__", "_hooks", "_index_kind", "_op", "_parents", "_saved", "_version", "data", "grad", "name",
        "requires_grad",
    )

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        source = source_array(data)
        self.data = to_array(source, dtype)
        kind = getattr(data, "_index_kind", None) if isinstance(data, Tensor) else _INDEX_KINDS.get(source.dtype.kind)
        if kind is not None:
            self._index_kind = kind
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._op = None
        self._parents = ()
        self._saved = ()
        self._hooks = None
        if _state.tracer is not None:  # made inside a function being compiled: a replay could not remake it
            _state.tracer.made(self)

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements, an attribute as in NumPy (calling it, PyTorch-style, says so)."""
        return Size(self.data.size)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors no recorded op produced: the ones whose `.grad` backward fills."""
        return self._op is None

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor while recording, or None for a leaf."""
        return None if self._op is None else self._op.name

    @property
    def _ctx(self) -> tuple | None:
        """`(op, parents, saved)` for a recorded result, None for a leaf (for tools, not hot paths)."""
        return None if self._op is None else (self._op, self._parents, self._saved)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        if _state.tracer is not None:
            _read_as_number("item()")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, with no history and no grad (a mask stays a mask)."""
        t = _const(self.data)
        kind = getattr(self, "_index_kind", None)
        if kind is not None:
            t._index_kind = kind
        return t

    def backward(self, grad: Any = None) -> None:
        """Back-propagate from this tensor: accumulate ∂self/∂leaf into every leaf's `.grad`.

        Walks the recorded graph once in reverse topological order, without recursion. Each op
        turns the gradient of its output δ_out into gradients of its inputs (for a unit z = g(a):
        δ_a = g'(a) ⊙ δ_out), and a tensor used several times sums what flows back to it, as in
        the general backprop rule δ_j = g'(a_j) Σ_k w_kj δ_k. `grad` (the seed δ, of exactly
        `self.shape`) may be omitted only for a one-element tensor, where it is 1.

        >>> import autodiff as ad
        >>> w = ad.Tensor([3.0], requires_grad=True)
        >>> (w * w).backward()
        >>> w.grad
        array([6.])
        """
        from autodiff.backward import backward

        backward(self, grad)

    def register_hook(self, fn: Any) -> Any:
        """Call `fn(g)` with the gradient reaching this tensor in backward; a non-None result replaces it.

        Returns a handle whose `remove()` unregisters the hook.
        """
        from autodiff.backward import register_hook

        return register_hook(self, fn)

    # ----------------------------------------------------------------- Python protocol
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype != np.float64:
            extra += f", dtype={self.data.dtype}"
        if self._op is not None:
            extra += f", op={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name is not None:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self.requires_grad and _grad_state.enabled:
            # np.asarray(t), np.array([x, x * x]), np.r_[...]: NumPy would keep the values and drop the graph.
            raise RuntimeError(
                "np.asarray/np.array on a Tensor that requires grad would drop its graph (no gradient would "
                "flow back): call an autodiff op instead, or take the values without a gradient with "
                "t.detach() or t.data (as PyTorch's .numpy() asks for .detach())"
            )
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        if _state.tracer is not None:
            _read_as_number("bool()")
        return bool(self.data)

    # Identity hashing, so tensors can be dict keys and set members (backward relies on it).
    # `==` compares values (below) but a dict or set never calls it: distinct live objects never
    # share an identity hash, and the same object matches by identity first.
    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol: Any) -> tuple:
        return reduce_tensor(self)

    def __copy__(self) -> Tensor:
        return copy_tensor(self)

    # ----------------------------------------------------------------- NumPy (autodiff.numpy_api)
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # ndarray (op) Tensor comes here too, and so to our op, not to an object array.
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return array_function(func, types, args, kwargs)

    # ----------------------------------------------------------------- comparisons: boolean ndarrays, no graph
    def __lt__(self, other: Any) -> Any:
        return compare(np.less, self, other)

    def __le__(self, other: Any) -> Any:
        return compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Any:
        return compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Any:
        return compare(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> Any:
        return compare(np.equal, self, other)

    def __ne__(self, other: Any) -> Any:
        return compare(np.not_equal, self, other)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __neg__(self) -> Tensor:
        return neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return abs(self)

    def astype(self, dtype: Any, copy: bool = True) -> Tensor:
        """This tensor in another floating-point dtype (differentiable; gradients come back in ours).

        `copy` is there for NumPy's signature: the result is a new Tensor either way."""
        return astype(self, dtype)

    # ----------------------------------------------------------------- elementwise
    def exp(self) -> Tensor:
        return exp(self)

    def log(self) -> Tensor:
        return log(self)

    def sqrt(self) -> Tensor:
        return sqrt(self)

    def abs(self) -> Tensor:
        return abs(self)

    def tanh(self) -> Tensor:
        return tanh(self)

    def sigmoid(self) -> Tensor:
        return sigmoid(self)

    def relu(self) -> Tensor:
        return relu(self)

    def sin(self) -> Tensor:
        return sin(self)

    def cos(self) -> Tensor:
        return cos(self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        return clip(self, lo, hi)

    def erf(self) -> Tensor:
        return erf(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return leaky_relu(self, negative_slope)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        return softplus(self, beta, threshold)

    def gelu(self, approximate: str = "none") -> Tensor:
        return gelu(self, approximate)

    # ----------------------------------------------------------------- reductions
    # `**torch_names`: PyTorch's dim=/keepdim=, renamed by the op (autodiff.op.TORCH_NAMES).
    def sum(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return sum(self, axis=axis, keepdims=keepdims, **torch_names)

    def mean(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return mean(self, axis=axis, keepdims=keepdims, **torch_names)

    def max(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return max(self, axis=axis, keepdims=keepdims, **torch_names)

    def min(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return min(self, axis=axis, keepdims=keepdims, **torch_names)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return logsumexp(self, axis=axis, keepdims=keepdims, **torch_names)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        return reshape(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        return transpose(self, *axes)

    @property
    def T(self) -> Tensor:
        return transpose(self)

    def __getitem__(self, index: Any) -> Tensor:
        return getitem(self, index)

    # ----------------------------------------------------------------- shape, indexing, linear algebra (issue 24)
    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _ops.flatten(self, start_dim, end_dim)

    def ravel(self) -> Tensor:
        return _ops.ravel(self)

    def view(self, *shape: Any) -> Tensor:
        return _ops.view(self, *shape)

    def squeeze(self, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.squeeze(self, axis=axis, **torch_names)

    def unsqueeze(self, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.unsqueeze(self, axis=axis, **torch_names)

    def expand(self, *sizes: Any) -> Tensor:
        return _ops.expand(self, *sizes)

    def expand_as(self, other: Any) -> Tensor:
        return _ops.broadcast_to(self, other.shape)

    def permute(self, *axes: Any) -> Tensor:
        return _ops.permute(self, *axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _ops.swapaxes(self, axis1, axis2)

    def moveaxis(self, source: Any, destination: Any) -> Tensor:
        return _ops.moveaxis(self, source, destination)

    def repeat(self, repeats: Any, *sizes: Any, axis: Any = None, **torch_names: Any) -> Tensor:
        """NumPy's `repeat` (each element `repeats` times along `axis`), not PyTorch's (which tiles:
        use `tile`). Where the two would silently differ, a clear error asks which one is meant."""
        if sizes or (isinstance(repeats, (tuple, list)) and axis is None and not torch_names):
            raise TypeError(
                "Tensor.repeat is NumPy's (each element repeated along axis=); PyTorch's x.repeat(*sizes) tiles "
                "whole blocks: use x.tile(sizes), or x.repeat(n, axis=k) for NumPy's"
            )
        if axis is None and not torch_names and self.ndim == 1 and self.shape[0] > 1:
            raise TypeError(
                "x.repeat(n) on a 1-D tensor: NumPy repeats each element ([a, a, b, b]), PyTorch tiles ([a, b, a, b]); "
                "say which: x.repeat(n, axis=0) (NumPy) or x.tile(n) (PyTorch)"
            )
        return _ops.repeat(self, repeats, axis=axis, **torch_names)

    def repeat_interleave(self, repeats: Any, dim: Any = None) -> Tensor:
        return _ops.repeat(self, repeats, axis=dim)

    def tile(self, *reps: Any) -> Tensor:
        return _ops.tile(self, reps[0] if len(reps) == 1 else reps)

    def flip(self, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.flip(self, axis=axis, **torch_names)

    def roll(self, shift: Any, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.roll(self, shift, axis=axis, **torch_names)

    def take(self, indices: Any, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.take(self, indices, axis=axis, **torch_names)

    def gather(self, dim: int, index: Any) -> Tensor:
        return _ops.gather(self, dim, index)

    def tril(self, k: int = 0, **torch_names: Any) -> Tensor:
        return _ops.tril(self, k, **torch_names)

    def triu(self, k: int = 0, **torch_names: Any) -> Tensor:
        return _ops.triu(self, k, **torch_names)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1, **torch_names: Any) -> Tensor:
        return _ops.diagonal(self, offset, axis1, axis2, **torch_names)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return _ops.trace(self, offset, axis1, axis2)

    def sort(self, axis: Any = -1, descending: bool = False, **torch_names: Any) -> Any:
        """PyTorch's Tensor.sort: (values, indices) (NumPy's ndarray.sort sorts in place, which a
        recorded Tensor cannot); `ad.sort(x)` gives the values alone, as np.sort."""
        if torch_names:
            axis = torch_names.pop("dim", axis)
        return _ops.sort_with_indices(self, axis, descending, **torch_names)

    def argsort(self, axis: Any = -1, descending: bool = False, **torch_names: Any) -> Any:
        return _ops.argsort(self, axis=axis, descending=descending, **torch_names)

    def dot(self, other: Any) -> Tensor:
        return _ops.dot(self, other)

    def outer(self, other: Any) -> Tensor:
        return _ops.outer(self, other)

    def kron(self, other: Any) -> Tensor:
        return _ops.kron(self, other)

    def matrix_power(self, n: int) -> Tensor:
        from autodiff.linalg import matrix_power

        return matrix_power(self, n)

    def det(self) -> Tensor:
        return _ops.det(self)

    def inverse(self) -> Tensor:
        return _ops.inv(self)

    # ----------------------------------------------------------------- neural
    def softmax(self, axis: int = -1, **torch_names: Any) -> Tensor:
        return softmax(self, axis=axis, **torch_names)

    def log_softmax(self, axis: int = -1, **torch_names: Any) -> Tensor:
        return log_softmax(self, axis=axis, **torch_names)

    # ----------------------------------------------------------------- more math (issue 24, the op surface: autodiff.ops)
    def log1p(self) -> Tensor:
        return _ops.log1p(self)

    def expm1(self) -> Tensor:
        return _ops.expm1(self)

    def log2(self) -> Tensor:
        return _ops.log2(self)

    def log10(self) -> Tensor:
        return _ops.log10(self)

    def exp2(self) -> Tensor:
        return _ops.exp2(self)

    def square(self) -> Tensor:
        return _ops.square(self)

    def reciprocal(self) -> Tensor:
        return _ops.reciprocal(self)

    def cbrt(self) -> Tensor:
        return _ops.cbrt(self)

    def tan(self) -> Tensor:
        return _ops.tan(self)

    def arcsin(self) -> Tensor:
        return _ops.arcsin(self)

    def arccos(self) -> Tensor:
        return _ops.arccos(self)

    def arctan(self) -> Tensor:
        return _ops.arctan(self)

    def sinh(self) -> Tensor:
        return _ops.sinh(self)

    def cosh(self) -> Tensor:
        return _ops.cosh(self)

    def arcsinh(self) -> Tensor:
        return _ops.arcsinh(self)

    def arccosh(self) -> Tensor:
        return _ops.arccosh(self)

    def arctanh(self) -> Tensor:
        return _ops.arctanh(self)

    def sinc(self) -> Tensor:
        return _ops.sinc(self)

    def deg2rad(self) -> Tensor:
        return _ops.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return _ops.rad2deg(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def floor(self) -> Tensor:
        return _ops.floor(self)

    def ceil(self) -> Tensor:
        return _ops.ceil(self)

    def trunc(self) -> Tensor:
        return _ops.trunc(self)

    def rint(self) -> Tensor:
        return _ops.rint(self)

    def asin(self) -> Tensor:
        return _ops.arcsin(self)

    def acos(self) -> Tensor:
        return _ops.arccos(self)

    def atan(self) -> Tensor:
        return _ops.arctan(self)

    def asinh(self) -> Tensor:
        return _ops.arcsinh(self)

    def acosh(self) -> Tensor:
        return _ops.arccosh(self)

    def atanh(self) -> Tensor:
        return _ops.arctanh(self)

    def arctan2(self, other: Any) -> Tensor:
        return _ops.arctan2(self, other)

    def hypot(self, other: Any) -> Tensor:
        return _ops.hypot(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return _ops.logaddexp(self, other)

    def remainder(self, other: Any) -> Tensor:
        return _ops.remainder(self, other)

    def fmod(self, other: Any) -> Tensor:
        return _ops.fmod(self, other)

    def floor_divide(self, other: Any) -> Tensor:
        return _ops.floor_divide(self, other)

    def atan2(self, other: Any) -> Tensor:
        return _ops.arctan2(self, other)

    def round(self, decimals: int = 0) -> Tensor:
        return _ops.round(self, decimals)

    def __round__(self, ndigits: int | None = None) -> Tensor:
        return _ops.round(self, ndigits or 0)

    def __mod__(self, other: Any) -> Tensor:
        return _ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _ops.remainder(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(other, self)

    def prod(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return _ops.prod(self, axis=axis, keepdims=keepdims, **torch_names)

    def var(self, axis: Any = None, ddof: float = 0, keepdims: bool = False, **kw: Any) -> Tensor:
        """NumPy's variance (ddof=0 unless given; PyTorch's default is correction=1)."""
        return _ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims, **kw)

    def std(self, axis: Any = None, ddof: float = 0, keepdims: bool = False, **kw: Any) -> Tensor:
        """NumPy's standard deviation (ddof=0 unless given; PyTorch's default is correction=1)."""
        return _ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims, **kw)

    def cumsum(self, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.cumsum(self, axis=axis, **torch_names)

    def cumprod(self, axis: Any = None, **torch_names: Any) -> Tensor:
        return _ops.cumprod(self, axis=axis, **torch_names)

    def nansum(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return _ops.nansum(self, axis=axis, keepdims=keepdims, **torch_names)

    def nanmean(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
        return _ops.nanmean(self, axis=axis, keepdims=keepdims, **torch_names)

    def norm(self, ord: Any = None, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        return _ops.norm(self, ord=ord, axis=axis, keepdims=keepdims, **kw)

    def argmax(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> np.ndarray:
        """Indices carry no gradient: an integer ndarray, as NumPy gives."""
        return _ops.argmax(self, axis=axis, keepdims=keepdims, **torch_names)

    def argmin(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> np.ndarray:
        """Indices carry no gradient: an integer ndarray, as NumPy gives."""
        return _ops.argmin(self, axis=axis, keepdims=keepdims, **torch_names)

    def all(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> np.ndarray:
        return _ops.all(self, axis=axis, keepdims=keepdims, **torch_names)

    def any(self, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> np.ndarray:
        return _ops.any(self, axis=axis, keepdims=keepdims, **torch_names)


_new = object.__new__

#: How many times leaves' data has been changed in place (optimizer steps, loading weights,
#: init): a recorded result keeps this count as its `_version`, so backward can tell when a leaf
#: it was computed from has changed since (`mark_modified`).
_writes = 0


def mark_modified(tensors: Iterable[Tensor]) -> None:
    """Note that the data of `tensors` (leaves) has just been changed in place.

    A graph recorded before then saved the old values, so backward through it would mix old and
    new values; it refuses instead (as PyTorch's "modified by an inplace operation"). The
    optimizers, `load_state_dict`, `nn.init` and `autodiff.optimize` call this after they write;
    call it after writing into a leaf's `.data` yourself.
    """
    global _writes
    _writes += 1
    for t in tensors:
        t._version = _writes


def _node(data: np.ndarray, op: Any, parents: tuple, saved: tuple) -> Tensor:
    """A recorded op's result: requires grad and remembers its op, parents and saved values."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = True
    t.name = None
    t._op = op
    t._parents = parents
    t._saved = saved
    t._hooks = None
    t._version = _writes
    return t


def _const(data: np.ndarray) -> Tensor:
    """An unrecorded result (nothing needed a gradient, or recording is off): built without a copy."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.name = None
    t._op = None
    t._parents = ()
    t._saved = ()
    t._hooks = None
    return t


def as_tensor(x: Any) -> Tensor:
    """`x` itself if it is a Tensor, else a constant Tensor made from it (no copy of an ndarray)."""
    if isinstance(x, Tensor):
        return x
    return _const(to_array(x, copy=False))


# The ops import Tensor, so they are bound here, after the class exists; methods look them up
# as module globals at call time.
from autodiff.numpy_api import array_function, array_ufunc, compare  # noqa: E402
from autodiff.ops import (  # noqa: E402
    abs,
    add,
    astype,
    clip,
    cos,
    div,
    erf,
    exp,
    gelu,
    getitem,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    sub,
    sum,
    tanh,
    transpose,
)
from autodiff.pickling import copy_tensor, reduce_tensor  # noqa: E402

# isort: split
# The ops of issue 24 (the op surface), looked up on the package: several shadow builtins (round, all, any).
import autodiff.ops as _ops  # noqa: E402
