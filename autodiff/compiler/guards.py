"""What a trace depends on besides its arguments' shapes, and the check that it has not changed.

A trace bakes in whatever the function read that is not an argument Tensor: numbers in closures
and globals, module settings, which parameters sit in which dict, a constant array's values. So
before a trace is made we walk everything the function can reach (its closure cells, the globals
its code names, its defaults, `self` of a method, a module's attributes and its `forward`, lists,
tuples, dicts and namespaces below them, modules and containers passed as arguments) and write a
plain Python function that checks each of those objects is still there and unchanged: numbers by
type and bits, arrays by identity and contents, containers by length and items, everything else
by identity. A replay runs only if that check passes; otherwise the function traces again.
How the arguments make a trace's key is in autodiff.compiler.keys.
"""

from __future__ import annotations

import functools
import math
import types
from typing import Any

import numpy as np

from autodiff.compiler import draws
from autodiff.compiler.code import SYSTEM, global_names, is_module, library, library_name
from autodiff.tensor import Tensor
from autodiff.tracing import Untraceable, structure_version

#: Names through which code reads an object's attributes without naming them.
DYNAMIC = frozenset({"vars", "__dict__", "getattr", "asdict", "astuple", "__getattribute__", "attrgetter"})

#: Past this many checks a function reaches too much to watch cheaply: it runs eagerly.
MAX_CHECKS = 20_000

_MISSING = object()
_NUMBERS = (bool, int, float, complex, str, bytes, type(None), np.generic)


def _same(v: Any, k: Any) -> bool:
    """v is the number (or string) k: same type and same bits (−0.0 is not 0.0, NaN is NaN)."""
    if v is k:
        return True
    if type(v) is not type(k):
        return False
    if type(k) is float:
        return (v == k and math.copysign(1.0, v) == math.copysign(1.0, k)) or (v != v and k != k)
    if isinstance(k, np.generic):
        return v.tobytes() == k.tobytes()
    return v == k


def _same_array(a: Any, snapshot: np.ndarray) -> bool:
    if type(a) is not type(snapshot) and not isinstance(a, np.ndarray):
        return False
    if a.shape != snapshot.shape or a.dtype != snapshot.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, snapshot, equal_nan=True))
    try:
        return bool(np.array_equal(a, snapshot))
    except Exception:  # an object array whose items do not compare: watched by identity only
        return True


def _cell(c: Any) -> Any:
    try:
        return c.cell_contents
    except ValueError:
        return _MISSING


class Watch:
    """Builds the check function for one set of roots (see the module docstring)."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"_same": _same, "_same_array": _same_array, "_cell": _cell, "M": _MISSING}
        self.lines: list[str] = []
        self.seen: set[int] = set()
        self.keep: list[Any] = []  # every object checked by identity, alive so that ids stay unique
        self.reached: set[int] = set()  # ids of the Tensors and arrays reached
        self.names: set[str] = set()  # attribute and global names the code walked so far reads
        # Per line: does it check a module's own attributes (their identity, or a number)? Those can
        # change only through Module.__setattr__/__delattr__, which bump `structure_version`.
        self.module_level: list[bool] = []
        self.in_module_dict = False
        # Functions met as values (in a closure, a global, a dict): walked when the trace calls them
        # (`called`), keyed by their code; one the trace never calls can change nothing in it.
        self.deferred: dict[types.CodeType, list[Any]] = {}
        self.generators: list[tuple[Any, Any]] = []  # random generators reached, with their state then
        # Users' modules, classes and objects reached: (the name of their vars, their vars, an
        # object's class); the attributes watched are those some code walked so far names
        # (`_named_attributes`), as more code is.
        self.spaces: list[tuple[str, Any, Any]] = []
        self.arrays: list[tuple[str, np.ndarray]] = []  # a user module's arrays, compared once named
        self.named: set[tuple[int, str]] = set()
        self.framed: set[types.CodeType] = set()  # code whose frame `frame` has walked

    def _obj(self, value: Any) -> str:
        name = f"o{len(self.ns)}"
        self.ns[name] = value
        self.keep.append(value)
        return name

    def _fail_unless(self, cond: str) -> None:
        if len(self.lines) > MAX_CHECKS:
            raise Untraceable(f"it reaches more than {MAX_CHECKS:,} objects, too many to watch on every call")
        self.lines.append(f"    if not ({cond}): return False")
        self.module_level.append(self.in_module_dict)

    # ------------------------------------------------------------------ roots
    def function(self, fn: Any) -> None:
        """A callable's own state: closure cells, the globals its code names, defaults, `self`."""
        if is_module(fn):
            self.value(self._obj(fn), fn)
            return
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        if isinstance(fn, functools.partial):
            self.value(f"{self._obj(fn)}.func", fn.func)
            for i, a in enumerate(fn.args):
                self.value(f"{self._obj(fn)}.args[{i}]", a)
            self.mapping(f"{self._obj(fn)}.keywords", fn.keywords)
            return
        if isinstance(fn, types.MethodType):
            self.value(f"{self._obj(fn)}.__self__", fn.__self__)
            self.function(fn.__func__)
            return
        if not isinstance(fn, types.FunctionType):
            if hasattr(fn, "__dict__") and not isinstance(fn, type) and not library(type(fn)):
                self.namespace(fn)  # a callable object: its attributes, and its class's __call__
                call = vars(type(fn)).get("__call__")
                if isinstance(call, types.FunctionType):
                    self.function(call)
            return
        f = self._obj(fn)
        self.names.update(global_names(fn.__code__))  # before the closure: a module there is read by these names
        for i, c in enumerate(fn.__closure__ or ()):
            value = _cell(c)
            if value is not _MISSING:
                self.value(f"_cell({f}.__closure__[{i}])", value)
        if fn.__defaults__:
            self._fail_unless(f"{f}.__defaults__ is {self._obj(fn.__defaults__)}")
            for i, d in enumerate(fn.__defaults__):
                self.value(f"{f}.__defaults__[{i}]", d)
        if fn.__kwdefaults__:
            self._fail_unless(f"{f}.__kwdefaults__ is {self._obj(fn.__kwdefaults__)}")
            self.mapping(f"{f}.__kwdefaults__", fn.__kwdefaults__)
        g = fn.__globals__
        gname = self._obj(g)
        names = global_names(fn.__code__)
        self.names.update(names)
        for name in dict.fromkeys(names):
            if name in g:
                self.value(f"{gname}.get({name!r}, M)", g[name])
        self._named_attributes()

    # ------------------------------------------------------------------ values
    def value(self, expr: str, v: Any) -> None:
        """Check that `expr` still evaluates to v (or an equal number), and what lies below v."""
        top = self.in_module_dict  # this check reads a module's attribute; what lies below v does not
        self.in_module_dict = False
        self._value(expr, v, top)

    def _value(self, expr: str, v: Any, top: bool) -> None:
        if isinstance(v, _NUMBERS):
            self.in_module_dict = top
            if type(v) in (bool, type(None)):
                self._fail_unless(f"{expr} is {v!r}")
            else:
                self._fail_unless(f"_same({expr}, {self._obj(v)})")
            return
        name = self._obj(v)
        self.in_module_dict = top
        self._fail_unless(f"{expr} is {name}")
        self.in_module_dict = False
        if isinstance(v, draws.GENERATORS):
            if id(v) not in self.seen:
                self.seen.add(id(v))
                self.generators.append((v, draws.state(v)))
            return
        if isinstance(v, functools.partial):  # its arguments now, its function when called (`function`)
            self.function(v)
            return
        if isinstance(v, (types.FunctionType, types.MethodType)):
            if not library(v):
                code = _code(v)
                if code is None:
                    self.function(v)
                else:
                    self.deferred.setdefault(code, []).append(v)
            return
        if id(v) in self.seen:
            return
        self.seen.add(id(v))
        if isinstance(v, Tensor):
            self.reached.add(id(v))  # its values are read afresh by a replay, its shape by the trace's leaf guard
        elif isinstance(v, np.ndarray):
            self.reached.add(id(v))
            self._fail_unless(f"_same_array({name}, {self._obj(v.copy())})")
        elif type(v) is tuple or (isinstance(v, tuple) and not hasattr(v, "__dict__")):
            for i, x in enumerate(v):
                if not isinstance(x, _NUMBERS):  # numbers in a tuple cannot change
                    self.value(f"{name}[{i}]", x)
        elif isinstance(v, list):
            self._fail_unless(f"len({name}) == {len(v)}")
            for i, x in enumerate(v):
                self.value(f"{name}[{i}]", x)
        elif isinstance(v, dict):
            self.mapping(name, v)
        elif isinstance(v, (set, frozenset)):
            self._fail_unless(f"{name} == {self._obj(set(v))}")
        elif is_module(v):
            watched = getattr(type(v), "__compile_watch__", None)
            self.namespace(v, watched)
            forward = getattr(type(v), "forward", None)
            if isinstance(forward, types.FunctionType) and not library(forward):
                self.function(forward)
        elif isinstance(v, (types.ModuleType, type)):
            if not library(v):  # a user's module of settings, or class: the attributes the code names
                self.spaces.append((self._obj(vars(v)), vars(v), None))
                self._named_attributes()
        elif isinstance(v, types.SimpleNamespace):
            self.namespace(v)
        elif isinstance(v, (staticmethod, classmethod)):
            self.value(f"{name}.__func__", v.__func__)
        elif isinstance(v, (types.BuiltinFunctionType, np.ufunc)):
            return  # identity is all
        elif hasattr(type(v), "__compile_watch__"):  # an optimizer: its hyperparameters and parameters only
            self.namespace(v, type(v).__compile_watch__)
        elif hasattr(v, "__dict__") and not library(type(v)):
            if hasattr(v, "__wrapped__") and callable(v):  # ad.compile of a function, nested
                self.namespace(v)
                self.function(v.__wrapped__)
            else:  # a user's object: the attributes the code names (not a dataset it also holds)
                self.spaces.append((self._obj(vars(v)), vars(v), type(v)))
                self._named_attributes()

    def mapping(self, expr: str, d: dict, module: bool = False, user: bool = False) -> None:
        """A dict's length and items; a user module's (`user`) arrays by identity, and by contents
        only once some code names them (a dataset a model holds is not compared on every call)."""
        name = self._obj(d) if not expr.isidentifier() or expr not in self.ns else expr
        if name != expr:
            self._fail_unless(f"{expr} is {name}")
        self.in_module_dict = module
        self._fail_unless(f"len({name}) == {len(d)}")
        for k, x in d.items():
            key = repr(k) if type(k) in (str, int) else self._obj(k)
            self.in_module_dict = module
            if user and type(x) is np.ndarray and type(k) is str:
                self._fail_unless(f"{name}.get({key}, M) is {self._obj(x)}")
                self.arrays.append((k, x))
            else:
                self.value(f"{name}.get({key}, M)", x)
        self.in_module_dict = False
        self._named_attributes()

    def namespace(self, obj: Any, only: tuple | None = None) -> None:
        """An object's attributes (`vars`), all of them or those named in `only`."""
        try:
            d = vars(obj)
        except TypeError:
            return
        module = is_module(obj)
        if only is None:
            self.mapping(self._obj(d), d, module, module and not library(type(obj)))
        else:
            name = self._obj(d)
            for attr in only:
                self.in_module_dict = module
                self.value(f"{name}.get({attr!r}, M)", d.get(attr, _MISSING))

    def _named_attributes(self) -> None:
        """Watch the attributes of each user module, class or object that the code walked so far
        names: there, or for an object, absent while its class has one of that name (an instance
        attribute set later would hide the class's)."""
        named = [x for a, x in self.arrays if a in self.names]
        self.arrays = [(a, x) for a, x in self.arrays if a not in self.names]
        for x in named:
            self._value(self._obj(x), x, False)  # its contents (its identity is checked where it lies)
        # Code that reads attributes by a computed name (`vars(cfg)`, `getattr(o, key)`): all of them.
        every = not self.names.isdisjoint(DYNAMIC)
        for d_name, d, cls in self.spaces:
            for attr in sorted(self.names | set(d) if every and cls is not None else self.names):
                if (id(d), attr) in self.named:
                    continue
                present = attr in d
                if (present and not isinstance(d[attr], types.ModuleType)) or (not present and cls is not None
                                                                               and hasattr(cls, attr)):
                    self.named.add((id(d), attr))
                    self.value(f"{d_name}.get({attr!r}, M)", d.get(attr, _MISSING))

    def frame(self, frame: Any) -> None:
        """User code the trace is about to run, seen by the profile hook (a method a module's forward
        calls, a class's __call__): the globals its code names and, for a method, its `self`."""
        code, g = frame.f_code, frame.f_globals
        if code in self.framed or library_name(g.get("__name__")) or code.co_filename.startswith(SYSTEM):
            return
        self.framed.add(code)
        names = global_names(code)
        self.names.update(names)
        gname = self._obj(g)
        for name in dict.fromkeys(names):
            if name in g:
                self.value(f"{gname}.get({name!r}, M)", g[name])
        if code.co_argcount and code.co_varnames[0] == "self":
            obj = frame.f_locals.get("self")
            if obj is not None:
                self.value(self._obj(obj), obj)
                if not library(type(obj)):
                    self.value(self._obj(type(obj)), type(obj))  # class attributes it names
                    method = getattr(type(obj), code.co_name, None)
                    if getattr(method, "__code__", None) is code:
                        self.function(method)  # its closure and defaults
        self._named_attributes()

    def called(self, code: types.CodeType) -> None:
        """The trace is about to run `code`: walk the functions met with it, as they are now."""
        for fn in self.deferred.pop(code, ()):
            self.function(fn)

    def walk_deferred(self, codes: Any = None) -> None:
        """Walk the deferred functions whose code is in `codes` (all of them when None), and the ones
        met while walking those, until none is left."""
        while True:
            todo = [c for c in self.deferred if codes is None or c in codes]
            if not todo:
                return
            for c in todo:
                self.called(c)

    def build(self) -> Any:
        """The check function: True when everything reached is as it was. While no module attribute
        has been assigned since it last passed, it skips the checks of modules' own attributes."""
        if not self.lines:
            return _always
        fast = [line for line, module in zip(self.lines, self.module_level) if not module]
        source = ("def full():\n" + "\n".join(self.lines) + "\n    return True\n\n"
                  "def fast():\n" + "\n".join(fast) + "\n    return True\n")
        exec(compile(source, "<ad.compile guard>", "exec"), self.ns)
        return _Watcher(self.ns["full"], self.ns["fast"], self.keep)


def _code(fn: Any) -> types.CodeType | None:
    """The code a call of fn runs first, if it is a Python function's."""
    if isinstance(fn, functools.partial):
        fn = fn.func
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    return fn.__code__ if isinstance(fn, types.FunctionType) else None


def _always() -> bool:
    return True


class _Watcher:
    """Calls the full check, or the fast one while `structure_version` stands where the full one passed."""

    __slots__ = ("fast", "full", "keep", "version")

    def __init__(self, full: Any, fast: Any, keep: list) -> None:
        self.full, self.fast, self.keep, self.version = full, fast, keep, -1

    def __call__(self) -> bool:
        version = structure_version[0]
        if version == self.version:
            return self.fast()
        if self.full():
            self.version = version
            return True
        return False


def watch_for(fn: Any, args: tuple, kwargs: dict) -> Watch:
    """The watch over everything `fn` reaches, and the non-array objects passed to it."""
    w = Watch()
    w.function(fn)
    for a in (*args, *kwargs.values()):
        _argument_objects(w, a)
    return w


def _argument_objects(w: Watch, a: Any) -> None:
    if isinstance(a, (Tensor, np.ndarray, *_NUMBERS)):
        return
    if type(a) in (list, tuple):
        for x in a:
            _argument_objects(w, x)
    elif type(a) is dict:
        for x in a.values():
            _argument_objects(w, x)
    else:  # a module or an object passed as an argument: the key holds it, the watch its contents
        w.value(w._obj(a), a)
