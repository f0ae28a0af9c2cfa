"""A differential fuzzer for `ad.compile`: compiled and eager side by side, with the changes users
make between calls, values and gradients equal to 1e-10 (float64) after every call.

Random programs (autodiff.testing.programs) and random nn models. Between calls a scenario draws
changes from everything issue 26 found stale and everything that held: NumPy-typed module settings,
closure numbers, comparison masks, ignore_index and out-of-range targets, module attributes
reassigned (arrays, lists), a model passed as an argument with a layer or weight replaced,
parameters in a dict or a namespace, an argument that is also a closure Tensor, keyword arguments,
train/eval, replaced `.data`, dtype and batch changes, optimizer steps.

`make test` runs the quick profile (a few seconds); `make fuzz` the long one
(COMPILE_FUZZ_SCENARIOS, default 4 here and 150 there).
"""

from __future__ import annotations

import itertools
import os
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing.programs import programs

SCENARIOS = int(os.environ.get("COMPILE_FUZZ_SCENARIOS", "4"))
CALLS = int(os.environ.get("COMPILE_FUZZ_CALLS", "14"))


def _tol(dtype) -> dict:
    return dict(rtol=1e-10, atol=1e-10) if np.dtype(dtype) == np.float64 else dict(rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------------- random programs
@settings(max_examples=max(4, min(SCENARIOS * 3, 400)))
@given(programs(max_steps=8))
def test_random_programs_under_random_changes(program):
    rng = np.random.default_rng(len(program.source))
    weights: dict = {}

    def scalar(*ts):
        outs = program(*ts)
        total = None
        for k, o in enumerate(outs):
            w = weights.setdefault((k, o.shape, o.dtype), rng.normal(size=o.shape).astype(o.dtype))
            term = (o * w).sum()
            total = term if total is None else total + term
        return total

    compiled = ad.compile(scalar)
    base = [np.asarray(a, dtype=np.float64) for a in program.inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(6):
            change = rng.integers(5)
            dtype = np.float32 if change == 1 else np.float64
            arrays = [a + rng.normal(size=a.shape) * 1e-4 if change == 0 else a for a in base]
            needs = [bool(rng.integers(2)) if change == 2 else True for _ in arrays]
            results = []
            for fn in (scalar, compiled):
                xs = [ad.Tensor(a, requires_grad=r, dtype=dtype) for a, r in zip(arrays, needs)]
                if change == 3:
                    with ad.no_grad():
                        out = fn(*xs)
                    results.append((out.data, []))
                    continue
                out = fn(*xs)
                if out.requires_grad:
                    out.backward()
                results.append((out.data, [x.grad for x in xs]))
            (v0, g0), (v1, g1) = results
            np.testing.assert_allclose(v1, v0, **_tol(dtype))
            for a, b in zip(g1, g0):
                assert (a is None) == (b is None)
                if a is not None:
                    assert a.dtype == b.dtype
                    np.testing.assert_allclose(a, b, **_tol(dtype))


# ---------------------------------------------------------------------- random models
class Scaled(nn.Module):
    """A user's module whose plain attributes (an array, a list of numbers) steer its forward."""

    def __init__(self, s, extra):
        self.s = s
        self.extra = extra

    def forward(self, x):
        return x * self.s + sum(self.extra)


def _model(rng, sizes, classes):
    layers = []
    for a, b in itertools.pairwise(sizes):
        layers.append(nn.Linear(a, b, rng=rng))
        kind = rng.integers(5)
        if kind == 0:
            layers.append(nn.Tanh())
        elif kind == 1:
            layers.append(nn.LeakyReLU(float(rng.uniform(0.01, 0.3))))
        elif kind == 2:
            layers.append(nn.BatchNorm1d(b))
        elif kind == 3:
            layers.append(nn.LayerNorm(b))
        else:
            layers.append(Scaled(rng.uniform(0.5, 1.5, b), [float(rng.normal())]))
    layers.append(nn.Linear(sizes[-1], classes, rng=rng))
    return nn.Sequential(*layers)


class Scenario:
    """One model, its loss function (closure, dict and namespace state), the changes between calls."""

    def __init__(self, seed: int) -> None:
        rng = self.rng = np.random.default_rng(seed)
        self.task = "ce" if rng.integers(2) else "mse"
        self.n_in, self.classes = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        sizes = [self.n_in] + [int(rng.integers(2, 6)) for _ in range(rng.integers(1, 3))]
        self.model = _model(rng, sizes, self.classes)
        self.params = {"w": nn.Parameter(rng.normal(size=(1, self.classes)))}
        self.ns = types.SimpleNamespace(shift=nn.Parameter(rng.normal(size=self.classes)), k=1.0)
        self.settings = {"ignore": -100}
        self.batch = int(rng.integers(2, 6))
        self.dtype = np.float64
        self.use_mask = False
        scale = 1.0
        params, ns, cfg, task, me = self.params, self.ns, self.settings, self.task, self

        def loss(model, x, t, reduction="mean"):
            h = model(x) * scale + ns.shift * ns.k + x[:, :1] @ params["w"]
            if me.use_mask:  # a mask from a comparison ufunc: the compiled call must not replay it
                h = ad.where(np.greater(h, 0.0), h, 0.5 * h)
            if task == "ce":
                return F.cross_entropy(h, t, reduction=reduction, ignore_index=cfg["ignore"])
            return F.mse_loss(h, t, reduction=reduction)

        def set_scale(v):
            nonlocal scale
            scale = v

        def dist(v):
            return ((v - params["w"]) ** 2).sum()

        self.loss, self.set_scale, self.dist = loss, set_scale, dist
        self.compiled, self.compiled_dist = ad.compile(loss), ad.compile(dist)
        self.kwargs: dict = {}
        self.optimizer = None
        self.new_data()

    def leaves(self):
        return [*self.model.parameters(), self.params["w"], self.ns.shift]

    def new_data(self):
        rng, n = self.rng, self.batch
        self.x = ad.Tensor(rng.normal(size=(n, self.n_in)), dtype=self.dtype)
        if self.task == "ce":
            self.t = rng.integers(0, self.classes, n)
        else:
            self.t = rng.normal(size=(n, self.classes)).astype(self.dtype)

    def change(self):
        """One random change a user makes between calls."""
        rng, model = self.rng, self.model
        kind = int(rng.integers(16))
        layers = model.layers
        if kind == 0:  # a NumPy-typed module setting
            for m in layers:
                if isinstance(m, nn.LeakyReLU):
                    m.negative_slope = rng.choice([np.float64, np.float32, float])(rng.uniform(0.01, 0.5))
        elif kind == 1:  # a closure number, of any type
            self.set_scale(rng.choice([float, np.float64, np.float32, int])(rng.integers(1, 4)))
        elif kind == 2:  # a comparison mask, on or off
            self.use_mask = not self.use_mask
        elif kind == 3 and self.task == "ce":  # ignore_index, appearing in the targets or not
            self.settings["ignore"] = int(rng.choice([-100, -1, 0, 1]))
            if rng.integers(2):
                self.t = self.t.copy()
                self.t[rng.integers(len(self.t))] = self.settings["ignore"]
        elif kind == 4:  # a module attribute reassigned (an array, a list) or written in place
            for m in layers:
                if isinstance(m, Scaled):
                    if rng.integers(2):
                        m.s = rng.uniform(0.5, 1.5, m.s.shape)
                    else:
                        m.extra.append(float(rng.normal()))
        elif kind == 5:  # a layer of the model (passed as an argument) replaced
            i = next(i for i, m in enumerate(layers) if isinstance(m, nn.Linear))
            old = layers[i]
            layers[i] = nn.Linear(old.weight.shape[1], old.weight.shape[0], rng=rng)
            self.cast(layers[i])
            self.optimizer = None
        elif kind == 6:  # a weight replaced by a new Parameter
            lin = layers[0]
            lin.weight = nn.Parameter(rng.normal(size=lin.weight.shape).astype(self.dtype))
            self.optimizer = None
        elif kind == 7:  # parameters in a dict and a namespace replaced, a namespace number changed
            self.params["w"] = nn.Parameter(rng.normal(size=(1, self.classes)).astype(self.dtype))
            self.ns.k = np.float64(rng.uniform(0.5, 2))
            self.optimizer = None
        elif kind == 8:  # a keyword argument
            self.kwargs = {"reduction": str(rng.choice(["mean", "sum"]))} if rng.integers(2) else {}
        elif kind == 9:  # train / eval
            model.eval() if model.training else model.train()
        elif kind == 10:  # .data replaced, same shape
            for p in self.leaves():
                p.data = p.data + rng.normal(size=p.data.shape).astype(p.data.dtype) * 0.1
        elif kind == 11:  # dtype
            self.dtype = np.float32 if self.dtype == np.float64 else np.float64
            self.cast(model)
            for p in (self.params["w"], self.ns.shift):
                p.data = p.data.astype(self.dtype)
            self.optimizer = None
            self.new_data()
        elif kind == 12:  # batch size
            self.batch = int(rng.integers(2, 7))  # BatchNorm trains on two samples or more
            self.new_data()
        elif kind == 13:  # an optimizer step
            self.step_optimizer()
        else:
            self.new_data()

    def cast(self, module):
        for p in module.parameters():
            p.data = p.data.astype(self.dtype)
        for m in module.modules():
            for name in ("running_mean", "running_var"):
                b = getattr(m, name, None)
                if b is not None:
                    b.data = b.data.astype(self.dtype)

    def step_optimizer(self):
        if self.optimizer is None:
            leaves = self.leaves()
            self.optimizer = (nn.SGD(leaves, lr=0.05, momentum=0.9) if self.rng.integers(2)
                              else nn.Adam(leaves, lr=0.01))
        self.optimizer.zero_grad()
        try:
            self.loss(self.model, self.x, self.t, **self.kwargs).backward()
        except ValueError:  # targets out of range for now (an ignore_index changed back): no step
            return
        self.optimizer.step()

    def compare(self):
        """The compiled call against the eager one: the same value, gradients, or error."""
        results = []
        for fn in (self.loss, self.compiled):
            for p in self.leaves():
                p.grad = None
            try:
                out = fn(self.model, self.x, self.t, **self.kwargs)
                out.backward()
            except (ValueError, IndexError) as e:
                results.append(type(e))
                continue
            results.append((out.data.copy(), [None if p.grad is None else p.grad.copy() for p in self.leaves()]))
        eager, compiled = results
        if isinstance(eager, type):
            assert compiled is eager, (eager, compiled)
            return
        assert not isinstance(compiled, type), compiled
        tol = _tol(self.dtype)
        np.testing.assert_allclose(compiled[0], eager[0], **tol)
        for a, b in zip(compiled[1], eager[1]):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, **tol)
        # an argument that is, or is not, the very Tensor the function reads from its dict
        v = self.params["w"] if self.rng.integers(2) else nn.Parameter(self.rng.normal(size=(1, self.classes)))
        np.testing.assert_allclose(self.compiled_dist(v).data, self.dist(v).data, **tol)


@pytest.mark.parametrize("seed", range(SCENARIOS))
def test_random_models_under_random_changes(seed):
    s = Scenario(seed)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(CALLS):
            s.change()
            s.compare()
    assert s.compiled.traces >= 1
