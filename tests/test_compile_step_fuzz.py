"""A differential fuzzer for `opt.compile_step(loss_fn)`: a compiled training step against the same
step taken eagerly on a twin (`opt.zero_grad(); E = loss_fn(*args); E.backward(); opt.step()`),
bit for bit after every step: the returned loss, every parameter's `.data` and `.grad`.

This file holds the random programs (autodiff.testing.programs, some over zero-length axes), each
in float64 and float32, some inputs parameters owned by a random optimizer (SGD plain, with
momentum, Nesterov, dampening, weight decay; Adam, AMSGrad, AdamW; one or two parameter groups),
read from the closure or passed as arguments, the others arguments (some needing a gradient the
optimizer does not own); sometimes an nn.Linear head (relu, tanh) on the first output; the loss a
scalar made from the outputs (weighted sums, means, mse_loss, cross_entropy with ignore_index or
label smoothing, through relu or tanh, or the program's own one-element result, ending in a view:
`.reshape(())`, `[0]`). Between steps the changes users make: the rate (a NumPy number too),
momentum, dampening, Nesterov, weight decay, betas or AMSGrad changed in `param_groups`, a
parameter group added, the optimizer's state reloaded, `zero_grad()`, `.grad` read, written into
or set stale, a hook registered, a parameter's `.data` replaced, written in place or of another
dtype, a parameter frozen or thawed, new inputs of the same shape, an argument that needs a
gradient or no longer, targets that hit ignore_index, an eager step of the user's own. Every
returned loss is kept and must still hold its value at the end. A step that runs eagerly (the
warning names why) must agree just the same; an error must be the same error.

The random nn MLPs are in tests/test_compile_step_fuzz_models.py; what both share (the comparison,
the two worlds and how they are driven, the optimizers, the changes) in tests/compile_step_worlds.py;
the minimal cases the fuzzer found in tests/test_compile_step_fuzz_cases.py.

`make test` runs the quick profile (a few seconds); `make fuzz` the long one (COMPILE_FUZZ_SCENARIOS,
default 4 here and 150 there, shared with tests/test_compile_fuzz.py and
tests/test_compile_step_fuzz_models.py: 15 programs here and 10 models there per scenario).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing.programs import programs

from . import compile_step_worlds as worlds

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
        self.opt_spec = worlds.draw_optimizer(rng)
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

        opt = worlds.make_optimizer(self.opt_spec, owned)
        return worlds.World(owned, worlds.watched_tensors(owned, args), opt, fn, args)

    def changes(self, world):
        rng = self.rng
        kind = int(rng.integers(8))
        if kind == 6:
            return worlds.group_change(rng, self.dtype)
        if kind in worlds.COMMON:
            return worlds.common_change(kind, rng, world, self.recast)
        if kind == 3:  # new values of the arguments, the same shapes
            noise = [rng.normal(size=a.shape) * 1e-3 for a in self.args]
            return lambda w: self._new_args(w, noise)
        plain = [j for j, r in enumerate(self.arg_roles) if r != "param_arg"]
        if kind == 4 and plain:  # an argument that now needs a gradient, or no longer: a new trace
            j = plain[int(rng.integers(len(plain)))]

            def flip(w):
                a = w.args[j]
                w.args[j] = ad.Tensor(a.data, requires_grad=not a.requires_grad)
                w.watched = worlds.watched_tensors(w.owned, w.args)
            return flip
        if kind == 7:
            return worlds.eager_step_between
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
        w.watched = worlds.watched_tensors(w.owned, w.args)


@settings(max_examples=worlds.SCENARIOS * 15)
@given(st.one_of(programs(max_steps=6, max_outputs=2), programs(max_steps=5, max_outputs=2, zero_size=True)),
       st.integers(0, 2**32 - 1))
def test_random_programs_step_bit_for_bit(program, seed):
    for dtype in (np.float64, np.float32):
        s = ProgramScenario(program, seed, dtype)
        worlds.drive(s.make, worlds.Changes(s), worlds.STEPS, f"{dtype.__name__} program (seed {seed}):\n{program!r}")
