"""The differential fuzzer of `opt.compile_step(loss_fn)` (see tests/test_compile_step_fuzz.py for
what it compares and how), on random nn MLPs: Linear with or without bias, ReLU / Tanh / Sigmoid /
LeakyReLU, Dropout in eval or, seeded, in training; cross_entropy (ignore_index, label smoothing,
reduction, targets of several integer dtypes or as a Tensor), mse_loss (a target Tensor or a float64
array), or one output through relu / tanh viewed as the loss; the model passed as an argument or
closed over; some with a parameter past the optimizer's 256 KB block (updated block by block) and
activations past the ops' in-place sizes; a second loss function compiled for the same optimizer;
the optimizer owning the first layer only, a second one the rest.

COMPILE_FUZZ_SCENARIOS × 10 models (default 4; `make fuzz`: 150). The shared parts are in
tests/compile_step_worlds.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

from . import compile_step_worlds as worlds

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
        self.opt_spec = worlds.draw_optimizer(rng)
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
        # (see tests/test_compile_step_fuzz_cases.py).
        def fn(*a):
            m, x, t = (*a, None)[:3] if as_arg else (model, *a, None)[:3]
            return loss(m, x, t, cfg["reduction"], cfg["ignore_index"], cfg["label_smoothing"])

        def fn2(*a):  # another loss with the same optimizer: the first weight read twice (L2 on it)
            m, x, t = (*a, None)[:3] if as_arg else (model, *a, None)[:3]
            E = loss(m, x, t, cfg["reduction"], cfg["ignore_index"], cfg["label_smoothing"])
            return E + 1e-3 * (m.layers[0].weight ** 2).sum()

        params = list(model.parameters())
        owned = list(model.layers[0].parameters()) if self.split else params
        opt = worlds.make_optimizer(self.opt_spec, owned)
        world = worlds.World(owned, params, opt, fn, [*([model] if as_arg else []), *self._batch()], more=[fn2])
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
        if kind in worlds.COMMON:
            return worlds.common_change(kind, rng, world, self.recast)
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
            return worlds.group_change(rng, self.dtype)
        if kind == 9:  # the other loss function, compiled with the same optimizer
            return lambda w: setattr(w, "active", 1 - w.active)
        if kind == 10:
            return worlds.eager_step_between
        return None


@pytest.mark.parametrize("seed", range(worlds.SCENARIOS * 10))
def test_random_models_step_bit_for_bit(seed):
    s = ModelScenario(seed)
    step = worlds.drive(s.make, worlds.Changes(s), worlds.STEPS + 2, f"model scenario {seed}")
    assert step.traces >= 1
