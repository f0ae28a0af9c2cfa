"""Hostile review of ad.compile's watch of called functions and of compile_step's scratch (second
round): each test is a case found wrong. Those fixed are plain tests now; the two left (a Tensor
computed in a thread the function starts, a C-level profiler switched off by the first trace) are
strict xfails with what they give.

The promise (docs/compile.md): a compiled call gives exactly the eager result, or runs eagerly with
one warning, or raises; never a stale answer. Each stale test traces once, changes something the
traced code read, and compares the next call with the same function run eagerly.
"""

from __future__ import annotations

import cProfile
import functools
import io
import os
import pdb
import sys
import threading
import types
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn


def T(a):
    return ad.Tensor(np.asarray(a, dtype=np.float64))


def _compiled_after(fn, change, *, first=None):
    """(compiled result, eager result) of fn(x) after `change()`, the trace made by `first` (or a
    plain first call)."""
    f = ad.compile(fn)
    x = T([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if first is None:
            f(x)
        else:
            first(f, x)
        change()
        return f(x).item(), fn(x).item()


# ---------------------------------------------------------------- the profile hook misses calls
def _a_helpers_setting_is_followed(first=None, call=lambda helper, x: helper(x)):
    """fn(x) = call(helper, x).sum(), helper reading a setting k; after k changes, the compiled fn
    answers as the eager one, its first call made by `first`."""
    k = [2.0]

    def helper(x):
        return x * k[0]

    def fn(x):
        return call(helper, x).sum()

    got, eager = _compiled_after(fn, lambda: k.__setitem__(0, 3.0), first=first)
    assert got == eager


def test_first_call_from_pdb_prompt_then_a_helper_setting_changes():
    def first(f, x):
        def stop_here(f, x):  # pdb stops on its first line, where `f` and `x` are names
            return None

        out = io.StringIO()
        debugger = pdb.Pdb(stdin=io.StringIO("p f(x).item()\ncontinue\n"), stdout=out)
        debugger.use_rawinput = False
        try:
            debugger.runcall(stop_here, f, x)
        finally:
            sys.settrace(None)
        assert "6.0" in out.getvalue() and f.traces == 1  # the first call was made at pdb's prompt

    _a_helpers_setting_is_followed(first)


def test_first_call_inside_a_settrace_callback():
    def first(f, x):
        def trigger():
            return None

        def tracer(frame, event, arg):
            if event == "call" and frame.f_code is trigger.__code__:
                f(x)

        sys.settrace(tracer)
        try:
            trigger()
        finally:
            sys.settrace(None)

    _a_helpers_setting_is_followed(first)


def test_traced_function_profiling_a_helper_with_cprofile():
    _a_helpers_setting_is_followed(call=lambda helper, x: cProfile.Profile().runcall(helper, x))


@pytest.mark.xfail(strict=True, reason="a part of the loss computed in a thread the traced function starts: the "
                   "tracer is thread-local, the thread's Tensor is baked in as a constant: got 16.0, eager 30.0")
def test_part_of_the_function_computed_in_a_thread():
    def fn(x):
        out = []
        worker = threading.Thread(target=lambda: out.append(x * 2.0))
        worker.start()
        worker.join()
        return (out[0] + x).sum()

    f = ad.compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f(T([1.0, 2.0]))
        assert f(T([5.0, 5.0])).item() == fn(T([5.0, 5.0])).item()


# ---------------------------------------------------------------- what a walk misses
settings = types.ModuleType("review2_settings")  # a user's module of settings
settings.shift = 1.0
settings.scale = 2.0


def test_module_attribute_read_only_by_a_called_helper():
    def helper(x):
        return x * settings.scale

    def fn(x):
        return (helper(x) + settings.shift).sum()

    try:
        got, eager = _compiled_after(fn, lambda: setattr(settings, "scale", 3.0))
    finally:
        settings.scale = 2.0
    assert got == eager


def _partial():
    def mul(x, k):
        return x * k

    p = functools.partial(mul, k=2.0)
    return (lambda x: p(x).sum()), (lambda: p.keywords.__setitem__("k", 5.0))


def _callable_object():
    k = [2.0]

    class Scaler:
        def __call__(self, x):
            return x * k[0]

    s = Scaler()
    return (lambda x: s(x).sum()), (lambda: k.__setitem__(0, 3.0))


def _module_helper_method():
    k = [2.0]

    class Net(nn.Module):
        def forward(self, x):
            return self.scaled(x)

        def scaled(self, x):
            return x * k[0]

    net = Net()
    return (lambda x: net(x).sum()), (lambda: k.__setitem__(0, 3.0))


def _class_attribute():
    class Config:
        scale = 2.0

    return (lambda x: (x * Config.scale).sum()), (lambda: setattr(Config, "scale", 3.0))


def _staticmethod_in_a_table():
    k = [2.0]

    def scale(x):
        return x * k[0]

    table = {"h": staticmethod(scale)}
    return (lambda x: table["h"](x).sum()), (lambda: k.__setitem__(0, 3.0))


@pytest.mark.parametrize("build", [_partial, _callable_object, _module_helper_method, _class_attribute,
                                   _staticmethod_in_a_table], ids=lambda b: b.__name__.strip("_"))
def test_a_setting_read_through_it_is_watched(build):
    """Each was replayed stale: partial's keywords (library-skipped), what a callable object's
    __call__ or a Module's helper method reads, a class attribute, a staticmethod in a dict."""
    fn, change = build()
    got, eager = _compiled_after(fn, change)
    assert got == eager


# ---------------------------------------------------------------- speed: eagerly is not eager's speed
def test_helper_reading_a_large_table_does_not_trace_on_every_call():
    table = {f"w{i}": float(i) for i in range(25_000)}

    def helper(x):
        return x * table["w3"]

    def fn(x):
        return helper(x).tanh().sum()

    f = ad.compile(fn)
    x = T([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            assert f(x).item() == fn(x).item()
    assert f.traces == 1


# ---------------------------------------------------------------- .data that is not exactly an ndarray
def _memmap(tmp_path, value):
    m = np.memmap(os.path.join(tmp_path, "w.dat"), dtype=np.float64, mode="w+", shape=value.shape)
    m[...] = value
    return m


def test_eager_step_moves_a_memmap_parameter(tmp_path):
    W = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    W.data = _memmap(tmp_path, np.ones((2, 3)))
    opt = nn.SGD([W], lr=0.1)
    (ad.Tensor(np.ones((4, 3))) @ W.T).sum().backward()
    opt.step()
    np.testing.assert_array_equal(np.asarray(W.data), np.full((2, 3), 0.6))


def test_compiled_and_eager_step_agree_on_a_memmap_parameter(tmp_path):
    def outcome(compiled):
        W = ad.Tensor(np.ones((2, 3)), requires_grad=True)
        opt = nn.SGD([W], lr=0.1, momentum=0.9)
        x = ad.Tensor(np.ones((4, 3)))

        def loss_fn(x):
            return (x @ W.T).tanh().sum()

        step = opt.compile_step(loss_fn)
        for _ in range(3):
            step(x)
        W.data = _memmap(tmp_path, W.data)
        try:
            if compiled:
                step(x)
            else:
                opt.zero_grad()
                loss_fn(x).backward()
                opt.step()
        except TypeError:
            return "raised"
        return np.asarray(W.data).tolist()

    assert outcome(True) == outcome(False)


def test_table_of_factory_closures_one_called_does_not_trace_on_every_call():
    def make(a, b, c, d, e):
        return lambda x: x * a * b * c * d * e

    table = [make(float(i), 1.0, 2.0, 3.0, 4.0) for i in range(4000)]

    def fn(x):
        return table[1](x).sum()

    f = ad.compile(fn)
    x = T([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            assert f(x).item() == fn(x).item()
    assert f.traces == 1


# ---------------------------------------------------------------- the profiler the user had
@pytest.mark.skipif(sys.implementation.name != "cpython", reason="PyEval_SetProfile is CPython's")
@pytest.mark.xfail(strict=True, reason="a C-level profiler installed with a NULL object (sys.getprofile() is None) is "
                   "replaced by the trace's hook and then sys.setprofile(None): the first compiled call switches it "
                   "off; events after: 0")
def test_first_compiled_call_keeps_a_c_level_profiler_running():
    import ctypes

    count = [0]
    func_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)

    @func_type
    def callback(obj, frame, what, arg):
        count[0] += 1
        return 0

    set_profile = ctypes.pythonapi.PyEval_SetProfile
    set_profile.argtypes = [func_type, ctypes.c_void_p]
    set_profile.restype = None

    def work():
        return [abs(i) for i in range(3)]

    f = ad.compile(lambda x: (x * 2.0).sum())
    set_profile(callback, None)
    try:
        assert sys.getprofile() is None
        f(T([1.0, 2.0]))
        before = count[0]
        work()
        after = count[0] - before
    finally:
        set_profile(ctypes.cast(None, func_type), None)
    assert after > 0


# ---------------------------------------------------------------- draws and iterators baked in
def _noise_functions():
    rng = np.random.default_rng(0)
    legacy = np.random.RandomState(0)
    py = __import__("random").Random(0)

    def counter():
        k = 1.0
        while True:
            yield k
            k += 1.0

    it = counter()
    return {
        "Generator.normal": lambda x: (x + rng.normal(size=2)).sum(),
        "RandomState.normal": lambda x: (x + legacy.normal(size=2)).sum(),
        "random.Random.random": lambda x: (x * py.random()).sum(),
        "next(generator)": lambda x: (x * next(it)).sum(),
    }


@pytest.mark.parametrize("name", list(_noise_functions()))
def test_a_draw_inside_the_function_is_not_replayed(name):
    fn = _noise_functions()[name]
    f = ad.compile(fn)
    x = T([1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [f(x).item() for _ in range(3)]
    assert len(set(got)) == 3  # eagerly every call draws (or takes) a new value


# ---------------------------------------------------------------- compile_step's loss
def test_compiled_step_loss_through_astype_to_its_own_dtype():
    def losses(compiled):
        W = ad.Tensor(np.full((1, 4), 0.1), requires_grad=True)
        opt = nn.SGD([W], lr=0.1)
        x = ad.Tensor(np.ones((1, 4)))

        def loss_fn(x):
            return (x @ W.T).tanh().astype(np.float64)  # (1, 1): one element, a loss

        step = opt.compile_step(loss_fn)
        out = []
        for _ in range(3):
            if compiled:
                E = step(x)
            else:
                opt.zero_grad()
                E = loss_fn(x)
                E.backward()
                opt.step()
            out.append(E.item())
        return out

    assert losses(True) == losses(False)
