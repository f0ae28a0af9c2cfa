"""`ad.compile`: the replay computes what the eager function computes, value and gradient, on every
op in the table and on random programs; it retraces exactly when SPEC §7 says; it trains a model to
the same weights; it falls back to eager code where it must."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn
from autodiff.testing.programs import programs
from tests.op_table import ROWS

rows = pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
EXACT = dict(rtol=1e-12, atol=1e-12)


def _weighted(fn, weights_rng):
    """A scalar from fn's outputs with fixed random weights: every output element gets its own δ."""
    cache: dict = {}

    def scalar(*ts):
        outs = fn(*ts)
        outs = outs if isinstance(outs, tuple) else (outs,)
        total = None
        for k, o in enumerate(outs):
            if k not in cache:
                cache[k] = weights_rng.normal(size=o.shape).astype(o.dtype)
            term = (o * cache[k]).sum()
            total = term if total is None else total + term
        return total

    return scalar


def _value_and_grads(fn, arrays, dtype=np.float64):
    xs = [ad.Tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    out = fn(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


def _replays(compiled):
    """Whether compiled has a trace to replay (rather than running its function eagerly)."""
    return any(t is not None for t in compiled._cache.values())


def _agree(fn, arrays_list, unused_inputs_ok=False):
    """compile(fn) and fn agree, value and every gradient, on each list of input arrays in turn
    (the first call traces, the others replay). A function that leaves an input unused runs
    eagerly (with a warning); `unused_inputs_ok` skips such a draw rather than failing it."""
    # Eagerly first: `_weighted` fills its cache of weights on its first call, and a function that
    # changes what it reads while traced traces once more (a replay would not repeat the change).
    _value_and_grads(fn, arrays_list[0])
    compiled = ad.compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if unused_inputs_ok else "error")
        _value_and_grads(compiled, arrays_list[0])
    if unused_inputs_ok:
        assume(_replays(compiled))
    assert _replays(compiled)
    for arrays in arrays_list:
        v1, g1 = _value_and_grads(compiled, arrays)
        v0, g0 = _value_and_grads(fn, arrays)
        np.testing.assert_allclose(v1, v0, **EXACT)
        for a, b in zip(g1, g0):
            assert (a is None) == (b is None)
            if a is not None:
                assert a.shape == b.shape and a.dtype == b.dtype
                np.testing.assert_allclose(a, b, **EXACT)
    return compiled


@rows
@settings(max_examples=max(5, settings().max_examples // 3))
@given(data=st.data())
def test_every_op_replays_to_the_eager_values_and_gradients(row, data):
    arrays, static = data.draw(row.cases(np.float64))
    # A second draw of the same shapes: the replay must read its inputs afresh.
    rng = np.random.default_rng(0)
    again = [a + rng.normal(size=a.shape) * 1e-3 if a.dtype.kind == "f" else a for a in arrays]
    fn = _weighted(lambda *ts: row.ours(*ts, **static), np.random.default_rng(1))
    compiled = _agree(fn, [arrays, again, arrays])
    assert compiled.traces == 1


@settings(max_examples=max(10, settings().max_examples))
@given(programs(max_steps=10))
def test_random_programs_replay_to_the_eager_values_and_gradients(program):
    fn = _weighted(program, np.random.default_rng(2))
    arrays = program.inputs
    rng = np.random.default_rng(3)
    # Small moves keep each step in the value domain the program was drawn for.
    again = [a + rng.normal(size=a.shape) * 1e-4 for a in arrays]
    compiled = _agree(fn, [arrays, again], unused_inputs_ok=True)
    assert compiled.traces == 1


def _mlp(seed=0):
    return nn.MLP([2, 8, 8, 3], activation="tanh", rng=np.random.default_rng(seed))


def _data():
    X, t = nn.datasets.spiral(60, 0.1, np.random.default_rng(4))
    return ad.Tensor(X), t


@pytest.mark.parametrize("make_opt", [
    lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: nn.Adam(ps, lr=0.01),
])
def test_an_optimizer_trains_a_compiled_model_to_the_eager_weights(make_opt):
    X, t = _data()
    eager, other = _mlp(), _mlp()
    loss = ad.compile(lambda x, t: nn.functional.cross_entropy(other(x), t))
    opt_e, opt_c = make_opt(list(eager.parameters())), make_opt(list(other.parameters()))
    for _ in range(25):
        for opt, f in ((opt_e, lambda: nn.functional.cross_entropy(eager(X), t)), (opt_c, lambda: loss(X, t))):
            opt.zero_grad()
            E = f()
            E.backward()
            opt.step()
    assert loss.traces == 1
    for (name, p), q in zip(eager.named_parameters(), other.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)  # bit for bit: the replay sums δ in the eager order


def test_a_compiled_module_is_called_as_the_module_and_records_one_node():
    model = _mlp()
    compiled = ad.compile(model)
    X, _ = _data()
    y = compiled(X)
    assert y.op.startswith("compiled") and all(p.is_leaf for p in y._parents)
    assert {id(p) for p in y._parents} == {id(p) for p in model.parameters()}
    np.testing.assert_allclose(y.data, model(X).data, **EXACT)
    assert [id(p) for p in compiled.parameters()] == [id(p) for p in model.parameters()]
    assert "def call" in compiled.code and "def backward" in compiled.code


def test_parameters_are_read_afresh_on_every_call():
    W = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    f = ad.compile(lambda x: (x @ W).sum())
    x = ad.Tensor(np.ones((1, 2)))
    assert f(x).item() == 6.0
    W.data *= 2  # in place
    assert f(x).item() == 12.0
    W.data = np.full((2, 3), 3.0)  # a new array of the same shape
    assert f(x).item() == 18.0
    assert f.traces == 1


def test_it_traces_again_on_each_change_spec_7_lists():
    W = ad.Tensor(np.ones((2, 3)), requires_grad=True)
    f = ad.compile(lambda x: (x @ W).tanh().sum())
    x = ad.Tensor(np.ones((4, 2)))
    f(x)
    f(ad.Tensor(np.ones((4, 2))))
    assert f.traces == 1  # same shape, dtype, requires_grad: a replay
    f(ad.Tensor(np.ones((5, 2))))
    assert f.traces == 2  # shape
    f(ad.Tensor(np.ones((4, 2)), dtype=np.float32))
    assert f.traces == 3  # dtype
    y = f(ad.Tensor(np.ones((4, 2)), requires_grad=True))
    assert f.traces == 4  # requires_grad
    assert len(y._parents) == 2
    with ad.no_grad():
        y = f(x)
    assert f.traces == 5 and not y.requires_grad and y.is_leaf  # grad mode
    f(ad.Tensor(np.ones((5, 2))))
    assert f.traces == 5  # shapes seen before replay their trace
    W.requires_grad = False
    y = f(x)
    assert f.traces == 6 and not y.requires_grad  # a parameter frozen


def test_a_changed_set_of_parameters_traces_again():
    model = _mlp()
    f = ad.compile(model)
    X, _ = _data()
    f(X)
    model.layers[0] = nn.Linear(2, 8, rng=np.random.default_rng(9))  # in place in a list: seen too
    y = f(X)
    assert f.traces == 2
    np.testing.assert_allclose(y.data, model(X).data, **EXACT)
    assert any(p is model.layers[0].weight for p in y._parents)
    nn.Linear(3, 3)  # another module made: the parameters f reaches did not change
    f(X)
    assert f.traces == 2


def test_a_rebound_closure_variable_traces_again():
    W = ad.Tensor(np.ones((2, 2)), requires_grad=True)

    def f(x):
        return (x @ W).sum()

    c = ad.compile(f)
    x = ad.Tensor(np.ones((1, 2)))
    assert c(x).item() == 4.0
    W = ad.Tensor(np.full((2, 2), 2.0), requires_grad=True)  # read by f's closure
    assert c(x).item() == 8.0 and c.traces == 2


def test_array_arguments_are_read_per_call_not_baked():
    model = _mlp()
    loss = ad.compile(lambda x, t: nn.functional.cross_entropy(model(x), t))
    X, t = _data()
    for targets in (t, (t + 1) % 3, np.zeros_like(t)):
        np.testing.assert_allclose(loss(X, targets).data, nn.functional.cross_entropy(model(X), targets).data, **EXACT)
    assert loss.traces == 1
    # inside an index tuple too: the lecture's −log softmax(z)[n, t_n], composed from ops
    picked = ad.compile(lambda x, t: -model(x).log_softmax(axis=-1)[np.arange(len(t)), t].mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for targets in (t, (t + 2) % 3):
            np.testing.assert_allclose(picked(X, targets).data, nn.functional.cross_entropy(model(X), targets).data,
                                       rtol=1e-12)
    assert picked.traces == 1


def test_leaves_never_share_a_gradient_array():
    a = ad.Tensor(np.ones(3), requires_grad=True)
    b = ad.Tensor(np.ones(3), requires_grad=True)
    f = ad.compile(lambda x: ((a + b) * x).sum())  # add passes one δ to both
    f(ad.Tensor(np.arange(3.0))).backward()
    assert a.grad is not b.grad
    a.grad[0] = 99.0
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 2.0])


def test_under_detect_anomaly_it_runs_eagerly_and_names_the_op():
    f = ad.compile(lambda x: x.log().sum())
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    f(x)
    with ad.detect_anomaly(), pytest.raises(FloatingPointError, match="log"):
        f(ad.Tensor([0.0, 1.0], requires_grad=True))
    assert f.traces == 1


def test_create_graph_differentiates_the_eager_function_again():
    W = ad.Tensor(np.random.default_rng(0).normal(size=(3, 3)), requires_grad=True)

    def energy(x):
        return ((x @ W).tanh() ** 2).sum()

    x = ad.Tensor(np.random.default_rng(1).normal(size=(2, 3)), requires_grad=True)
    h_eager = ad.functional.hessian(energy)(x)
    h_compiled = ad.functional.hessian(ad.compile(energy))(x)
    np.testing.assert_allclose(h_compiled.data, h_eager.data, **EXACT)


def test_a_where_inside_keeps_the_unselected_branch_out_of_the_gradient():
    def f(x):
        return ad.where(x.data > 0, x.sqrt(), 0.0).sum()

    x = np.array([-1.0, 0.0, 4.0])
    c = ad.compile(f)
    with np.errstate(invalid="ignore"):
        for _ in range(2):
            _, (g,) = _value_and_grads(c, [x])
            np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])


def test_a_where_outside_keeps_the_compiled_node_clean():
    W = ad.Tensor(np.array([[1.0, 0.0]]), requires_grad=True)
    f = ad.compile(lambda x: (x @ W).log())
    x = ad.Tensor(np.array([[2.0]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = f(x)
        ad.where(y.data > -np.inf, y, 0.0).sum().backward()  # selects log(2), not log(0), whose δ would be 0/0
    np.testing.assert_array_equal(W.grad, [[1.0, 0.0]])  # d log(2w)/dw = 1/w; nothing from log(0)


def test_written_out_ops_below_a_where_outside_replay_as_eagerly():
    """Written-out ops keep each saved value once (no tuple per op); below a `where` outside, their
    VJPs are called with where-safety on the saved tuples rebuilt from those values."""
    b = ad.Tensor(np.array([0.5, 2.0, -1.0]), requires_grad=True)

    def fn(x):
        y = (0.9 * x + 0.1).tanh() * x  # x kept once for both the multiplication and its own δ
        return y * y * b - y

    f = ad.compile(fn)
    x = ad.Tensor(np.array([np.inf, 1.5, -0.3]), requires_grad=True)
    keep = np.array([False, True, True])
    grads = []
    for g in (f, fn):
        x.grad = b.grad = None
        with np.errstate(invalid="ignore", over="ignore"):
            ad.where(keep, g(x), 0.0).sum().backward()  # δ of x at ∞ is 0 · ∞ unguarded: NaN
        grads.append((x.grad.copy(), b.grad.copy()))
    assert f.traces == 1 and np.isfinite(grads[0][0]).all()
    for got, want in zip(*grads):
        np.testing.assert_array_equal(got, want)


def test_dropout_in_training_runs_eagerly_with_a_warning_and_compiles_in_eval():
    model = nn.Sequential(nn.Linear(2, 4, rng=np.random.default_rng(0)), nn.Dropout(0.5), nn.Tanh())
    f = ad.compile(model)
    X, _ = _data()
    with pytest.warns(RuntimeWarning, match="Dropout"):
        a, b = f(X), f(X)
    assert not np.array_equal(a.data, b.data)  # fresh masks: it really ran eagerly
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = f(X)
    np.testing.assert_allclose(y.data, model(X).data, **EXACT)
    assert y.op.startswith("compiled")


def test_a_parameter_changed_between_forward_and_backward_is_refused_as_eagerly():
    W = ad.Tensor(np.ones((2, 2)), requires_grad=True)
    f = ad.compile(lambda x: (x @ W).sum())
    y = f(ad.Tensor(np.ones((1, 2))))
    from autodiff.tensor import mark_modified

    W.data += 1
    mark_modified([W])
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        y.backward()
    assert W.grad is None


def test_bad_uses_get_clear_errors():
    with pytest.raises(TypeError, match=r"function or an nn\.Module"):
        ad.compile(3)
    W = ad.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="return one Tensor"):
        ad.compile(lambda x: (x * W, x))(ad.Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="neither an array nor hashable"):
        ad.compile(lambda x, opts: x * W)(ad.Tensor(np.ones(2)), {1})
    assert W.grad is None


def test_compiling_twice_gives_the_same_object_and_nesting_traces_through():
    W = ad.Tensor(np.ones((2, 2)), requires_grad=True)
    inner = ad.compile(lambda x: (x @ W).tanh())
    assert ad.compile(inner) is inner
    outer = ad.compile(lambda x: inner(x).sum() * 2.0)
    x = ad.Tensor(np.ones((3, 2)))
    outer(x).backward()
    g = W.grad.copy()
    W.grad = None
    ((x @ W).tanh().sum() * 2.0).backward()
    np.testing.assert_allclose(g, W.grad, **EXACT)
    assert inner.traces == 0 and outer.traces == 1


def test_a_copy_is_compiled_afresh_and_a_compiled_graph_refuses_to_pickle():
    import copy
    import pickle

    model = _mlp()
    f = ad.compile(model)
    X, _ = _data()
    y = f(X)
    g = copy.deepcopy(f)
    assert isinstance(g, type(f)) and g.traces == 0 and g.fn is not model
    np.testing.assert_allclose(g(X).data, y.data, **EXACT)
    assert pickle.loads(pickle.dumps(f)).traces == 0
    with pytest.raises(TypeError, match="detach"):
        pickle.dumps(y)
    assert pickle.loads(pickle.dumps(y.detach())).shape == y.shape


def test_an_argument_converted_before_any_op_runs_eagerly_rather_than_being_baked_in():
    model = _mlp()
    X, t = _data()
    loss = ad.compile(lambda x, t: nn.functional.cross_entropy(model(x), t))
    with pytest.warns(RuntimeWarning, match="argument 1 never reached an op"):
        a = loss(X, t.astype(np.float64))  # converted to integers inside: a copy the replay could not see
    b = loss(X, ((t + 1) % 3).astype(np.float64))
    assert a.item() != b.item()
    np.testing.assert_allclose(b.data, nn.functional.cross_entropy(model(X), (t + 1) % 3).data, **EXACT)
    through_data = ad.compile(lambda x: model(x.data).sum())  # x.data handed on: still read per call
    for scale in (1.0, 2.0):
        x = ad.Tensor(X.data * scale)
        np.testing.assert_allclose(through_data(x).data, model(x).sum().data, **EXACT)
    assert through_data.traces == 1


@pytest.mark.parametrize("where_inside", [True, False])
def test_where_safety_holds_through_a_compiled_function(where_inside):
    # Row 1 of the logits holds −∞ and +∞ (log of 0, 1/0): softmax there is NaN, and the `where`
    # keeps only row 0. The gradient must be row 0's alone, as eagerly.
    x = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]])
    keep = np.array([[True] * 3, [False] * 3])
    w = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, 1.0]])  # a softmax row's plain sum has no gradient

    def body(x):
        poisoned = ad.concatenate([x[:1], x[1:].log() / x[1:2, :1]], axis=0)
        return poisoned.softmax(axis=-1)

    def inner(x):
        return (ad.where(keep, body(x), 0.0) * w).sum() if where_inside else body(x)

    def outer(f):
        return (lambda x: f(x)) if where_inside else (lambda x: (ad.where(keep, f(x), 0.0) * w).sum())

    with np.errstate(all="ignore"):
        _, (eager,) = _value_and_grads(outer(inner), [x])
        compiled = ad.compile(inner)
        for _ in range(2):
            _, (got,) = _value_and_grads(outer(compiled), [x])
            np.testing.assert_array_equal(got, eager)
    assert np.isfinite(eager).all() and np.abs(eager[0]).sum() > 0 and not eager[1].any()


def test_threads_share_a_compiled_function():
    import threading

    model = _mlp()
    f = ad.compile(lambda x: model(x).tanh().sum())
    rng = np.random.default_rng(5)
    inputs = [rng.normal(size=(n, 2)) for n in (3, 5, 3, 7, 5, 3)]
    expected = [model(ad.Tensor(x)).tanh().sum().item() for x in inputs]
    results: dict = {}

    def work(k):
        for _ in range(20):
            results.setdefault(k, []).append(f(ad.Tensor(inputs[k])).item())
        with ad.no_grad():  # another grad mode in this thread only
            results[k].append(f(ad.Tensor(inputs[k])).item())

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, want in enumerate(expected):
        assert results[k] == [pytest.approx(want, rel=1e-12)] * 21
    assert ad.is_grad_enabled()


def _zoo():
    rng = np.random.default_rng(0)
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16, 3, rng=rng))  # max-pooling pads with −∞: a static argument
    norm = nn.Sequential(nn.Linear(5, 6, rng=rng), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 2, rng=rng))
    batch = nn.Sequential(nn.Linear(5, 6, rng=rng), nn.BatchNorm1d(6), nn.Dropout(0.3), nn.Softplus(),
                          nn.LeakyReLU(), nn.Linear(6, 2, rng=rng))
    batch(ad.Tensor(rng.normal(size=(8, 5))))  # running statistics from one training batch
    batch.eval()
    return [("conv", conv, (2, 1, 4, 4)), ("layernorm-gelu", norm, (4, 5)), ("batchnorm-eval", batch, (4, 5))]


@pytest.mark.parametrize("name,model,shape", _zoo(), ids=[z[0] for z in _zoo()])
def test_nn_layers_compile_to_the_eager_values_and_gradients(name, model, shape):
    f = ad.compile(model)
    params = list(model.parameters())
    x = np.random.default_rng(1).normal(size=shape)
    for scale in (1.0, 1.5, 0.5):
        X = ad.Tensor(x * scale)
        got, want = f(X), model(X)
        np.testing.assert_allclose(got.data, want.data, **EXACT)
        w = np.random.default_rng(2).normal(size=want.shape)
        for a, b in zip(ad.grad((got * w).sum(), params), ad.grad((want * w).sum(), params)):
            np.testing.assert_allclose(a.data, b.data, **EXACT)
    assert f.traces == 1


def test_hooks_run_on_parameters_and_a_hook_inside_the_function_runs_it_eagerly():
    W = ad.Tensor(np.ones((2, 2)), requires_grad=True)
    seen = []
    W.register_hook(lambda g: seen.append(g.data.copy()))
    f = ad.compile(lambda x: (x @ W).sum())
    f(ad.Tensor(np.ones((1, 2)))).backward()
    assert len(seen) == 1 and seen[0].shape == (2, 2)

    inner = []

    def g(x):
        h = x @ W
        h.register_hook(lambda d: inner.append(d.data.copy()))
        return h.tanh().sum()

    c = ad.compile(g)
    with pytest.warns(RuntimeWarning, match="hook"):
        c(ad.Tensor(np.ones((1, 2)))).backward()
    c(ad.Tensor(np.ones((1, 2)))).backward()
    assert len(inner) == 2  # both calls ran g itself, hook and all


def test_a_changed_module_setting_traces_again():
    act = nn.LeakyReLU(0.1)
    f = ad.compile(act)
    x = ad.Tensor(np.array([-1.0, 2.0]))
    assert f(x).data[0] == pytest.approx(-0.1)
    act.negative_slope = 0.5
    assert f(x).data[0] == pytest.approx(-0.5) and f.traces == 2


def test_a_mask_from_the_values_runs_eagerly_rather_than_being_replayed():
    f = ad.compile(lambda x: ad.where(x > 0, x, 0.1 * x).sum())
    with pytest.warns(RuntimeWarning, match="compares values"):
        assert f(ad.Tensor([1.0, -1.0])).item() == pytest.approx(0.9)
    assert f(ad.Tensor([-1.0, 1.0])).item() == pytest.approx(0.9)
    assert f(ad.Tensor([-1.0, -1.0])).item() == pytest.approx(-0.2)  # eagerly, with this call's mask


@pytest.mark.parametrize("view", [
    lambda x: x[:, :3],  # a slice of an array argument
    lambda x: x.T[:3].T,  # a view of a view
    lambda x: x.reshape(-1).reshape(len(x), -1)[:, 1:],  # through a reshape
])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_numpy_view_of_an_argument_runs_eagerly_with_a_warning(view, as_tensor):
    """A constant that is a NumPy view of an argument's array would replay the first call's values:
    the function runs eagerly instead, with one warning naming the argument (it was silently stale)."""
    m = nn.Linear(4, 3, rng=np.random.default_rng(0))
    f = ad.compile(lambda x: nn.functional.mse_loss(m(x), view(x.data if as_tensor else x)))
    rng = np.random.default_rng(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            x = rng.normal(size=(5, 4))
            x = ad.Tensor(x) if as_tensor else x
            want = nn.functional.mse_loss(m(x), view(x.data if as_tensor else x)).item()
            assert f(x).item() == want
    assert len(caught) == 1 and "argument 0 through a NumPy view" in str(caught[0].message)
    # a view of something else (here a global array) is a constant, read by identity as before
    table = rng.normal(size=(5, 6))
    g = ad.compile(lambda x: nn.functional.mse_loss(m(x), table[:, :3]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = rng.normal(size=(5, 4))
        assert g(x).item() == g(x).item() == nn.functional.mse_loss(m(x), table[:, :3]).item()
