"""What the differential fuzzer of `opt.compile_step(loss_fn)` shares between its scenarios: the
bit-for-bit comparison, the two worlds (compiled and eager) and how they are driven step by step,
the random optimizers and the changes users make between steps.

The scenarios: random programs in tests/test_compile_step_fuzz.py, random MLPs in
tests/test_compile_step_fuzz_models.py; the minimal cases they found in tests/test_compile_step_fuzz_cases.py.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

import autodiff as ad
import nn

SCENARIOS = int(os.environ.get("COMPILE_FUZZ_SCENARIOS", "4"))
STEPS = 6


# ---------------------------------------------------------------------- comparing bit for bit
def same(got, want, what):
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
def draw_optimizer(rng):
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


def make_optimizer(spec, params):
    cls, kw, split, lr2 = spec
    if split and len(params) > 1:
        return cls([{"params": params[:1]}, {"params": params[1:], "lr": lr2}], **kw)
    return cls(params, **kw)


def optimizer_change(rng, opt):
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


def grad_change(rng):
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


def data_change(rng, shapes, recast):
    """A parameter's `.data` replaced by a new array, written into in place, of another dtype (once
    per parameter: see tests/test_compile_step_fuzz_cases.py; `recast` holds those changed), or its requires_grad flipped."""
    i = int(rng.integers(len(shapes)))
    noise = rng.normal(size=shapes[i]) * 0.05
    kind = int(rng.integers(4))
    if kind == 3 and i not in recast:  # another dtype for one parameter
        recast.add(i)
        return lambda ps: setattr(ps[i], "data", ps[i].data.astype(np.float32 if ps[i].data.dtype == np.float64 else np.float64))
    if kind == 0:  # np.array: a 0-d sum is a NumPy scalar, which the optimizer cannot move (see tests/test_compile_step_fuzz_cases.py)
        return lambda ps: setattr(ps[i], "data", np.array(ps[i].data + noise.astype(ps[i].data.dtype), ps[i].data.dtype))
    if kind == 1:
        def inplace(ps):
            ps[i].data[...] += noise.astype(ps[i].data.dtype)
        return inplace
    return lambda ps: setattr(ps[i], "requires_grad", not ps[i].requires_grad)


#: The kinds of change both fuzzers draw alike (`common_change`): 0 optimizer, 1 gradients, 2 parameters' data.
COMMON = (0, 1, 2)


def common_change(kind, rng, world, recast):
    """Change `kind` (one of COMMON) of a world with `opt`, `watched` (the Tensors whose `.grad` a user
    sees) and `owned` (the parameters), as a function of the world; None for no change."""
    if kind == 0:
        c = optimizer_change(rng, world.opt)
        return None if c is None else (lambda w: c(w.opt))
    if kind == 1:
        c = grad_change(rng)
        return lambda w: c(w.watched)
    c = data_change(rng, [p.shape for p in world.owned], recast)
    return lambda w: c(w.owned)


def group_change(rng, dtype):
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


def run_step(step, world):
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


def compare(compiled, eager, what):
    for k, (p, q) in enumerate(zip(compiled.owned, eager.owned)):
        same(p.data, q.data, f"{what}: parameter {k}'s data")
    for k, (p, q) in enumerate(zip(compiled.watched, eager.watched)):
        same(p.data, q.data, f"{what}: {k}'s data")
        same(p.grad, q.grad, f"{what}: {k}'s grad")


def drive(make, changes, steps, label):
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
            E1, E0 = run_step(steps_of[compiled.active], compiled), run_step(None, eager)
            if isinstance(E0, type) or isinstance(E1, type):
                assert E1 is E0, f"{what}: compiled {E1!r}, eagerly {E0!r}"
                compare(compiled, eager, what)
                break
            same(E1.data, E0.data, f"{what}: the loss")
            compare(compiled, eager, what)
            kept.append((E1, E1.data.copy(), E0, E0.data.copy()))
    for n, (E1, v1, E0, v0) in enumerate(kept):
        same(E1.data, v1, f"{label}: the loss returned by step {n}, kept")
        same(E0.data, v0, f"{label}: the eager loss of step {n}, kept")
    return steps_of[0]


def watched_tensors(owned, args):
    """The Tensors whose gradients are compared: the optimizer's, and the arguments that need one."""
    return [*owned, *(a for a in args if isinstance(a, ad.Tensor) and a.requires_grad and all(a is not p for p in owned))]


def eager_step_between(w):
    """The user's own eager step between compiled ones (the optimizer's state moves outside them)."""
    try:
        w.opt.zero_grad()
        w.fn(*w.args).backward()
        w.opt.step()
    except (ValueError, RuntimeError, IndexError, TypeError):
        pass  # as the compiled world's: the next step compares what the two do


class Changes:
    """`changes(world)` with the scenario's generator at hand (`drive` draws how many)."""

    def __init__(self, scenario):
        self.rng, self.fn = scenario.rng, scenario.changes

    def __call__(self, world):
        return self.fn(world)

