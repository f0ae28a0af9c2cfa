"""`ad.compile` is never stale: each case of issue 26 where a replay returned the first call's
answer (or failed) while the eager function was right, plus the trace cache's structure keys and
bound. Every test compares the compiled call with the eager one after the user changes something."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

EXACT = dict(rtol=1e-12, atol=1e-12)


def _x(seed: int = 0, shape=(4, 3)) -> ad.Tensor:
    return ad.Tensor(np.random.default_rng(seed).normal(size=shape))


def _same(compiled, eager, *args, **kwargs):
    """compiled(*args) equals eager(*args), value and the gradients of the arguments that need one."""
    want = eager(*args, **kwargs)
    got = compiled(*args, **kwargs)
    np.testing.assert_allclose(got.data, want.data, **EXACT)
    return got


# 1. a NumPy float module setting --------------------------------------------------------------
def test_numpy_float_module_setting_is_watched():
    act = nn.LeakyReLU(0.1)
    f = ad.compile(lambda x: act(x).sum())
    x = ad.Tensor(-np.ones(3))
    for slope in [np.float64(0.2), np.float32(0.3), np.float16(0.5), 0.7]:
        act.negative_slope = slope
        assert f(x).item() == pytest.approx(act(x).sum().item(), rel=1e-6)
    assert f(x).item() == pytest.approx(-2.1)


# 2. numbers read from a closure or a global ------------------------------------------------------
SCALE = 2.0


def test_closure_float_and_int_are_watched():
    scale = 2.0
    f = ad.compile(lambda x: (x * scale).sum())
    x = ad.Tensor(np.ones(3), requires_grad=True)
    assert f(x).item() == 6.0
    scale = 4.0
    assert f(x).item() == 12.0
    scale = np.float32(0.5)
    assert f(x).item() == 1.5


def test_closure_axis_is_watched():
    axis = 0
    f = ad.compile(lambda x: x.sum(axis=axis) * 1.0)
    x = _x()
    assert f(x).shape == (3,)
    axis = 1
    np.testing.assert_array_equal(f(x).data, x.data.sum(axis=1))


def test_global_number_is_watched():
    global SCALE
    f = ad.compile(lambda x: (x * SCALE).sum())
    x = ad.Tensor(np.ones(3))
    try:
        assert f(x).item() == 6.0
        SCALE = np.int64(5)
        assert f(x).item() == 15.0
    finally:
        SCALE = 2.0


def test_numpy_scalar_argument_kinds_do_not_mix():
    f = ad.compile(lambda x, s: (x * s).sum())
    x = ad.Tensor(np.ones(2, dtype=np.float32), dtype=np.float32)
    assert f(x, 2.0).item() == 4.0
    assert f(x, np.float64(3.0)).dtype == (x * np.float64(3.0)).sum().dtype


# 3. masks from comparison ufuncs -----------------------------------------------------------------
@pytest.mark.parametrize("compare", [np.greater, np.less_equal, np.equal, np.not_equal, np.isfinite, np.less])
def test_comparison_ufunc_mask_is_not_replayed(compare):
    def fn(x):
        mask = compare(x, 0) if compare is not np.isfinite else compare(x)
        return ad.where(mask, x, -x).sum()

    f = ad.compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for seed in range(3):
            x = _x(seed)
            _same(f, fn, x)


def test_np_greater_case_from_the_issue():
    fn = lambda x: ad.where(np.greater(x, 0), x, 0.0).sum()  # noqa: E731
    f = ad.compile(fn)
    with pytest.warns(RuntimeWarning, match="compares"):
        f(ad.Tensor([-0.9, 0.0]))
    assert f(ad.Tensor([0.9, -1.0])).item() == pytest.approx(0.9)


def test_item_read_inside_runs_eagerly():
    def fn(x):
        return x.sum() * 2.0 if x.sum().item() > 0 else x.sum() * -3.0

    f = ad.compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _same(f, fn, ad.Tensor([1.0, 2.0]))
        _same(f, fn, ad.Tensor([-1.0, -2.0]))


# 4. cross_entropy's ignore_index -----------------------------------------------------------------
def test_ignore_index_appearing_later_is_ignored():
    z = ad.Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    ce = ad.compile(lambda z, t: F.cross_entropy(z, t, ignore_index=1))
    t0, t1 = np.array([0, 2, 0, 2]), np.array([0, 1, 2, 1])
    _same(ce, lambda z, t: F.cross_entropy(z, t, ignore_index=1), z, t0)
    _same(ce, lambda z, t: F.cross_entropy(z, t, ignore_index=1), z, t1)


@pytest.mark.parametrize("ignore", [-1, -100])
def test_negative_ignore_index_appearing_later(ignore):
    eager = lambda z, t: F.cross_entropy(z, t, ignore_index=ignore)  # noqa: E731
    ce = ad.compile(eager)
    z = ad.Tensor(np.random.default_rng(1).normal(size=(3, 4)), requires_grad=True)
    _same(ce, eager, z, np.array([0, 1, 2]))
    got = _same(ce, eager, z, np.array([0, ignore, 3]))
    got.backward()
    want = z.grad.copy()
    z.grad = None
    eager(z, np.array([0, ignore, 3])).backward()
    np.testing.assert_allclose(want, z.grad, **EXACT)


def test_default_ignore_index_in_the_module_loss():
    loss = nn.CrossEntropyLoss()
    z = ad.Tensor(np.random.default_rng(2).normal(size=(3, 4)))
    ce = ad.compile(lambda z, t: loss(z, t))
    _same(ce, loss, z, np.array([0, 1, 2]))
    _same(ce, loss, z, np.array([0, -100, 2]))


# 5. an out-of-range target ---------------------------------------------------------------------
def test_out_of_range_target_raises_on_replay():
    ce = ad.compile(lambda z, t: F.cross_entropy(z, t))
    z = _x(3, (2, 3))
    ce(z, np.array([0, 1]))
    ce(z, np.array([2, 1]))
    with pytest.raises(ValueError, match="out of range"):
        ce(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="out of range"):
        ce(z, np.array([-2, 0]))


# 6. a module attribute reassigned to an array, a list, a namespace -----------------------------
class Scaled(nn.Module):
    def __init__(self, s):
        self.s = s

    def forward(self, x):
        return x * self.s


class Summed(nn.Module):
    def __init__(self, items):
        self.items = items

    def forward(self, x):
        return x * sum(self.items)


def test_module_array_attribute_reassigned():
    m = Scaled(np.array([1.0, 2.0, 3.0]))
    f = ad.compile(lambda x: m(x).sum())
    x = ad.Tensor(np.ones(3))
    _same(f, lambda x: m(x).sum(), x)
    m.s = np.array([4.0, 5.0, 6.0])
    _same(f, lambda x: m(x).sum(), x)
    m.s[0] = 10.0  # written in place, same object
    _same(f, lambda x: m(x).sum(), x)


def test_module_list_attribute_reassigned_and_mutated():
    m = Summed([1.0, 2.0])
    f = ad.compile(lambda x: m(x).sum())
    x = ad.Tensor(np.ones(3))
    _same(f, lambda x: m(x).sum(), x)
    m.items = [5.0]
    _same(f, lambda x: m(x).sum(), x)
    m.items.append(1.0)  # mutated in place: no assignment at all
    _same(f, lambda x: m(x).sum(), x)


# 7. a model passed as an argument ------------------------------------------------------------
def test_model_argument_sees_a_replaced_layer_and_weight():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 1, rng=rng))
    step = lambda model, x: model(x).sum()  # noqa: E731
    f = ad.compile(step)
    x = _x(4)
    _same(f, step, model, x)
    model.layers[2] = nn.Linear(4, 1, rng=rng)
    _same(f, step, model, x)
    model.layers[0].weight = nn.Parameter(rng.normal(size=(4, 3)))
    y = _same(f, step, model, x)
    y.backward()
    assert model.layers[0].weight.grad is not None


# 8. parameters through a dict or a namespace ---------------------------------------------------
def test_parameters_in_a_dict_are_watched():
    params = {"W": ad.Tensor(np.ones((3, 2)), requires_grad=True)}
    fn = lambda x: (x @ params["W"]).sum()  # noqa: E731
    f = ad.compile(fn)
    x = _x(5)
    _same(f, fn, x)
    new = ad.Tensor(np.full((3, 2), 2.0), requires_grad=True)
    params["W"] = new
    f(x).backward()
    assert new.grad is not None
    _same(f, fn, x)


def test_parameters_in_a_namespace_are_watched():
    ns = types.SimpleNamespace(W=ad.Tensor(np.ones((3, 2)), requires_grad=True), scale=1.0)
    fn = lambda x: (x @ ns.W * ns.scale).sum()  # noqa: E731
    f = ad.compile(fn)
    x = _x(6)
    _same(f, fn, x)
    ns.W = ad.Tensor(np.full((3, 2), -1.0), requires_grad=True)
    _same(f, fn, x)
    ns.scale = np.float64(3.0)
    _same(f, fn, x)


# 9. an argument that is also a closure parameter ------------------------------------------------
def test_argument_that_is_also_read_from_the_closure():
    center = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    dist = lambda x: ((x - center) ** 2).sum()  # noqa: E731
    f = ad.compile(dist)
    assert f(center).item() == 0.0
    other = ad.Tensor(np.array([3.0, 2.0]), requires_grad=True)
    assert f(other).item() == 4.0
    assert f(center).item() == 0.0


# 10. keyword arguments, and containers of Tensors ------------------------------------------------
def test_keyword_arguments():
    ce = ad.compile(F.cross_entropy)
    z = _x(7, (3, 4))
    t = np.array([0, 3, 1])
    for reduction in ["sum", "mean", "sum"]:
        _same(ce, F.cross_entropy, z, t, reduction=reduction)
    g = ad.compile(lambda x, *, k=1.0: (x * k).sum())
    assert g(z, k=2.0).item() == pytest.approx(2 * z.data.sum())
    assert g(z).item() == pytest.approx(z.data.sum())
    assert g(x=z, k=3.0).item() == pytest.approx(3 * z.data.sum())


@pytest.mark.parametrize("pack", [tuple, list, lambda xs: {"a": xs[0], "b": xs[1]}])
def test_container_arguments_trace_once_per_structure(pack):
    def fn(xs):
        a, b = (xs["a"], xs["b"]) if isinstance(xs, dict) else xs
        return (a * b).sum()

    f = ad.compile(fn)
    for seed in range(5):
        a = ad.Tensor(np.random.default_rng(seed).normal(size=3), requires_grad=True)
        b = ad.Tensor(np.random.default_rng(seed + 9).normal(size=3))
        y = _same(f, fn, pack([a, b]))
        y.backward()
        np.testing.assert_allclose(a.grad, b.data, **EXACT)
    assert f.traces == 1 and len(f._cache) == 1


def test_trace_cache_is_bounded_and_says_so(monkeypatch):
    from autodiff.compiler import compiled as compiled_module

    monkeypatch.setattr(compiled_module, "MAX_TRACES", 3)
    f = ad.compile(lambda x: (x * 2.0).sum())
    with pytest.warns(RuntimeWarning, match="cache"):
        for n in range(1, 6):
            f(ad.Tensor(np.ones(n)))
    assert len(f._cache) == 3 and f.traces == 5
    assert f(ad.Tensor(np.ones(5))).item() == 10.0


# guards also see -------------------------------------------------------------------------------
def test_closure_array_written_in_place_and_derived_mask():
    a = np.array([1.0, -1.0, 2.0])
    fn = lambda x: ad.where(a > 0, x, 2 * x).sum()  # noqa: E731 - the mask is made from a, not x
    f = ad.compile(fn)
    x = ad.Tensor(np.ones(3))
    _same(f, fn, x)
    a[1] = 5.0
    _same(f, fn, x)


def test_user_python_module_attribute_is_watched():
    cfg = types.ModuleType("cfg")
    cfg.k = 2.0

    def fn(x):
        return (x * cfg.k).sum()

    f = ad.compile(fn)
    x = ad.Tensor(np.ones(2))
    assert f(x).item() == 4.0
    cfg.k = 5.0
    assert f(x).item() == 10.0


def test_layering_nothing_below_the_compiler_imports_it():
    import pathlib

    root = pathlib.Path(ad.__file__).parent
    for name in ["backward.py", "op.py", "tensor.py", "numpy_api.py", "grad_mode.py", "tracing.py"]:
        text = (root / name).read_text()
        assert "autodiff.compiler" not in text and "from autodiff import compiler" not in text, name


# Tensors built inside the compiled function ------------------------------------------------------
def test_a_tensor_built_from_an_argument_inside_is_not_baked_in():
    # q is read as given by `x - q` too, so the trace does not fall back for an unread argument;
    # ad.Tensor(q) copies q, and baked into the trace it kept the first call's values.
    fn = lambda x, t, q: x[np.arange(4), t].sum() + (x - q).mean() + (x * ad.Tensor(q)).sum()  # noqa: E731
    f = ad.compile(fn)
    rng = np.random.default_rng(0)
    with pytest.warns(RuntimeWarning, match="builds a Tensor"):
        for _ in range(3):
            x = ad.Tensor(rng.normal(size=(4, 3)), requires_grad=True)
            q, t = rng.normal(size=(4, 3)), rng.integers(0, 3, 4)
            _same(f, fn, x, t, q)


def test_a_random_tensor_drawn_inside_is_fresh_on_every_call():
    f = ad.compile(lambda x: (x * ad.randn(3)).sum())
    with pytest.warns(RuntimeWarning, match="draws random values"):
        values = {f(ad.Tensor(np.ones(3))).item() for _ in range(3)}
    assert len(values) == 3


def test_a_recurrent_layer_with_its_zero_state_still_replays():
    rnn = nn.LSTM(3, 4, rng=np.random.default_rng(0))
    f = ad.compile(lambda x: rnn(x)[0].sum())
    x = _x(shape=(5, 2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _same(f, lambda x: rnn(x)[0].sum(), x)
        _same(f, lambda x: rnn(x)[0].sum(), _x(1, shape=(5, 2, 3)))
    assert f.traces == 1


# functions the traced one calls ---------------------------------------------------------------
SCALES = {"inner": 1.0}


def _inner_scale(x):
    return x * SCALES["inner"]  # a global of a helper's helper


def test_what_called_functions_read_is_watched_at_any_depth():
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    cfg = {"scale": 1.0}

    def helper(x):
        return _inner_scale((x @ W) * cfg["scale"]).sum()

    fn = lambda x: helper(x)  # noqa: E731
    f, x = ad.compile(fn), _x()
    for scale, inner in [(1.0, 1.0), (3.0, 1.0), (3.0, -2.0), (3.0, -2.0)]:
        cfg["scale"], SCALES["inner"] = scale, inner
        _same(f, fn, x)
    assert f.traces == 3
    SCALES["inner"] = 1.0


def test_a_function_held_but_never_called_is_not_walked():
    # a row of a test table: its helpers reach far more than a watch can check, and the trace never calls them
    huge = [types.SimpleNamespace(value=float(i)) for i in range(30_000)]

    def never_called():
        return huge

    row = types.SimpleNamespace(cases=never_called, scale=2.0)
    fn = lambda x: (x * row.scale).sum()  # noqa: E731
    f, x = ad.compile(fn), _x()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(f, fn, x)
        row.scale = 5.0
        _same(f, fn, x)
    assert f.traces == 2
    row.cases = lambda: None  # another function in its place: traced again, by identity
    _same(f, fn, x)
    assert f.traces == 3


def test_a_helper_that_changes_what_it_reads_traces_again():
    calls = {"n": 0}

    def helper(x):
        calls["n"] += 1
        return x * float(calls["n"])

    fn = lambda x: helper(x).sum()  # noqa: E731
    f, x = ad.compile(fn), _x()
    for _ in range(3):
        want = x.data.sum() * (calls["n"] + 1)
        np.testing.assert_allclose(f(x).item(), want, **EXACT)
    assert f.traces == 3


def test_under_another_profiler_every_function_met_is_walked_first():
    import sys

    seen = []
    cfg = {"scale": 1.0}

    def helper(x):
        return x * cfg["scale"]

    fn = lambda x: helper(x).sum()  # noqa: E731
    f, x = ad.compile(fn), _x()
    sys.setprofile(lambda frame, event, arg: seen.append(event))
    try:
        _same(f, fn, x)
        cfg["scale"] = 4.0
        _same(f, fn, x)
    finally:
        sys.setprofile(None)
    assert seen and f.traces == 2  # the user's profiler kept running, and the change was seen


@pytest.mark.parametrize("draw", ["np.random.normal", "random.random"])
def test_a_draw_from_the_modules_own_generators_runs_eagerly(draw):
    import random

    fns = {"np.random.normal": lambda x: (x + np.random.normal(size=3)).sum(),
           "random.random": lambda x: (x * random.random()).sum()}
    f, x = ad.compile(fns[draw]), ad.Tensor(np.ones(3))
    with pytest.warns(RuntimeWarning, match="draws from a random generator"):
        first = f(x).item()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once
        assert len({first, f(x).item(), f(x).item()}) == 3


# what a user's object or model holds but the code never names -------------------------------------
class _Net(nn.Module):
    def __init__(self, data):
        super().__init__()
        self.lin = nn.Linear(3, 2, rng=np.random.default_rng(0))
        self.data = data  # a dataset the model holds: no code below reads it
        self.offset = np.zeros(2)  # read by forward: compared by contents

    def forward(self, x):
        return self.lin(x) + self.offset


class _Trainer:
    def __init__(self, data):
        self.model, self.X, self.scale = _Net(data), data, 2.0

    def loss(self, x):
        return (self.model(x) * self.scale).sum()


def test_a_dataset_held_but_never_named_is_not_compared_on_every_call():
    data = np.random.default_rng(1).normal(size=(50, 3))
    tr = _Trainer(data)
    f, x = ad.compile(tr.loss), _x()
    _same(f, tr.loss, x)
    data[...] = 0.0  # written in place: no code reads it, nothing to trace again
    _same(f, tr.loss, x)
    assert f.traces == 1
    tr.model.offset[...] = 1.0  # what forward reads, written in place: followed
    tr.scale = 3.0  # what loss reads: followed
    _same(f, tr.loss, x)
    assert f.traces == 2
    tr.model.data = np.ones((2, 2))  # even an unread attribute replaced: traced again (its identity is watched)
    tr.X = np.ones(3)  # the trainer's own unread attribute: not watched at all
    _same(f, tr.loss, x)
    assert f.traces == 3


def test_an_instance_attribute_hiding_a_class_attribute_is_followed():
    class Scaled:
        factor = 2.0

        def __call__(self, x):
            return (x * self.factor).sum()

    s = Scaled()
    f, x = ad.compile(lambda x: s(x)), _x()
    _same(f, lambda x: s(x), x)
    s.factor = 5.0  # an instance attribute now hides the class's
    _same(f, lambda x: s(x), x)
    Scaled.factor = 7.0  # hidden: no change
    del s.factor  # the class's again
    _same(f, lambda x: s(x), x)


def test_attributes_read_by_a_computed_name_are_all_watched():
    class Config:  # a plain object: only the attributes code names are watched, unless code reads them by name
        pass

    cfg = Config()
    cfg.label_smoothing, cfg.reduction = 0.0, "mean"
    z, t = ad.Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True), np.array([0, 1, 2, 1])
    fn = lambda z: F.cross_entropy(z, t, **vars(cfg))  # noqa: E731
    f = ad.compile(fn)
    _same(f, fn, z)
    cfg.label_smoothing = 0.2
    _same(f, fn, z)
    cfg.reduction = "sum"
    _same(f, fn, z)
    assert f.traces == 3
