"""A differential fuzzer for `opt.compile_step(loss_fn)`: a compiled training step against the same
step taken eagerly on a twin (`opt.zero_grad(); E = loss_fn(*args); E.backward(); opt.step()`),
bit for bit after every step: the returned loss, every parameter's `.data` and `.grad`.

Two kinds of scenario:

- random programs (autodiff.testing.programs, some over zero-length axes), each in float64 and
  float32, some inputs parameters owned by a random optimizer (SGD plain, with momentum, Nesterov,
  dampening, weight decay; Adam, AMSGrad, AdamW; one or two parameter groups), read from the
  closure or passed as arguments, the others arguments (some needing a gradient the optimizer does
  not own); sometimes an nn.Linear head (relu, tanh) on the first output; the loss a scalar made
  from the outputs (weighted sums, means, mse_loss, cross_entropy with ignore_index or label
  smoothing, through relu or tanh, or the program's own one-element result, ending in a view:
  `.reshape(())`, `[0]`);
- random nn MLPs (Linear with or without bias, ReLU / Tanh / Sigmoid / LeakyReLU, Dropout in eval
  or, seeded, in training), cross_entropy (ignore_index, label smoothing, reduction, targets of
  several integer dtypes or as a Tensor), mse_loss (a target Tensor or a float64 array), or one
  output through relu / tanh viewed as the loss; the model passed as an argument or closed over;
  some with a parameter past the optimizer's 256 KB block (updated block by block) and activations
  past the ops' in-place sizes; a second loss function compiled for the same optimizer; the
  optimizer owning the first layer only, a second one the rest.

Between steps a scenario makes the changes users make: the rate (a NumPy number too, the `lr`
property, a StepLR or CosineAnnealingLR epoch), momentum, dampening, Nesterov, weight decay, betas
or AMSGrad changed in `param_groups`, a parameter group added, the optimizer's state reloaded,
`zero_grad()` (the optimizer's, the model's), `.grad` read, written into or set stale, a hook
registered, a parameter's `.data` replaced, written in place or of another dtype, a parameter
frozen or thawed, new inputs of the same shape, another batch size, targets that hit
ignore_index, a setting the loss reads, a weight replaced by a Parameter the optimizer does not
own, train / eval, an eager step of the user's own, the other optimizer's step, the other loss
function. Every returned loss is kept and must still hold its value at the end. A step that runs
eagerly (the warning names why) must agree just the same; an error must be the same error.

`make test` runs the quick profile (a few seconds); `make fuzz` the long one (COMPILE_FUZZ_SCENARIOS,
default 4 here and 150 there, shared with tests/test_compile_fuzz.py: 15 programs and 10 models
per scenario). The bugs it found that are not fixed yet are strict xfails at the end.
"""

from __future__ import annotations

import itertools
import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing.programs import programs

SCENARIOS = int(os.environ.get("COMPILE_FUZZ_SCENARIOS", "4"))
STEPS = 6


# ---------------------------------------------------------------------- comparing bit for bit
def _same(got, want, what):
    """Bit for bit: dtype, shape, values (NaN as NaN) and the sign of every zero."""
    assert (got is None) == (want is None), f"{what}: {got!r} vs {want!r}"
    if got is None:
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, f"{what}: {got.dtype}{got.shape} vs {want.dtype}{want.shape}"
    np.testing.assert_array_equal(got, want, err_msg=what)
    if got.dtype.kind == "f":
        ok = ~np.isnan(want)
        assert np.array_equal(np.signbit(got)[ok], np.signbit(want)[ok]), f"{what}: the sign of a zero differs"


# ---------------------------------------------------------------------- optimizers
def _draw_optimizer(rng):
    """(class, kwargs, split into two groups, the second group's lr)."""
    lr = float(rng.choice([0.1, 0.03, 0.01]))
    kind = int(rng.integers(8))
    if kind == 0:
        cls, kw = nn.SGD, {}
    elif kind == 1:
        cls, kw = nn.SGD, {"momentum": 0.9}
    elif kind == 2:
        cls, kw = nn.SGD, {"momentum": 0.8, "nesterov": True, "weight_decay": float(rng.choice([0.0, 1e-3]))}
    elif kind == 3:
        cls, kw = nn.SGD, {"momentum": 0.9, "dampening": 0.3, "weight_decay": float(rng.choice([0.0, 0.01]))}
    elif kind == 4:
        cls, kw = nn.SGD, {"weight_decay": 0.01}
    elif kind == 5:
        cls, kw = nn.Adam, {}
    elif kind == 6:
        cls, kw = nn.Adam, {"weight_decay": 0.01, "amsgrad": bool(rng.integers(2))}
    else:
        cls, kw = nn.AdamW, {"amsgrad": bool(rng.integers(2))}
    return cls, dict(kw, lr=lr if cls is nn.SGD else lr / 10), bool(rng.integers(3) == 0), float(rng.choice([0.05, 0.002]))


def _make_optimizer(spec, params):
    cls, kw, split, lr2 = spec
    if split and len(params) > 1:
        return cls([{"params": params[:1]}, {"params": params[1:], "lr": lr2}], **kw)
    return cls(params, **kw)


def _optimizer_change(rng, opt):
    """A change of the optimizer's settings or state, as a function of a world's optimizer (None: none fits)."""
    groups = opt.param_groups
    sgd = isinstance(opt, nn.SGD)
    kind = int(rng.integers(7))
    gi = int(rng.integers(len(groups)))
    if kind == 0:  # a schedule's new rate, a NumPy number too
        f = float(rng.choice([0.5, 2.0, 0.1]))
        kind_of = [float, np.float64, np.float32][int(rng.integers(3))]
        return lambda o: o.param_groups[gi].update(lr=kind_of(o.param_groups[gi]["lr"] * f))
    if kind == 1 and sgd:
        h = groups[gi]
        mu = float(rng.choice([0.5, 0.9] if h["nesterov"] else [0.0, 0.5, 0.9]))
        return lambda o: o.param_groups[gi].update(momentum=mu)
    if kind == 2 and sgd:
        h = groups[gi]
        if h["momentum"] and not h["dampening"] and rng.integers(2):  # Nesterov on or off
            return lambda o: o.param_groups[gi].update(nesterov=not o.param_groups[gi]["nesterov"])
        if h["momentum"] and not h["nesterov"]:
            damp = float(rng.choice([0.0, 0.3]))
            return lambda o: o.param_groups[gi].update(dampening=damp)
        return None
    if kind == 3:
        wd = float(rng.choice([0.0, 1e-3, 0.01]))
        return lambda o: o.param_groups[gi].update(weight_decay=wd)
    if kind == 4 and not sgd:
        if rng.integers(2):
            return lambda o: o.param_groups[gi].update(amsgrad=not o.param_groups[gi]["amsgrad"])
        betas = (float(rng.choice([0.8, 0.9])), float(rng.choice([0.99, 0.999])))
        return lambda o: o.param_groups[gi].update(betas=betas)
    if kind == 5:
        def reload(o):  # new state arrays, the same values
            try:
                o.load_state_dict(o.state_dict())
            except ValueError:  # state of another dtype than its parameter now: refused, nothing loaded
                pass
        return reload
    if kind == 6:
        return lambda o: o.zero_grad()
    return None


def _grad_change(rng):
    """What users do with `.grad` between steps: read it, write into it (torch's `p.grad[...] = 0`),
    set a stale one, or register a hook (which makes the step run eagerly)."""
    kind = int(rng.integers(8))  # a hook is rarer: every later step runs eagerly
    if kind < 3:
        return lambda ps: [None if p.grad is None else p.grad.copy() for p in ps]
    if kind == 3:
        def stale(ps):
            for p in ps:
                p.grad = np.full(p.shape, 7.0, p.data.dtype)
        return stale
    if kind == 4:
        i, f = int(rng.integers(1 << 30)), float(rng.choice([0.5, 2.0]))
        def hook(ps):
            p = ps[i % len(ps)]
            if p.requires_grad:
                p.register_hook(lambda g: g * f)
        return hook

    def write(ps):
        for p in ps:
            if isinstance(p.grad, np.ndarray) and p.grad.flags.writeable:
                p.grad[...] = 0.0  # harmless eagerly: the next step's gradient is a new one

    return write


def _data_change(rng, shapes, recast):
    """A parameter's `.data` replaced by a new array, written into in place, of another dtype (once
    per parameter: see the xfail below; `recast` holds those changed), or its requires_grad flipped."""
    i = int(rng.integers(len(shapes)))
    noise = rng.normal(size=shapes[i]) * 0.05
    kind = int(rng.integers(4))
    if kind == 3 and i not in recast:  # another dtype for one parameter
        recast.add(i)
        return lambda ps: setattr(ps[i], "data", ps[i].data.astype(np.float32 if ps[i].data.dtype == np.float64 else np.float64))
    if kind == 0:  # np.array: a 0-d sum is a NumPy scalar, which the optimizer cannot move (see the xfail below)
        return lambda ps: setattr(ps[i], "data", np.array(ps[i].data + noise.astype(ps[i].data.dtype), ps[i].data.dtype))
    if kind == 1:
        def inplace(ps):
            ps[i].data[...] += noise.astype(ps[i].data.dtype)
        return inplace
    return lambda ps: setattr(ps[i], "requires_grad", not ps[i].requires_grad)


def _group_change(rng, dtype):
    """A parameter group added to the optimizer: a Tensor the loss never reaches (no gradient, never moved)."""
    shape = (int(rng.integers(1, 4)),)

    def add(w):
        extra = ad.Tensor(np.ones(shape, dtype), requires_grad=True)
        w.opt.add_param_group({"params": [extra], "lr": 0.5})
        w.owned = [*w.owned, extra]
        w.watched = [*w.watched, extra]
    return add


# ---------------------------------------------------------------------- the two worlds
class World:
    """One side: the parameters the optimizer owns, every Tensor whose gradient we compare, the
    optimizer, the loss function and its arguments."""

    def __init__(self, owned, watched, opt, fn, args, more=()):
        self.owned, self.watched, self.opt, self.args = owned, watched, opt, list(args)
        self.fns = [fn, *more]  # loss functions stepped with the same optimizer, each compiled once
        self.active = 0

    @property
    def fn(self):
        return self.fns[self.active]


def _run(step, world):
    """One step: the compiled `step`, or (None) eagerly. The loss, or the exception's type."""
    try:
        if step is not None:
            return step(*world.args)
        world.opt.zero_grad()
        E = world.fn(*world.args)
        E.backward()
        world.opt.step()
        return E
    except (ValueError, RuntimeError, IndexError, TypeError) as e:
        return type(e)


def _compare(compiled, eager, what):
    for k, (p, q) in enumerate(zip(compiled.owned, eager.owned)):
        _same(p.data, q.data, f"{what}: parameter {k}'s data")
    for k, (p, q) in enumerate(zip(compiled.watched, eager.watched)):
        _same(p.data, q.data, f"{what}: {k}'s data")
        _same(p.grad, q.grad, f"{what}: {k}'s grad")


def _drive(make, changes, steps, label):
    """`steps` steps of the compiled world against the eager one, a change from `changes(world)`
    (a function of a world, or None) before each step after the first, applied to both."""
    compiled, eager = make(), make()
    steps_of = [compiled.opt.compile_step(fn) for fn in compiled.fns]
    kept = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a step that falls back says why, once
        for i in range(steps):
            if i:
                for _ in range(int(changes.rng.integers(0, 3))):
                    change = changes(compiled)
                    if change is not None:
                        change(compiled)
                        change(eager)
            what = f"{label}, step {i}"
            E1, E0 = _run(steps_of[compiled.active], compiled), _run(None, eager)
            if isinstance(E0, type) or isinstance(E1, type):
                assert E1 is E0, f"{what}: compiled {E1!r}, eagerly {E0!r}"
                _compare(compiled, eager, what)
                break
            _same(E1.data, E0.data, f"{what}: the loss")
            _compare(compiled, eager, what)
            kept.append((E1, E1.data.copy(), E0, E0.data.copy()))
    for n, (E1, v1, E0, v0) in enumerate(kept):
        _same(E1.data, v1, f"{label}: the loss returned by step {n}, kept")
        _same(E0.data, v0, f"{label}: the eager loss of step {n}, kept")
    return steps_of[0]


def _watched(owned, args):
    """The Tensors whose gradients are compared: the optimizer's, and the arguments that need one."""
    return [*owned, *(a for a in args if isinstance(a, ad.Tensor) and a.requires_grad and all(a is not p for p in owned))]


def _eager_step_between(w):
    """The user's own eager step between compiled ones (the optimizer's state moves outside them)."""
    try:
        w.opt.zero_grad()
        w.fn(*w.args).backward()
        w.opt.step()
    except (ValueError, RuntimeError, IndexError, TypeError):
        pass  # as the compiled world's: the next step compares what the two do


# ---------------------------------------------------------------------- random programs
ENDINGS = ("none", "reshape", "index", "relu", "tanh", "direct")
LOSSES = ("wsum", "wsum", "mean", "mse", "ce")


class ProgramScenario:
    """A random program as a training step: its inputs' roles, the loss made from its outputs, the changes."""

    def __init__(self, program, seed, dtype):
        self.program, self.dtype = program, dtype
        self.recast: set[int] = set()
        rng = self.rng = np.random.default_rng(seed)
        n = len(program.inputs)
        # param: the optimizer's, read from the closure; param_arg: the optimizer's, passed as an argument;
        # arg: an argument; arg_grad: an argument that needs a gradient the optimizer does not own
        roles = [str(rng.choice(["param", "param_arg", "arg", "arg_grad"], p=[0.5, 0.2, 0.2, 0.1])) for _ in range(n)]
        if not {"param", "param_arg"} & set(roles):
            roles[int(rng.integers(n))] = "param"
        self.roles = roles
        self.opt_spec = _draw_optimizer(rng)
        xs = [ad.Tensor(a, dtype=dtype) for a in program.inputs]
        with np.errstate(all="ignore"):
            outs = program(*xs)
        # Sometimes a head on the first output: an nn.Linear (the optimizer's too) on it as (rows, k),
        # whatever view or broadcast it is, then relu or tanh: the step's kernels on a program's values.
        first = outs[0].shape
        self.head = None
        if rng.integers(3) == 0 and np.prod(first) > 0:
            rows_k = first if len(first) == 2 else (1, int(np.prod(first)))
            c = int(rng.integers(2, 4))
            self.head = (rows_k, c, bool(rng.integers(4)), str(rng.choice(["", "relu", "tanh"])), int(rng.integers(1 << 30)))
            first = (rows_k[0], c)
        self.out_shapes = [first, *(o.shape for o in outs[1:])]
        self.weights = [rng.normal(size=s).astype(dtype) for s in self.out_shapes]
        self.acts = [str(rng.choice(["", "", "relu", "tanh"])) for _ in outs]
        self.loss = str(rng.choice(LOSSES))
        self.ending = str(rng.choice(ENDINGS))
        self.shift = float(rng.choice([1.0, -0.5]))
        # what the mse / ce term reads: the first output, (rows, classes) for ce
        o = self.out_shapes[0]
        size = int(np.prod(o))
        self.ce_shape = o if len(o) == 2 and o[1] >= 2 else (1, size) if size >= 2 else None
        if self.loss == "ce" and self.ce_shape is None:
            self.loss = "mse"
        self.reduction = str(rng.choice(["mean", "sum"]))
        self.ce_opts = {}
        if self.loss == "ce":
            classes = self.ce_shape[1]
            if rng.integers(2):
                self.ce_opts["ignore_index"] = int(rng.choice([-1, 0, classes - 1]))
            if rng.integers(3) == 0:
                self.ce_opts["label_smoothing"] = float(rng.choice([0.1, 0.25]))
        self.args = [np.asarray(a, dtype=np.float64) for a, r in zip(program.inputs, roles) if r != "param"]
        self.arg_roles = [r for r in roles if r != "param"]
        self.target = self._target()

    def _target(self):
        rng = self.rng
        if self.loss == "mse":
            return rng.normal(size=self.out_shapes[0])
        if self.loss == "ce":
            rows, classes = self.ce_shape
            return rng.integers(0, classes, rows)
        return None

    def loss_of(self, outs, target, head=None):
        """The scalar made from the program's outputs (as written in the docstring above)."""
        outs = [getattr(F, a)(o) if a else o for o, a in zip(outs, self.acts)]
        if head is not None:
            (rows_k, _, _, act, _), o = self.head, outs[0]
            z = head(o if o.shape == rows_k else o.reshape(rows_k))
            outs = [getattr(F, act)(z) if act else z, *outs[1:]]
        if self.ending == "direct" and outs[0].size == 1:  # a view of the program's own result
            return outs[0].reshape(()) if outs[0].ndim != 1 else outs[0][0]
        terms = []
        for k, (o, w) in enumerate(zip(outs, self.weights)):
            if k == 0 and self.loss == "mse":
                terms.append(F.mse_loss(o, target, reduction=self.reduction))
            elif k == 0 and self.loss == "ce":
                z = o if o.shape == self.ce_shape else o.reshape(self.ce_shape)
                terms.append(F.cross_entropy(z, target, reduction=self.reduction, **self.ce_opts))
            elif self.loss == "mean":
                terms.append((o * w).mean())
            else:
                terms.append((o * w).sum())
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        if self.ending == "reshape":
            return total.reshape((1, 1)).reshape(())
        if self.ending == "index":
            return ad.stack([total, total * 0.5])[0]
        if self.ending == "relu":
            return F.relu(total.reshape((1, 1)) + self.shift).reshape(())
        if self.ending == "tanh":
            return ad.tanh(total.reshape((1,)))[0]
        return total

    def make(self):
        program, roles, dtype = self.program, self.roles, self.dtype
        mine = {i: ad.Tensor(a, requires_grad=True, dtype=dtype, name=f"x{i}")
                for i, (a, r) in enumerate(zip(program.inputs, roles)) if r in ("param", "param_arg")}
        owned = list(mine.values())
        head = None
        if self.head is not None:
            (_, k), c, bias, _, seed = self.head
            head = nn.Linear(k, c, bias=bias, rng=np.random.default_rng(seed))
            for p in head.parameters():
                p.data = p.data.astype(dtype)
            owned += list(head.parameters())
        closure = [mine[i] for i, r in enumerate(roles) if r == "param"]
        args = [mine[i] if r == "param_arg" else ad.Tensor(a, requires_grad=r == "arg_grad", dtype=dtype)
                for i, (a, r) in enumerate(zip(program.inputs, roles)) if r != "param"]
        target = self.target
        if self.loss == "mse":
            args.append(ad.Tensor(target, dtype=dtype))
        elif self.loss == "ce":
            args.append(target.copy())
        me = self

        def fn(*call):
            it, ps = iter(call), iter(closure)
            xs = [next(ps) if r == "param" else next(it) for r in roles]
            return me.loss_of(program(*xs), next(it, None), head)

        opt = _make_optimizer(self.opt_spec, owned)
        return World(owned, _watched(owned, args), opt, fn, args)

    def changes(self, world):
        rng = self.rng
        kind = int(rng.integers(8))
        if kind == 6:
            return _group_change(rng, self.dtype)
        if kind == 0:
            c = _optimizer_change(rng, world.opt)
            return None if c is None else (lambda w: c(w.opt))
        if kind == 1:
            c = _grad_change(rng)
            return lambda w: c(w.watched)
        if kind == 2:
            c = _data_change(rng, [p.shape for p in world.owned], self.recast)
            return lambda w: c(w.owned)
        if kind == 3:  # new values of the arguments, the same shapes
            noise = [rng.normal(size=a.shape) * 1e-3 for a in self.args]
            return lambda w: self._new_args(w, noise)
        plain = [j for j, r in enumerate(self.arg_roles) if r != "param_arg"]
        if kind == 4 and plain:  # an argument that now needs a gradient, or no longer: a new trace
            j = plain[int(rng.integers(len(plain)))]

            def flip(w):
                a = w.args[j]
                w.args[j] = ad.Tensor(a.data, requires_grad=not a.requires_grad)
                w.watched = _watched(w.owned, w.args)
            return flip
        if kind == 7:
            return _eager_step_between
        if kind == 5 and self.loss == "ce" and "ignore_index" in self.ce_opts and self.ce_shape[0]:  # a target hits ignore_index
            row = int(rng.integers(self.ce_shape[0]))

            def ignore(w):
                w.args[-1] = w.args[-1].copy()
                w.args[-1][row] = self.ce_opts["ignore_index"]
            return ignore
        return None

    def _new_args(self, w, noise):
        for j, (z, r) in enumerate(zip(noise, self.arg_roles)):
            if r != "param_arg":
                a = w.args[j]
                w.args[j] = ad.Tensor(a.data + z.astype(a.data.dtype), requires_grad=a.requires_grad)
        w.watched = _watched(w.owned, w.args)


class _Changes:
    """`changes(world)` with the scenario's generator at hand (`_drive` draws how many)."""

    def __init__(self, scenario):
        self.rng, self.fn = scenario.rng, scenario.changes

    def __call__(self, world):
        return self.fn(world)


@settings(max_examples=SCENARIOS * 15)
@given(st.one_of(programs(max_steps=6, max_outputs=2), programs(max_steps=5, max_outputs=2, zero_size=True)),
       st.integers(0, 2**32 - 1))
def test_random_programs_step_bit_for_bit(program, seed):
    for dtype in (np.float64, np.float32):
        s = ProgramScenario(program, seed, dtype)
        _drive(s.make, _Changes(s), STEPS, f"{dtype.__name__} program (seed {seed}):\n{program!r}")


# ---------------------------------------------------------------------- random models
ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid, lambda: nn.LeakyReLU(0.1))


class ModelScenario:
    """A random MLP, its loss (or two, stepped in turns), and the changes a user makes between steps."""

    def __init__(self, seed):
        rng = self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.recast: set[int] = set()
        self.dtype = np.float32 if rng.integers(2) else np.float64
        # a first layer of 300 × 256: past the optimizer's 256 KB block; and with a batch past 16, its
        # activations past the 4,096 elements where the ops' VJPs work in place
        big = seed % 4 == 0
        self.sizes = ([300, 256] if big else [int(rng.integers(2, 6))]) + [int(rng.integers(2, 7))
                                                                         for _ in range(rng.integers(0, 2))]
        # ce: class indices; mse: regression; scalar: one output of one sample, the loss a view of it
        self.task = str(rng.choice(["ce", "ce", "mse", "scalar"]))
        self.classes = 1 if self.task == "scalar" else int(rng.integers(2, 5))
        self.acts = [int(rng.integers(len(ACTIVATIONS))) for _ in self.sizes]
        self.bias = [bool(rng.integers(4)) for _ in self.sizes]
        self.dropout = int(rng.integers(3))  # 0: none, 1: in eval mode, 2: in training (runs eagerly)
        self.as_arg = bool(rng.integers(2))  # the model passed as an argument, or read from the closure
        # the compiled step's optimizer owns the first layer only; a second one, stepped eagerly by the
        # user, the rest (whose gradients the compiled steps add up, as eager ones do)
        self.split = bool(rng.integers(4) == 0)
        self.schedule = int(rng.integers(3))  # 0: none, 1: StepLR, 2: CosineAnnealingLR, stepped between steps
        self.ending = str(rng.choice(["relu", "tanh", "none"])), str(rng.choice(["reshape", "index"]))
        self.cfg = {"reduction": str(rng.choice(["mean", "mean", "sum"])), "ignore_index": -100, "label_smoothing": 0.0}
        if self.task == "ce" and rng.integers(2):
            self.cfg["ignore_index"] = int(rng.integers(0, self.classes))
        if self.task == "ce" and rng.integers(3) == 0:
            self.cfg["label_smoothing"] = 0.1
        self.target_dtype = rng.choice([np.int64, np.int32, np.uint8]) if self.task == "ce" else \
            (None if rng.integers(3) else np.float64)  # mse: a Tensor of the model's dtype, or a float64 array
        self.opt_spec = _draw_optimizer(rng)
        self.max_batch = 24 if big else 8
        self.batch = 1 if self.task == "scalar" else int(rng.integers(1, self.max_batch + 1))
        self.target_tensor = self.task == "ce" and not rng.integers(4)  # class indices as a Tensor of integers
        self.new_batch()

    def new_batch(self, n=None):
        rng = self.rng
        n = self.batch if n is None or self.task == "scalar" else n
        self.x = rng.normal(size=(n, self.sizes[0]))
        if self.task == "ce":
            t = rng.integers(0, self.classes, n)
            if self.cfg["ignore_index"] >= 0 and rng.integers(3) == 0:
                t[rng.integers(n)] = self.cfg["ignore_index"]
            self.t = t.astype(self.target_dtype)
        else:
            self.t = rng.normal(size=(n, self.classes))

    def _batch(self):
        t = self.t.copy() if self.target_dtype is not None else ad.Tensor(self.t, dtype=self.dtype)
        if self.target_tensor:  # read as numbers: the step runs eagerly (the warning says so)
            t = ad.Tensor(t)
        x = ad.Tensor(self.x, dtype=self.dtype)
        return [x] if self.task == "scalar" else [x, t]  # an unused argument would make it run eagerly

    def make(self):
        rng = np.random.default_rng(self.seed)  # the same weights in both worlds
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise([*self.sizes, self.classes])):
            layers.append(nn.Linear(a, b, bias=self.bias[i], rng=rng))
            if i < len(self.sizes) - 1:
                layers.append(ACTIVATIONS[self.acts[i]]())
                if self.dropout and i == 0:
                    layers.append(nn.Dropout(0.3, rng=np.random.default_rng(self.seed + 1)))
        model = nn.Sequential(*layers)
        for p in model.parameters():
            p.data = p.data.astype(self.dtype)
        if self.dropout == 1:
            model.eval()
        cfg, task, (act, view), as_arg = self.cfg, self.task, self.ending, self.as_arg

        def loss(m, x, t, reduction, ignore_index, label_smoothing):
            z = m(x)
            if task == "ce":
                return F.cross_entropy(z, t, reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing)
            if task == "mse":
                return F.mse_loss(z, t, reduction=reduction)
            z = z + 0.5 if act == "none" else getattr(F, act)(z + 0.5)  # (1, 1): a kernel's buffer
            return z.reshape(()) if view == "reshape" else z[0, 0]

        # Each compiled function reads cfg itself: what a function it calls reads is not watched
        # (see the xfail below).
        def fn(*a):
            m, x, t = (*a, None)[:3] if as_arg else (model, *a, None)[:3]
            return loss(m, x, t, cfg["reduction"], cfg["ignore_index"], cfg["label_smoothing"])

        def fn2(*a):  # another loss with the same optimizer: the first weight read twice (L2 on it)
            m, x, t = (*a, None)[:3] if as_arg else (model, *a, None)[:3]
            E = loss(m, x, t, cfg["reduction"], cfg["ignore_index"], cfg["label_smoothing"])
            return E + 1e-3 * (m.layers[0].weight ** 2).sum()

        params = list(model.parameters())
        owned = list(model.layers[0].parameters()) if self.split else params
        opt = _make_optimizer(self.opt_spec, owned)
        world = World(owned, params, opt, fn, [*([model] if as_arg else []), *self._batch()], more=[fn2])
        world.model = model
        rest = [p for p in params if all(p is not q for q in owned)]
        world.other = nn.SGD(rest, lr=0.05, momentum=0.5) if rest else None
        world.sched = [None, lambda o: nn.optim.lr_scheduler.StepLR(o, 2, 0.5),
                       lambda o: nn.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3)][self.schedule]
        world.sched = world.sched and world.sched(opt)
        return world

    def _set_batch(self, w):
        w.args[1 if self.as_arg else 0:] = self._batch()

    def changes(self, world):
        rng = self.rng
        kind = int(rng.integers(15))
        if kind == 13 and world.sched is not None:  # an epoch of the learning-rate schedule
            return lambda w: w.sched.step()
        if kind == 14:  # the optimizer's lr property: every group's rate
            return lambda w: setattr(w.opt, "lr", w.opt.lr * 0.5)
        if kind == 11 and world.other is not None:  # the user's other optimizer steps on what has gathered
            def other(w):
                w.other.step()
                if rng_flag:
                    w.other.zero_grad()
            rng_flag = bool(rng.integers(2))
            return other
        if kind == 12:  # the model's own zero_grad
            return lambda w: w.model.zero_grad()
        if kind == 0:
            c = _optimizer_change(rng, world.opt)
            return None if c is None else (lambda w: c(w.opt))
        if kind == 1:
            c = _grad_change(rng)
            return lambda w: c(w.watched)
        if kind == 2:
            c = _data_change(rng, [p.shape for p in world.owned], self.recast)
            return lambda w: c(w.owned)
        if kind in (3, 4):  # a new batch, of the same size or another (a new trace)
            self.new_batch(None if kind == 3 else int(rng.integers(1, self.max_batch + 1)))
            return self._set_batch
        if kind == 5:  # a weight replaced by a new Parameter the optimizer does not own
            linears = [m for m in world.model.layers if isinstance(m, nn.Linear)]
            j = int(rng.integers(len(linears)))
            new = rng.normal(size=linears[j].weight.shape) * 0.3

            def replace(w):
                lin = [m for m in w.model.layers if isinstance(m, nn.Linear)][j]
                lin.weight = nn.Parameter(new.astype(self.dtype))
                w.watched = [*w.owned, *(p for p in w.model.parameters() if all(p is not q for q in w.owned))]
            return replace
        if kind == 6 and self.dropout:  # train / eval
            return lambda w: w.model.eval() if w.model.training else w.model.train()
        if kind == 7 and self.task != "scalar":  # a loss setting in the dict the loss reads (a new trace)
            key = str(rng.choice(["reduction", "label_smoothing"] if self.task == "ce" else ["reduction"]))
            value = (str(rng.choice(["mean", "sum"])) if key == "reduction" else float(rng.choice([0.0, 0.2])))
            self.cfg[key] = value  # one dict, read by both worlds' loss functions
            return lambda w: None
        if kind == 8:
            return _group_change(rng, self.dtype)
        if kind == 9:  # the other loss function, compiled with the same optimizer
            return lambda w: setattr(w, "active", 1 - w.active)
        if kind == 10:
            return _eager_step_between
        return None


@pytest.mark.parametrize("seed", range(SCENARIOS * 10))
def test_random_models_step_bit_for_bit(seed):
    s = ModelScenario(seed)
    step = _drive(s.make, _Changes(s), STEPS + 2, f"model scenario {seed}")
    assert step.traces >= 1


# ---------------------------------------------------------------------- found by this fuzzer, not fixed yet
def test_a_loss_that_is_a_view_of_a_parameter_is_the_eager_loss():
    def make():
        W = ad.Tensor(np.array([0.0]), requires_grad=True)
        return nn.SGD([W], lr=0.1), lambda: W.reshape(())

    (opt, fn), (opt0, fn0) = make(), make()
    step = opt.compile_step(fn)
    E = step()
    opt0.zero_grad()
    E0 = fn0()
    E0.backward()
    opt0.step()
    np.testing.assert_array_equal(E.data, E0.data)


def test_a_parameter_whose_data_became_a_numpy_scalar_is_moved_or_refused():
    W = ad.Tensor(np.array(1.0), requires_grad=True)
    W.data = W.data - 0.5  # np.float64, not a 0-d array
    opt = nn.SGD([W], lr=0.1)
    (W * 2.0).backward()
    try:
        opt.step()
    except (TypeError, ValueError) as e:  # refused, loudly, naming what is wrong: fine too
        assert "data" in str(e)
        return
    assert float(W.data) == 0.5 - 0.1 * 2.0


def test_what_a_called_function_reads_is_watched():
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    cfg = {"scale": 1.0}

    def helper(x):
        return ((x @ W) * cfg["scale"]).sum()

    def fn(x):
        return helper(x)

    f = ad.compile(fn)
    x = ad.Tensor(np.ones((4, 3)))
    assert f(x).item() == fn(x).item() == 24.0
    cfg["scale"] = 3.0
    assert f(x).item() == fn(x).item() == 72.0  # the replay returns 24.0


def test_what_a_called_function_reads_is_watched_by_the_compiled_step():
    def make():
        W = ad.Tensor(np.zeros((3, 2)), requires_grad=True)
        cfg = {"scale": 1.0}

        def helper(x):
            return ((x @ W) * cfg["scale"]).sum()

        return cfg, (lambda x: helper(x)), nn.SGD([W], lr=0.1)

    (cfg, fn, opt), (cfg0, fn0, opt0) = make(), make()
    step = opt.compile_step(fn)
    x = ad.Tensor(np.ones((4, 3)))
    for i in range(3):
        if i == 2:
            cfg["scale"] = cfg0["scale"] = 3.0
        E = step(x)
        opt0.zero_grad()
        E0 = fn0(x)
        E0.backward()
        opt0.step()
        np.testing.assert_array_equal(E.data, E0.data)  # step 2: -19.2 compiled, -57.6 eagerly


@pytest.mark.parametrize("make_opt", [lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.01),
                                      lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                                      lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3)],
                         ids=["adam+decay", "nesterov+decay", "dampening"])
def test_a_parameter_cast_and_cast_back_steps_as_eagerly(make_opt):
    def make():
        W = ad.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        return W, make_opt([W]), lambda: (W * W).sum()

    (W, opt, fn), (W0, opt0, fn0) = make(), make()
    step = opt.compile_step(fn)
    for dtype in (None, np.float32, np.float64):
        if dtype is not None:
            W.data, W0.data = W.data.astype(dtype), W0.data.astype(dtype)
        step()
        opt0.zero_grad()
        fn0().backward()
        opt0.step()
        np.testing.assert_array_equal(W.data, W0.data)
