"""A whole training step compiled (`opt.compile_step(loss_fn)`): forward, loss, backward and the
optimizer's update trained bit for bit as the eager step, allocating nothing after the first step."""

from __future__ import annotations

import itertools
import re
import tracemalloc
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

OPTIMIZERS = {
    "sgd": lambda ps: nn.SGD(ps, lr=0.1),
    "momentum": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
    "nesterov+decay": lambda ps: nn.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
    "dampening": lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3),
    "adam": lambda ps: nn.Adam(ps, lr=0.01),
    "adam+decay+amsgrad": lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.01, amsgrad=True),
    "adamw": lambda ps: nn.AdamW(ps, lr=0.01),
}


def _setup(act="tanh", loss="ce", dtype=np.float64, sizes=(4, 8, 3), n=16, extra=None, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append({"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}[act]())
            if extra:
                layers.append(extra(b))
    model = nn.Sequential(*layers)
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    X = ad.Tensor(rng.normal(size=(n, sizes[0])), dtype=dtype)
    t = rng.integers(0, sizes[-1], n) if loss == "ce" else rng.normal(size=(n, sizes[-1])).astype(dtype)
    fn = (lambda x, t: F.cross_entropy(model(x), t)) if loss == "ce" else (lambda x, t: F.mse_loss(model(x), t))
    return model, X, t, fn


def _train(compiled, make_opt, steps=6, **kw):
    model, X, t, fn = _setup(**kw)
    opt = make_opt(model.parameters())
    step = opt.compile_step(fn) if compiled else None
    losses = []
    for i in range(steps):
        if i == 3:
            opt.lr = opt.lr * 0.5  # a schedule changes the rate mid-way: read afresh on every step
        if compiled:
            E = step(X, t)
        else:
            opt.zero_grad()
            E = fn(X, t)
            E.backward()
            opt.step()
        losses.append(E.data.copy())
    return model, losses, [p.grad.copy() for p in model.parameters()], step


def _bitwise(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def _both(step, fn0, opt0, *args):
    """One compiled step, and the same step eagerly on the twin (`fn0`, `opt0`): the same loss, bit for bit."""
    E = step(*args)
    opt0.zero_grad()
    E0 = fn0(*args)
    E0.backward()
    opt0.step()
    np.testing.assert_array_equal(E.data, E0.data)
    return E


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("act,loss", [("tanh", "ce"), ("relu", "mse"), ("relu", "ce"), ("sigmoid", "mse")])
def test_compiled_step_trains_bit_for_bit_as_the_eager_step(opt, act, loss):
    for dtype in (np.float64, np.float32):
        m0, l0, g0, _ = _train(False, OPTIMIZERS[opt], act=act, loss=loss, dtype=dtype)
        m1, l1, g1, step = _train(True, OPTIMIZERS[opt], act=act, loss=loss, dtype=dtype)
        _bitwise([p.data for p in m1.parameters()], [p.data for p in m0.parameters()])
        _bitwise(l1, l0)
        _bitwise(g1, g0)
        assert step.traces == 1 and step.eager_steps == 0
        assert "def update():" in step.code and "def fused(" in step.code  # after the first step, one function


def test_large_layers_take_the_ops_large_array_paths_bit_for_bit():
    # tanh's VJP switches to in-place arithmetic past 4,096 elements; the optimizer updates in blocks
    kw = dict(act="tanh", loss="ce", sizes=(300, 256, 10), n=64)
    m0, l0, g0, _ = _train(False, OPTIMIZERS["adam"], steps=3, **kw)
    m1, l1, g1, _ = _train(True, OPTIMIZERS["adam"], steps=3, **kw)
    _bitwise([p.data for p in m1.parameters()], [p.data for p in m0.parameters()])
    _bitwise(l1, l0)
    _bitwise(g1, g0)


@pytest.mark.parametrize("opt", ["momentum", "adam+decay+amsgrad"])
def test_the_fused_step_follows_every_change_between_steps(opt):
    """The whole step as one function updates a large weight in blocks through views cut once:
    whatever would make those views or its plan stale sends the step down the general path."""
    kw = dict(act="relu", loss="ce", sizes=(300, 256, 10), n=32)  # 300 × 256 doubles: 3 blocks of 256 KB
    model, X, t, fn = _setup(**kw)
    twin, _, _, fn_twin = _setup(**kw)
    spare, spare_twin = (ad.Tensor(np.ones(3), requires_grad=True) for _ in range(2))  # optimized, never reached
    o = OPTIMIZERS[opt]([*model.parameters(), spare])
    o_twin = OPTIMIZERS[opt]([*twin.parameters(), spare_twin])
    step = o.compile_step(fn)
    big, big_twin = model.layers[0].weight, twin.layers[0].weight
    rng = np.random.default_rng(1)
    new = rng.normal(size=big.shape) * 0.05
    seen = []
    changes = [
        lambda m, p, o: None,
        lambda m, p, o: None,
        lambda m, p, o: setattr(p, "data", new.copy()),  # the blocked weight's array replaced
        lambda m, p, o: None,
        lambda m, p, o: o.zero_grad(),  # the user's own habit, before the step
        lambda m, p, o: setattr(m.layers[2], "bias", m.layers[2].bias),  # a no-op reassignment
        lambda m, p, o: [q.__setattr__("grad", np.full(q.shape, 7.0)) for q in o.params],  # stale grads everywhere
        lambda m, p, o: setattr(o, "lr", o.lr * 0.5),
        lambda m, p, o: p.register_hook(lambda g: seen.append(1)) if m is model else p.register_hook(lambda g: None),
    ]
    for change in changes:
        change(model, big, o)
        change(twin, big_twin, o_twin)
        _both(step, fn_twin, o_twin, X, t)
        _bitwise([p.data for p in o.params], [p.data for p in o_twin.params])
        _bitwise([p.grad for p in model.parameters()], [p.grad for p in twin.parameters()])
        assert spare.grad is None and spare_twin.grad is None
    assert "for u0_w, u0_g" in step.code  # the large weight went in blocks
    assert "def fused(" in step.code and seen == [1]
    np.testing.assert_array_equal(spare.data, np.ones(3))


def test_ops_without_a_kernel_still_step_bit_for_bit():
    kw = dict(act="tanh", loss="mse", extra=nn.LayerNorm)
    m0, l0, _, _ = _train(False, OPTIMIZERS["momentum"], **kw)
    m1, l1, _, step = _train(True, OPTIMIZERS["momentum"], **kw)
    _bitwise([p.data for p in m1.parameters()], [p.data for p in m0.parameters()])
    _bitwise(l1, l0)
    assert re.search(r"t\d+, S\d+ = ", step.code)  # LayerNorm ran as its op (no kernel), in the same step


def _bytes_per_step(step_fn, steps=5):
    step_fn()
    step_fn()
    tracemalloc.start()
    try:
        peaks = []
        for _ in range(steps):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step_fn()
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return max(peaks)


@pytest.mark.parametrize("act,loss", [("tanh", "ce"), ("relu", "mse")])
def test_a_compiled_step_allocates_nothing_after_the_first(act, loss):
    model, X, t, fn = _setup(act=act, loss=loss, sizes=(64, 128, 64, 10), n=128)
    opt = nn.SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = opt.compile_step(fn)

    def eager():
        opt.zero_grad()
        fn(X, t).backward()
        opt.step()

    compiled_bytes = _bytes_per_step(lambda: step(X, t))
    eager_bytes = _bytes_per_step(eager)
    # NumPy's iterator takes a transient buffer (8,192 elements) for a broadcast operand, as in
    # the hand-written step's `z += b`: the one allocation a NumPy step cannot avoid.
    B, b = np.ones((128, 128)), np.ones(128)
    iterator_buffer = _bytes_per_step(lambda: np.add(B, b, out=B))
    activation = 128 * 128 * 8
    assert eager_bytes > 2 * activation  # the eager step allocates its activations …
    assert compiled_bytes < iterator_buffer + 4096, compiled_bytes  # … the compiled one only the loss it returns


def test_the_compiled_step_is_never_stale():
    model, X, t, fn = _setup(act="tanh", loss="ce")
    twin, _, _, fn_twin = _setup(act="tanh", loss="ce")
    opt, opt_twin = nn.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    step = opt.compile_step(fn)

    for _ in range(3):
        _both(step, fn_twin, opt_twin, X, t)
    rng = np.random.default_rng(5)
    for m in (model, twin):  # a layer's setting and a weight replaced
        new = rng.normal(size=m.layers[2].weight.shape)
        rng = np.random.default_rng(5)
        m.layers[2].weight = nn.Parameter(new)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt_twin = nn.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    step = opt.compile_step(fn)
    for _ in range(3):
        _both(step, fn_twin, opt_twin, X, t)
    _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])


def test_a_hook_on_a_parameter_runs_the_step_eagerly():
    model, X, t, fn = _setup()
    seen = []
    model.layers[0].weight.register_hook(lambda g: seen.append(g.data.copy()))
    opt = nn.SGD(model.parameters(), lr=0.1)
    step = opt.compile_step(fn)
    step(X, t)
    step(X, t)
    assert len(seen) == 2 and step.eager_steps == 2


def test_a_loss_that_cannot_compile_steps_eagerly_with_one_warning():
    model, X, t, _ = _setup(extra=lambda n: nn.Dropout(0.5))
    opt = nn.SGD(model.parameters(), lr=0.1)
    step = opt.compile_step(lambda x, t: F.cross_entropy(model(x), t))
    with pytest.warns(RuntimeWarning, match="Dropout"):
        step(X, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E = step(X, t)
    assert np.isfinite(E.item()) and step.eager_steps == 2


def test_ignored_targets_appearing_later_are_checked_on_every_step():
    model, X, t, _ = _setup(loss="ce")
    twin, _, _, _ = _setup(loss="ce")
    fn = lambda m, x, t: F.cross_entropy(m(x), t, ignore_index=1)  # noqa: E731
    opt, opt_twin = nn.SGD(model.parameters(), lr=0.1), nn.SGD(twin.parameters(), lr=0.1)
    step = opt.compile_step(fn)
    t0 = np.where(t == 1, 0, t)
    for targets in (t0, t0, t, t0):
        _both(lambda *a: step(model, *a), lambda *a: fn(twin, *a), opt_twin, X, targets)
    _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])
    with pytest.raises(ValueError, match="out of range"):
        step(model, X, np.full(len(t), 7))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, ">i8"])
@pytest.mark.parametrize("ignore_index", [-100, -1, 2, 300])
def test_the_replays_target_check_answers_as_the_eager_one(dtype, ignore_index):
    """The replay's quick check (one reduction for int64 seen as uint64) against `_class_indices`,
    which the eager loss runs: the same choice, or the same error."""
    from nn.functional import _class_indices, _ignored_targets

    rng = np.random.default_rng(0)
    info = np.iinfo(np.dtype(dtype))
    for n_classes in (3, 200):
        cases = [rng.integers(0, min(n_classes, info.max + 1), 6), [0, 1, n_classes - 1], [0, -1, 1], [-100, 0, 1],
                 [0, 2, 1], [n_classes, 0, 0], [info.min, 0, 0], [info.max, 0, 0]]
        for case in cases:
            t = np.array(np.clip(case, info.min, info.max)).astype(dtype)
            try:
                want = _class_indices(t, (len(t), n_classes), ignore_index, "cross_entropy")[1]
            except ValueError as e:
                with pytest.raises(ValueError, match=re.escape(str(e))):
                    _ignored_targets(t, (len(t), n_classes), ignore_index)
            else:
                assert _ignored_targets(t, (len(t), n_classes), ignore_index) == want, (t, n_classes)


def test_a_changed_optimizer_setting_or_state_is_followed():
    """The written-out update reads rates afresh and checks its flags and state arrays each step."""
    model, X, t, fn = _setup(act="relu", loss="mse")
    twin, _, _, fn_twin = _setup(act="relu", loss="mse")
    opt, opt_twin = nn.SGD(model.parameters(), lr=0.1), nn.SGD(twin.parameters(), lr=0.1)
    step = opt.compile_step(fn)
    changes = [
        lambda o: None,
        lambda o: o.param_groups[0].update(momentum=0.9),
        lambda o: None,
        lambda o: o.param_groups[0].update(weight_decay=0.01, lr=0.05),
        lambda o: o.load_state_dict(o.state_dict()),  # new state arrays, same values
        lambda o: o.param_groups[0].update(nesterov=True),
        lambda o: None,
    ]
    for change in changes:
        change(opt)
        change(opt_twin)
        _both(step, fn_twin, opt_twin, X, t)
        _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])
    assert step.code.count("def update():") >= 3  # planned again after each change of flags or state


def test_the_step_benchmark_agrees_with_the_tight_reference(capsys):
    # agreement only (tiny sizes): `python -m benchmarks.step` prints MISMATCH and exits 1 otherwise
    from benchmarks import step as bench

    assert bench.main(["--tiny", "--budget", "0.01", "--only", "W1,W3,W4", "--dtypes", "float64"]) == 0
    table = capsys.readouterr().out
    assert "compiled step" in table and "MISMATCH" not in table


@pytest.mark.parametrize("n", [1, 7, 5000])  # 5,000 elements: past INLINE_BELOW, the ops' own VJPs
def test_written_out_ops_replay_bit_for_bit(n):
    """add, sub, mul and tanh are written out in the replay (no call): the same bits as the ops."""
    rng = np.random.default_rng(n)
    b = ad.Tensor(rng.normal(size=(1, n)), requires_grad=True)

    def fn(x):
        y = x
        for _ in range(20):
            y = (0.9 * y + 0.1).tanh() - b * y
        return (y * y).sum()

    f = ad.compile(fn)
    for seed in range(3):
        x = ad.Tensor(np.random.default_rng(seed).normal(size=(2, n)), requires_grad=True)
        got = f(x)
        got.backward()
        gx, gb = x.grad, b.grad
        x.grad = b.grad = None
        want = fn(x)
        want.backward()
        np.testing.assert_array_equal(got.data, want.data)
        np.testing.assert_array_equal(gx, x.grad)
        np.testing.assert_array_equal(gb, b.grad)
        b.grad = None
    assert ("np.tanh(" in f.code) and ("tanh_vjp0" in f.code) == (n >= 4096)


def test_parameters_named_like_the_generated_codes_locals():
    """A Tensor's name becomes its name in the code: `loss`, `t1` or `u0_w` must not be taken for a local."""
    def make():
        W = ad.Tensor(np.full((3, 2), 0.1), requires_grad=True, name="t1")
        b = ad.Tensor(np.zeros(2), requires_grad=True, name="loss")
        c = ad.Tensor(np.zeros(2), requires_grad=True, name="u0_w")
        return [W, b, c], lambda x: ((x @ W + b + c) ** 2).sum()

    (ps, fn), (ps0, fn0) = make(), make()
    opt, opt0 = nn.SGD(ps, lr=0.01), nn.SGD(ps0, lr=0.01)
    step = opt.compile_step(fn)
    x = ad.Tensor(np.ones((4, 3)))
    for _ in range(3):
        _both(step, fn0, opt0, x)
    _bitwise([p.data for p in ps], [p.data for p in ps0])


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
def test_parameters_passed_as_arguments_are_the_ones_updated(opt):
    """`step([W, b], x, t)`: one trace serves both models, and each step moves the parameters it was given."""
    def make():
        rng = np.random.default_rng(3)
        return [[ad.Tensor(rng.normal(size=(4, 3)), requires_grad=True), ad.Tensor(rng.normal(size=3), requires_grad=True)]
                for _ in range(2)]

    fn = lambda ps, x, t: F.cross_entropy(x @ ps[0] + ps[1], t)  # noqa: E731
    models, twins = make(), make()
    o = OPTIMIZERS[opt]([p for m in models for p in m])
    o_twin = OPTIMIZERS[opt]([p for m in twins for p in m])
    step = o.compile_step(fn)
    rng = np.random.default_rng(4)
    X, t = ad.Tensor(rng.normal(size=(8, 4))), rng.integers(0, 3, 8)
    for i in [0, 0, 0, 1, 0, 1, 1, 0]:
        _both(lambda *a, m=models[i]: step(m, *a), lambda *a, m=twins[i]: fn(m, *a), o_twin, X, t)
        _bitwise([p.data for p in o.params], [p.data for p in o_twin.params])
    assert step.traces == 1 and "def fused(" in step.code


# ---------------------------------------------------------------- found in review: each failed before its fix


def _twin_steps(make, n, between=None):
    """(compiled side, eager side) after n steps of `make()`'s (params, loss_fn, opt, args) each;
    `between(params)` runs on both sides after every step."""
    (ps, fn, opt, args), (ps0, fn0, opt0, _) = make(), make()
    step = opt.compile_step(fn)
    for _ in range(n):
        _both(step, fn0, opt0, *args)
        if between:
            between(ps)
            between(ps0)
    return ps, ps0


def test_two_parameters_never_share_one_grad_array():
    def make():
        a = ad.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        b = ad.Tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
        return [a, b], (lambda t: F.mse_loss(a + b, t)), nn.SGD([a, b], lr=0.1), (ad.Tensor(np.zeros(3)),)

    ps, ps0 = _twin_steps(make, 3)
    ps[0].grad *= 10  # one gradient scaled in place: the other must not change
    ps0[0].grad *= 10
    _bitwise([p.grad for p in ps], [p.grad for p in ps0])


@pytest.mark.parametrize("loss", ["seed", "view", "scalar"])
def test_writing_into_grad_between_steps_changes_nothing_else(loss):
    """torch's habit `p.grad[...] = 0` between steps: eagerly harmless. When `.grad` is the seed
    `ones` itself (a scalar added to the loss), zeroing it zeroes every later gradient (seed); a
    broadcast's read-only view (view) or a NumPy scalar (scalar) refuses the write."""
    def make():
        w = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
        s = ad.Tensor(np.array(0.5) if loss != "view" else np.array([0.5, 0.5]), requires_grad=True)
        x = ad.Tensor(np.array([3.0, 4.0]))
        fn = {"seed": lambda x: (w * x).sum() + s, "view": lambda x: (w * x).sum() + (s + x).sum(),
              "scalar": lambda x: (w * x).sum() + s * 2.0}[loss]
        return [w, s], fn, nn.SGD([w, s], lr=0.1), (x,)

    def zero(ps):
        for p in ps:
            p.grad[...] = 0.0

    ps, ps0 = _twin_steps(make, 4, between=zero)
    _bitwise([p.data for p in ps], [p.data for p in ps0])


class _ClippedSGD(nn.SGD):
    """A user's SGD that clips each gradient before stepping (an override of `step`)."""

    def step(self):
        for p in self.params:
            if p.grad is not None:
                np.clip(p.grad, -0.01, 0.01, out=p.grad)
        super().step()


class _PlainGD(nn.optim.optimizer.Optimizer):
    """A user's optimizer written as the base class says: the defaults and `step()`."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    def step(self):
        for p in self.params:
            if p.grad is not None:
                p.data -= self.param_groups[0]["lr"] * p.grad


@pytest.mark.parametrize("cls", [_ClippedSGD, _PlainGD])
def test_an_optimizer_with_its_own_step_is_followed(cls):
    def make():
        model, X, t, fn = _setup(act="tanh", loss="mse")
        ps = list(model.parameters())
        return ps, fn, cls(ps, lr=0.1), (X, t * 10)

    ps, ps0 = _twin_steps(make, 3)
    _bitwise([p.data for p in ps], [p.data for p in ps0])


def test_a_value_read_three_times_sums_its_gradients_as_eagerly():
    def make():
        rng = np.random.default_rng(0)
        l1, l2 = nn.Linear(6, 6, rng=rng), nn.Linear(6, 6, rng=rng)
        X, t = ad.Tensor(rng.normal(size=(5, 6))), ad.Tensor(rng.normal(size=(5, 6)))

        def fn(x, t):
            h = l1(x).tanh()
            s = (h * h).mean()  # recorded before l2(h): the eager walk reaches h * h first
            return F.mse_loss(l2(h) * s, t)  # δh: twice from h * h, then from l2

        ps = [*l1.parameters(), *l2.parameters()]
        return ps, fn, nn.SGD(ps, lr=0.1), (X, t)

    ps, ps0 = _twin_steps(make, 2)
    _bitwise([p.grad for p in ps], [p.grad for p in ps0])


@pytest.mark.parametrize("name", ["update", "fused", "step", "MOVED", "_stepped", "_mark", "_sqrt"])
def test_parameters_named_like_the_steps_own_functions(name):
    def make():
        W = ad.Tensor(np.full((3, 2), 0.1), requires_grad=True, name=name)
        x, t = ad.Tensor(np.ones((4, 3))), ad.Tensor(np.ones((4, 2)))
        return [W], (lambda x, t: F.mse_loss(x @ W, t)), nn.SGD([W], lr=0.1), (x, t)

    ps, ps0 = _twin_steps(make, 3)
    _bitwise([p.data for p in ps], [p.data for p in ps0])


def test_a_loss_with_several_elements_raises_as_eagerly():
    w = ad.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    step = nn.SGD([w], lr=0.1).compile_step(lambda x: w * x)  # eagerly, E.backward() refuses it
    x = ad.Tensor(np.array([3.0, 4.0]))
    for _ in range(2):
        with pytest.raises(ValueError, match="one-element"):
            step(x)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_the_steps_fast_path_checks_what_the_lookup_checks():
    """After a step, the next call runs the last step's function at once: its first lines are the
    trace's key (arguments' kinds, shapes, dtypes, no aliases) and guard. Each change below comes
    when that path is taken, and must be noticed there as the lookup notices it: bit for bit the
    eager twin."""
    model, X, t, _ = _setup(act="tanh", loss="ce")
    twin, _, _, _ = _setup(act="tanh", loss="ce")
    scale = {"k": 1.0}

    def loss(m):
        return lambda x, t: F.cross_entropy(m(x) * scale["k"], t)

    opt, opt0 = nn.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    step, fn0 = opt.compile_step(loss(model)), loss(twin)
    rng = np.random.default_rng(7)
    X2 = ad.Tensor(rng.normal(size=X.shape))
    Xb, tb = ad.Tensor(rng.normal(size=(5, X.shape[1]))), rng.integers(0, 3, 5)

    def both(*args):
        _both(step, fn0, opt0, *args)
        _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])

    def freeze(flag):
        return lambda: [setattr(m.layers[0].weight, "requires_grad", flag) for m in (model, twin)]

    changes = [
        ((X2, t), None),  # another input, the same shapes: its values
        ((Xb, tb), None),  # another batch size: its own trace
        ((X, t.astype(np.int32)), None),  # another dtype of targets
        ((X, t), lambda: scale.update(k=0.5)),  # a value the function reads from a dict it closes over
        ((X, t), freeze(False)),  # a frozen weight
        ((X, t), freeze(True)),
    ]
    for args, change in changes:
        for _ in range(3):
            both(X, t)
        assert step._fast is not None  # the next call takes the fast path
        if change:
            change()
        both(*args)
    with pytest.raises(ValueError, match="out of range"):
        step(X, np.full(len(t), 9))  # a replay check in the fast path: as eagerly


def test_the_steps_fast_path_notices_one_tensor_passed_twice():
    def make():
        W = ad.Tensor(np.full((3, 3), 0.1), requires_grad=True)
        return W, lambda x, y: ((x @ W) * y).sum()

    (W, fn), (W0, fn0) = make(), make()
    opt, opt0 = nn.SGD([W], lr=0.1), nn.SGD([W0], lr=0.1)
    step = opt.compile_step(fn)
    rng = np.random.default_rng(0)
    A, B = ad.Tensor(rng.normal(size=(2, 3))), ad.Tensor(rng.normal(size=(2, 3)))
    for args in [(A, B)] * 3 + [(A, A), (A, B), (B, B.detach())]:  # the last: two Tensors over one array
        _both(step, fn0, opt0, *args)
        np.testing.assert_array_equal(W.data, W0.data)
    assert step.traces == 3


def test_a_loss_that_is_a_view_of_a_buffer_keeps_its_value():
    # relu(z).reshape(()) is a view of relu's buffer, which relu's backward overwrites in place:
    # the step returned 1.0 (the δ) instead of the loss, step after step
    def build():
        W = ad.Tensor(np.array([[0.5, -0.2, 0.3]]), requires_grad=True)
        return W, nn.SGD([W], lr=0.1), lambda x: F.relu(x @ W.T + 1.0).reshape(())

    W, opt, fn = build()
    W0, opt0, fn0 = build()
    step = opt.compile_step(fn)
    x = ad.Tensor(np.ones((1, 3)))
    kept = [_both(step, fn0, opt0, x).item() for _ in range(4)]
    assert len(set(kept)) == 4 and "def fused(" in step.code
    np.testing.assert_array_equal(W.data, W0.data)


def test_a_parameter_whose_data_became_a_numpy_scalar_is_refused_eagerly_and_compiled():
    # W.data - 0.5 on a 0-d array is a NumPy scalar: the eager step left it where it was, silently,
    # and the compiled one raised NumPy's "return arrays must be of ArrayType" halfway through its update
    def make():
        W, b = ad.Tensor(np.array(1.0), requires_grad=True), ad.Tensor(np.array([0.5, -0.5]), requires_grad=True)
        return W, b, nn.SGD([b, W], lr=0.1, momentum=0.9), lambda: (W * 2.0 + (b * b).sum()) * 1.0

    W, b, opt, fn = make()
    step = opt.compile_step(fn)
    for _ in range(3):
        step()
    assert "def fused(" in step.code
    for stepper in (step, lambda: (opt.zero_grad(), fn().backward(), opt.step())):
        W.data = W.data - 0.5
        before = (float(W.data), b.data.copy())
        with pytest.raises(TypeError, match=r"parameter 1 has a \.data that is a float64, not a numpy array"):
            stepper()
        assert float(W.data) == before[0] and np.array_equal(b.data, before[1])  # nothing was updated
        W.data = np.asarray(W.data)
        stepper()
        assert float(W.data) != before[0]


@pytest.mark.parametrize("opt", [k for k in OPTIMIZERS if k != "sgd"])
def test_parameters_cast_while_the_optimizer_has_state_keep_a_written_out_update(opt, monkeypatch):
    """`p.data = p.data.astype(float32)` after some steps: the optimizer keeps its float64 state, as
    eagerly (and as torch's does), and the compiled step writes its update out again for the new
    dtype (it used to step through the optimizer's own `step()` from then on), bit for bit."""
    import autodiff.compiler.step as compiled_step

    kw = dict(act="relu", loss="ce", sizes=(300, 256, 10), n=32)  # the first weight goes in blocks
    model, X, t, fn = _setup(**kw)
    twin, _, _, fn_twin = _setup(**kw)
    o, o_twin = OPTIMIZERS[opt](model.parameters()), OPTIMIZERS[opt](twin.parameters())
    step = o.compile_step(fn)
    for _ in range(3):
        _both(step, fn_twin, o_twin, X, t)
    for p in [*model.parameters(), *twin.parameters()]:
        p.data = p.data.astype(np.float32)
    X32 = ad.Tensor(X.data.astype(np.float32))
    eager_updates = []
    real = compiled_step._eager_update
    monkeypatch.setattr(compiled_step, "_eager_update", lambda o: (eager_updates.append(1), real(o)))
    for i in range(5):
        if i == 3:
            eager_updates.clear()
        _both(step, fn_twin, o_twin, X32, t)
        _bitwise([p.data for p in o.params], [p.data for p in o_twin.params])
        _bitwise([p.grad for p in model.parameters()], [p.grad for p in twin.parameters()])
    assert all(p.data.dtype == np.float32 for p in o.params)
    state = o.state_dict()["state"]
    assert any(np.asarray(a).dtype == np.float64 for s in state.values() for a in s.values() if np.ndim(a))
    assert eager_updates == []  # the last two steps ran the written-out update


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_steps_buffers_start_on_cache_lines_and_never_overlap(dtype):
    """The planned buffers are cut from one block, each on a 64-byte boundary (NumPy aligns a large
    array to 16 bytes only, which splits every vector load across two cache lines)."""
    model, X, t, fn = _setup(act="relu", sizes=(300, 64, 10), n=32, dtype=dtype)
    step = nn.SGD(model.parameters(), lr=0.1).compile_step(fn)
    for _ in range(2):
        step(X, t)
    (program,) = [tr.step_program for tr in step.loss_fn._cache.values() if getattr(tr, "step_program", None)]
    buffers = [program.ns[name] for name in sorted(program.buffers)]
    assert len(buffers) > 5
    assert all(b.ctypes.data % 64 == 0 and b.flags.c_contiguous and b.flags.writeable for b in buffers)
    for a, b in itertools.combinations(buffers, 2):
        assert not np.may_share_memory(a, b)
    assert all(p.grad.ctypes.data % 64 == 0 for p in model.parameters())  # the gradients are buffers


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, ">i8"])
@pytest.mark.parametrize("ignore_index", [-100, -1, 300, 1])
def test_targets_checked_by_the_steps_own_indexing_fail_as_eagerly(dtype, ignore_index):
    """With ignore_index no class, the step checks its targets by the indexing it does anyway
    (`np.ravel_multi_index` fails on a target out of 0..C−1) instead of calling the replay check
    first: a target that is no class, or is ignore_index, still gives the eager loss or its error,
    and leaves the parameters as they were."""
    model, X, t, _ = _setup(loss="ce", sizes=(4, 8, 5))
    twin, _, _, _ = _setup(loss="ce", sizes=(4, 8, 5))
    fn = lambda m, x, t: F.cross_entropy(m(x), t, ignore_index=ignore_index)  # noqa: E731
    opt, opt_twin = nn.SGD(model.parameters(), lr=0.1), nn.SGD(twin.parameters(), lr=0.1)
    step = opt.compile_step(fn)
    info = np.iinfo(np.dtype(dtype))
    good = t.astype(dtype)
    ignored = good.copy()
    if info.min <= ignore_index <= info.max:
        ignored[::3] = ignore_index
    bad = [v for v in (5, -1, 200, info.max, info.min) if info.min <= v <= info.max and v != ignore_index]
    for targets in (good, good, ignored, good, *(np.where(np.arange(len(t)) == 2, v, good).astype(dtype) for v in bad), good):
        try:
            F.cross_entropy(twin(X), targets, ignore_index=ignore_index)
        except ValueError as e:
            before = [p.data.copy() for p in model.parameters()]
            with pytest.raises(ValueError, match=re.escape(str(e))):
                step(model, X, targets)
            _bitwise([p.data for p in model.parameters()], before)
            continue
        _both(lambda *a: step(model, *a), lambda *a: fn(twin, *a), opt_twin, X, targets)
        _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])
    own = "ravel_multi_index" in step.code
    assert own == (not 0 <= ignore_index < 5) and ("check0(" in step.code) != own


LOSS_PAIRS = {
    # one term checked by the step's own indexing (ignore_index no class), one by its replay check
    "two targets": lambda m, x, t1, t2: F.cross_entropy(m(x), t1) + F.cross_entropy(m(x), t2, ignore_index=1),
    # the same target twice; the first term has no kernel (reduction="none"), the second one does
    "one target": lambda m, x, t1: (F.cross_entropy(m(x), t1, reduction="none", ignore_index=-100).sum()
                                    + F.cross_entropy(m(x), t1, ignore_index=1)),
}


@pytest.mark.parametrize("pair", list(LOSS_PAIRS))
def test_a_failing_loss_raises_the_eager_error_and_leaves_no_gradient(pair):
    """With several targets out of range, the step raises the error the eager step raises (the first
    failing term's), and, as the eager step, which forgets the gradients before the loss, leaves no
    `.grad` of the last step behind and moves nothing."""
    fn = LOSS_PAIRS[pair]
    model, X, t, _ = _setup(loss="ce", sizes=(4, 8, 3))
    twin, _, _, _ = _setup(loss="ce", sizes=(4, 8, 3))
    opt, opt_twin = nn.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    step = opt.compile_step(lambda x, *ts: fn(model, x, *ts))
    good = np.where(t == 1, 0, t)
    bad = good.copy()
    bad[[2, 5]] = [3, -1]
    other = np.where(good == 0, 3, good)  # out of range elsewhere, so that which term fails first shows
    n = fn.__code__.co_argcount - 2
    cases = [(good, good), (bad, good), (good, bad), (bad, other), (other, bad), (good, good)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the step compiles: no argument left unread
        for targets in [c[:n] for c in cases * 2]:
            try:
                opt_twin.zero_grad()
                E0 = fn(twin, X, *targets)
            except ValueError as e:
                before = [p.data.copy() for p in model.parameters()]
                with pytest.raises(ValueError, match=re.escape(str(e))):
                    step(X, *targets)
                assert all(p.grad is None for p in model.parameters())
                _bitwise([p.data for p in model.parameters()], before)
                continue
            E0.backward()
            opt_twin.step()
            np.testing.assert_array_equal(step(X, *targets).data, E0.data)
            _bitwise([p.data for p in model.parameters()], [p.data for p in twin.parameters()])
            _bitwise([p.grad for p in model.parameters()], [p.grad for p in twin.parameters()])
    assert step.eager_steps < len(cases) * 2 and "def fused(" in step.code
