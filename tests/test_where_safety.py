"""`where` never lets the branch it did not select put a NaN or ∞ into a gradient (SPEC §1), for
every op, first and second order (the rule: `autodiff.zero_safe`).

Each case poisons some elements of one input of an op (a row of tests/op_table.py, or an nn op
below) or of a random program: they pass through an op whose own derivative is then ∞ or NaN,
log(0), 1/0, sqrt(−1) or an overflowing exp, before reaching the op. A `where` then keeps only
outputs that do not depend on the poisoned elements (found by probing the forward with NaN there),
and some fewer at random. Every gradient (of the op's inputs, of the poison's own input u and of the
where's other branch) must be finite and equal that of the selected branch alone: the same program
on the unpoisoned values, where every unselected output is finite. Gradients recorded with
`create_graph=True` must equal them too, and so must their gradients (grad of grad). Random
programs (autodiff.testing.programs) get the same treatment, with a `where` also inserted at one or
two random steps inside them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
import nn
from autodiff.op import registry
from autodiff.testing.programs import programs
from nn import functional as F
from nn.modules.attention_op import attention
from nn.modules.conv import fold, unfold
from nn.modules.gru_op import gru_sequence
from nn.modules.linear import _linear
from nn.modules.lstm_op import lstm_sequence
from tests.op_table import MAX_SIDE, NOT_PER_ELEMENT, ROWS, Row, reals

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "thorough"
N_PROGRAMS = 1000 if THOROUGH else 40
N_PROGRAMS_SECOND = 300 if THOROUGH else 15

#: name → (poison(x, u), harmless u, poisonous u): poison(x, harmless) is exactly x.
POISONS: dict[str, tuple[Callable[[Any, Any], Any], float, float]] = {
    "log(0)": (lambda x, u: x + ad.log(u), 1.0, 0.0),
    "1/0": (lambda x, u: x / u, 1.0, 0.0),
    "sqrt(-1)": (lambda x, u: x + (ad.sqrt(u) - 1.0), 1.0, -1.0),
    "exp overflow": (lambda x, u: x * ad.exp(u), 0.0, 1000.0),
}


# ---------------------------------------------------------------------- the nn ops, as rows
def _probabilities(shape, dtype):
    return hnp.arrays(dtype, shape, elements=reals(0.05, 0.95))


def _loss_cases(kind):
    def cases(dtype):
        @st.composite
        def draw(d):
            shape = d(hnp.array_shapes(min_dims=1, max_dims=2, max_side=MAX_SIDE))
            reduction = d(st.sampled_from(["mean", "sum", "none"]))
            if kind == "cross_entropy":
                logits = d(hnp.arrays(dtype, shape, elements=reals()))
                target = d(hnp.arrays(np.intp, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
                return [logits], {"target": target, "reduction": reduction}
            first = _probabilities(shape, dtype) if kind == "binary_cross_entropy" else hnp.arrays(dtype, shape, elements=reals())
            return [d(first), d(_probabilities(shape, dtype))], {"reduction": reduction}

        return draw()

    return cases


def _linear_cases(dtype):
    @st.composite
    def draw(d):
        n_in, n_out = d(st.integers(1, MAX_SIDE)), d(st.integers(1, MAX_SIDE))
        lead = d(st.sampled_from([(), (3,), (2, 3)]))
        return [d(hnp.arrays(dtype, (*lead, n_in), elements=reals())), d(hnp.arrays(dtype, (n_out, n_in), elements=reals())),
                d(hnp.arrays(dtype, (n_out,), elements=reals()))], {}

    return draw()


def _conv_cases(adjoint):
    def cases(dtype):
        @st.composite
        def draw(d):
            n, c, h, w = (d(st.integers(1, 3)) for _ in range(4))
            kernel = (d(st.integers(1, h)), d(st.integers(1, w)))
            stride, padding = (d(st.integers(1, 2)),) * 2, (d(st.integers(0, 1)),) * 2
            static = {"kernel": kernel, "stride": stride, "padding": padding}
            x = d(hnp.arrays(dtype, (n, c, h, w), elements=reals()))
            if not adjoint:
                return [x], static
            z = unfold(x, kernel, stride, padding).data
            return [d(hnp.arrays(dtype, z.shape, elements=reals()))], {"shape": x.shape, **static}

        return draw()

    return cases


def _lstm_cases(dtype):
    @st.composite
    def draw(d):
        T, N, n_in, H = (d(st.integers(1, 3)) for _ in range(4))
        shapes = [(T, N, n_in), (N, H), (N, H), (4 * H, n_in), (4 * H, H), (4 * H,), (4 * H,)]
        return [d(hnp.arrays(dtype, s, elements=reals())) for s in shapes], {"reverse": d(st.booleans())}

    return draw()


def _gru_cases(dtype):
    @st.composite
    def draw(d):
        T, N, n_in, H = (d(st.integers(1, 3)) for _ in range(4))
        shapes = [(T, N, n_in), (N, H), (3 * H, n_in), (3 * H, H), (3 * H,), (3 * H,)]
        return [d(hnp.arrays(dtype, s, elements=reals())) for s in shapes], {"reverse": d(st.booleans())}

    return draw()


def _attention_cases(dtype):
    @st.composite
    def draw(d):
        B, L, S, E, Ev = (d(st.integers(1, 3)) for _ in range(5))
        q, k, v = (d(hnp.arrays(dtype, s, elements=reals())) for s in [(B, L, E), (B, S, E), (B, S, Ev)])
        mask = d(st.sampled_from([None, "float", "bool"]))
        if mask == "float":
            mask = d(hnp.arrays(dtype, (L, S), elements=reals()))
        elif mask == "bool":  # −∞ where a query may not attend; a row of them is a query that sees nothing
            mask = np.where(d(hnp.arrays(bool, (L, S))), 0.0, -np.inf).astype(dtype)
        return [q, k, v], {"scale": d(st.sampled_from([1.0, 0.5])), "mask": mask}

    return draw()


def _not_ours(*arrays, **static):
    raise AssertionError("only the ops' own forward is used here")


NN_ROWS = [
    Row("linear", _linear, _not_ours, _linear_cases),
    Row("mse_loss", lambda y, t, reduction: F.mse_loss(y, t, reduction), _not_ours, _loss_cases("mse_loss")),
    Row("cross_entropy", lambda a, target, reduction: F.cross_entropy(a, target, reduction), _not_ours,
        _loss_cases("cross_entropy")),
    # its input must be a probability (checked, so a poisoned one is refused): only the target is poisoned
    Row("binary_cross_entropy", lambda y, t, reduction: F.binary_cross_entropy(y, t, reduction), _not_ours,
        _loss_cases("binary_cross_entropy"), differentiable=(1,)),
    Row("binary_cross_entropy_with_logits", lambda a, t, reduction: F.binary_cross_entropy_with_logits(a, t, reduction),
        _not_ours, _loss_cases("binary_cross_entropy_with_logits")),
    Row("unfold", unfold, _not_ours, _conv_cases(adjoint=False)),
    Row("fold", fold, _not_ours, _conv_cases(adjoint=True)),
    Row("lstm", lstm_sequence, _not_ours, _lstm_cases),
    Row("gru", gru_sequence, _not_ours, _gru_cases),
    Row("attention", attention, _not_ours, _attention_cases),
]
ALL_ROWS = ROWS + NN_ROWS


def test_every_registered_op_is_checked():
    ours = {name for name, o in registry.items() if o.forward.__module__.split(".")[0] in ("autodiff", "nn")}
    assert ours <= {row.name for row in ALL_ROWS}  # rows may also check functions composed of ops


# ---------------------------------------------------------------------- the check
def _quiet():
    return np.errstate(all="ignore")


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def free_of(run: Callable[[list[np.ndarray]], list[np.ndarray]], arrays: list[np.ndarray], i: int,
            poisoned: np.ndarray) -> list[np.ndarray]:
    """For each value `run(arrays)` gives, where it does not depend on arrays[i][poisoned]: where it
    stays the same when those elements become NaN, or change by 1."""
    with ad.no_grad(), _quiet():
        base = run(arrays)
        free = [np.ones(b.shape, bool) for b in base]
        for probe in (np.nan, 1.0):
            a = arrays[i].copy()
            a[poisoned] = probe if np.isnan(probe) else a[poisoned] + probe
            for f, b, p in zip(free, base, run([*arrays[:i], a, *arrays[i + 1:]])):
                f &= _same(b, p)
    return free


@dataclass
class Case:
    """fn(*tensors) -> tuple of Tensors on `arrays`, input i poisoned where `poisoned`, and the
    outputs kept by a `where` (`selected`, each of its output's shape)."""

    fn: Callable[..., tuple]
    arrays: list[np.ndarray]
    i: int
    poisoned: np.ndarray
    poison: str
    selected: list[np.ndarray]
    seed: int

    def inputs(self, harmless: bool, shift: float = 0.0) -> list[ad.Tensor]:
        """The op's inputs, the poison's u and the where's other branches, as fresh leaves."""
        _, good, bad = POISONS[self.poison]
        u = np.full(self.arrays[self.i].shape, good)
        if not harmless:
            u[self.poisoned] = bad
        arrays = [a.copy() for a in self.arrays]
        arrays[self.i][self.poisoned] += shift
        rng = np.random.default_rng(self.seed)
        others = [rng.uniform(-1, 1, s.shape) for s in self.selected]
        return [ad.Tensor(a, requires_grad=True) for a in [*arrays, u, *others]]

    def loss(self, ts: list[ad.Tensor]) -> ad.Tensor:
        n = len(self.arrays)
        xs, u, others = list(ts[:n]), ts[n], ts[n + 1:]
        xs[self.i] = POISONS[self.poison][0](xs[self.i], u)
        rng = np.random.default_rng(self.seed + 1)
        total = 0.0
        for keep, out, other in zip(self.selected, self.fn(*xs), others):
            total = total + (ad.where(keep, out, other) * rng.uniform(0.5, 1.5, out.shape)).sum()
        return total

    def grads(self, harmless: bool, shift: float = 0.0, create_graph: bool = False) -> tuple[list, list]:
        ts = self.inputs(harmless, shift)
        with _quiet():
            return ts, list(ad.grad(self.loss(ts), ts, create_graph=create_graph))

    def second(self, harmless: bool) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """The recorded first-order gradients and the gradient of a weighted sum of them."""
        ts, gs = self.grads(harmless, create_graph=True)
        rng = np.random.default_rng(self.seed + 2)
        recorded = [g for g in gs if g.requires_grad]
        if not recorded:
            return [g.data for g in gs], None
        with _quiet():
            total = sum((g * rng.uniform(-1, 1, g.shape)).sum() for g in recorded)
            return [g.data for g in gs], [h.data for h in ad.grad(total, ts)]

    def check(self, second_order: bool = False) -> None:
        _, reference = self.grads(harmless=True)
        _, got = self.grads(harmless=False)
        if not _all_close(got, reference):
            self._skip_if_the_selected_part_depends_on_the_poisoned_values(reference)
        _assert_close(got, reference, "first order")
        if second_order:
            recorded, twice = self.second(harmless=False)
            _assert_close(recorded, [g.data for g in reference], "first order, recorded (create_graph=True)")
            _, reference_twice = self.second(harmless=True)
            if reference_twice is not None:
                _assert_close(twice, reference_twice, "second order (grad of grad)")

    def _skip_if_the_selected_part_depends_on_the_poisoned_values(self, reference) -> None:
        # x ** 0 = 1 whatever x, but its slope in the exponent is ln x: the value does not depend on
        # x, the gradient does. Moving the poisoned values a little shows such a case: not a trap.
        _, moved = self.grads(harmless=True, shift=0.01)
        if all(np.isfinite(g.data).all() for g in moved):
            assume(_all_close(moved, reference))


def _all_close(got, expected) -> bool:
    return all(np.allclose(g.data, e.data, rtol=1e-9, atol=1e-12) and np.isfinite(g.data).all() for g, e in zip(got, expected))


def _assert_close(got, expected, what) -> None:
    for k, (g, e) in enumerate(zip(got, expected)):
        g, e = getattr(g, "data", g), getattr(e, "data", e)
        assert np.isfinite(g).all(), f"{what}: the gradient of input {k} is not finite: {g}"
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12, err_msg=f"{what}, input {k}")


def _draw_poisoned(data, shape) -> np.ndarray:
    poisoned = data.draw(hnp.arrays(bool, shape))
    poisoned.flat[data.draw(st.integers(0, poisoned.size - 1))] = True
    return poisoned


def _draw_selected(data, free: list[np.ndarray]) -> list[np.ndarray]:
    # mostly every free output, sometimes a random part of them
    if data.draw(st.integers(0, 2)):
        return free
    return [f & data.draw(hnp.arrays(bool, f.shape)) for f in free]


def op_case(row: Row, data) -> Case:
    arrays, static = data.draw(row.cases(np.float64))
    allowed = range(len(arrays)) if row.differentiable is None else row.differentiable
    candidates = [k for k in allowed if arrays[k].size]
    assume(candidates)
    i = data.draw(st.sampled_from(candidates))
    poisoned = _draw_poisoned(data, arrays[i].shape)

    def fn(*xs):
        return (row.ours(*xs, **static),)

    free = free_of(lambda arrs: [fn(*[ad.Tensor(a) for a in arrs])[0].data], arrays, i, poisoned)
    return Case(fn, arrays, i, poisoned, data.draw(st.sampled_from(sorted(POISONS))), _draw_selected(data, free),
                data.draw(st.integers(0, 2**16)))


# The matrix functions (inv, solve, eigh …) mix every entry of a matrix into every result: an ∞ inside
# a matrix of which some results are selected reaches them all. Their rule is per matrix of a batch;
# sort's routing depends on the values. tests/test_ops_shape.py checks both its own way.
PER_ELEMENT = [r for r in ALL_ROWS if r.name not in NOT_PER_ELEMENT]
rows = pytest.mark.parametrize("row", PER_ELEMENT, ids=[r.name for r in PER_ELEMENT])


@rows
@given(data=st.data())
def test_the_unselected_branch_leaks_nothing_into_the_gradient(row, data):
    op_case(row, data).check()


@rows
@settings(max_examples=max(5, settings().max_examples // 3))
@given(data=st.data())
def test_nor_into_recorded_gradients_and_their_gradients(row, data):
    op_case(row, data).check(second_order=True)


# ---------------------------------------------------------------------- random programs
def program_case(program, data) -> Case:
    """A random program with a `where` at one or two random steps (keeping what the poison did not
    reach there, else a constant) and one on every output."""
    arrays = program.inputs
    candidates = [k for k, a in enumerate(arrays) if a.size]
    assume(candidates)
    i = data.draw(st.sampled_from(candidates))
    poisoned = _draw_poisoned(data, arrays[i].shape)
    steps = re.findall(r"^    (v\d+) = ", program.source, flags=re.M)
    points = sorted(set(data.draw(st.lists(st.sampled_from(steps), min_size=1, max_size=2))), key=steps.index)
    lines = []
    for line in program.source.split("\n"):
        lines.append(line)
        m = re.match(r"    (v\d+) = ", line)
        if m and m.group(1) in points:
            lines.append(f"    {m.group(1)} = _at({m.group(1)!r}, {m.group(1)})")
    wheres: dict[str, Any] = {}
    seen: dict[str, np.ndarray] = {}

    def at(name, v):
        if name not in wheres:  # not decided yet: record the value
            seen[name] = v.data
            return v
        keep, other = wheres[name]
        return ad.where(keep, v, other)

    namespace: dict[str, Any] = {"np": np, "ad": ad, "_at": at}
    exec(compile("\n".join(lines), "<program with wheres>", "exec"), namespace)
    f = namespace["f"]
    for name in points:
        def run(arrs, name=name):
            f(*[ad.Tensor(a) for a in arrs])
            return [seen[name]]

        (free,) = free_of(run, arrays, i, poisoned)
        wheres[name] = (_draw_selected(data, [free])[0], np.full(free.shape, 0.5))
    free = free_of(lambda arrs: [o.data for o in f(*[ad.Tensor(a) for a in arrs])], arrays, i, poisoned)
    return Case(f, arrays, i, poisoned, data.draw(st.sampled_from(sorted(POISONS))), _draw_selected(data, free),
                data.draw(st.integers(0, 2**16)))


@settings(max_examples=N_PROGRAMS)
@given(program=programs(max_steps=8), data=st.data())
def test_random_programs_with_wheres_leak_nothing(program, data):
    program_case(program, data).check()


@settings(max_examples=N_PROGRAMS_SECOND)
@given(program=programs(max_steps=6), data=st.data())
def test_random_programs_with_wheres_leak_nothing_to_second_order(program, data):
    program_case(program, data).check(second_order=True)


# ---------------------------------------------------------------------- the rule, case by case
def _grads(f, *arrays, create_graph=False):
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    with _quiet():
        return xs, ad.grad(f(*xs), xs, create_graph=create_graph)


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_softmax_over_a_row_with_infinity_that_is_not_selected(create_graph):
    # Row 0 holds ∞, so its softmax is NaN: not selected, it contributes nothing; row 1 is exact.
    x = np.array([[np.inf, 1.0, 0.0], [1.0, 2.0, 3.0]])
    rows_kept = np.array([[False], [True]])
    _, (g,) = _grads(lambda x: (ad.where(rows_kept, ad.softmax(x, axis=-1), 0.0) * [1.0, 2.0, 3.0]).sum(), x,
                     create_graph=create_graph)
    _, (expected,) = _grads(lambda x: (ad.softmax(x, axis=-1) * [1.0, 2.0, 3.0]).sum(), x[1:])
    np.testing.assert_array_equal(g.data, np.concatenate([np.zeros((1, 3)), expected.data]))


def test_a_matmul_drops_each_zero_term_not_only_whole_rows():
    # z[0, 0] = ∞ · 1 is not selected, z[0, 1] is (a selected ∞: it shows in δ_a[0, 0] and δ_b[0, 1]).
    # δ_b[0, 0] = Σ_r a[r, 0] δ[r, 0] gets nothing from the unselected z[0, 0]: exactly 2 · 1.
    a = np.array([[np.inf, 1.0], [2.0, 3.0]])
    keep = np.array([[False, True], [True, True]])
    _, (ga, gb) = _grads(lambda a, b: ad.where(keep, a @ b, 0.0).sum(), a, np.ones((2, 2)))
    np.testing.assert_array_equal(gb.data, [[2.0, np.inf], [3.0, 4.0]])
    np.testing.assert_array_equal(ga.data, [[1.0, 1.0], [2.0, 2.0]])


def test_a_matmul_adds_back_selected_infinities_by_ieee_rules():
    # Row 0 of δ_a meets +∞ and −∞ with non-zero δ: NaN; row 1 meets +∞ only, once with δ = 0.
    b = np.array([[np.inf, -np.inf, 1.0], [np.inf, 1.0, np.nan]])
    keep = np.array([[True, True, False], [True, False, False]])
    _, (ga, _) = _grads(lambda a, b: ad.where(keep, a @ b, 0.0).sum(), np.ones((2, 2)), b)
    np.testing.assert_array_equal(ga.data, [[np.nan, np.inf], [np.inf, np.inf]])


def test_a_delta_that_is_zero_by_accident_keeps_its_second_derivative():
    # E = Σ where(c, ln x · (x − 1), 0): at x = 1 the δ reaching ln x is (x − 1) = 0, but not
    # because a where dropped it, so d²E/dx² = 2 there; x = 0 is not selected (ln 0 = −∞).
    x = ad.Tensor([1.0, 0.0], requires_grad=True)
    with _quiet():
        (g,) = ad.grad(ad.where([True, False], ad.log(x) * (x - 1), 0.0).sum(), x, create_graph=True)
        (h,) = ad.grad(g.sum(), x)
    np.testing.assert_array_equal(g.data, [0.0, 0.0])
    np.testing.assert_array_equal(h.data, [2.0, 0.0])


def test_a_contraction_whose_every_delta_is_zero_by_accident_keeps_its_second_derivative():
    # out = softmax((q / u) @ kᵀ) @ v with v = 0: every δ reaching the scores' matmul is 0, by accident
    # (v is 0), not because the where dropped it; row 0 holds NaN (q/u with u = 0) and is not selected.
    # The recorded δ_k must still depend on v, so ∂(Σ δ_k ⊙ W)/∂v is that of the harmless program.
    rng = np.random.default_rng(0)
    G, W = rng.uniform(0.5, 1.5, (2, 1)), rng.uniform(-1, 1, (2, 2))

    def second(u):
        q = ad.Tensor([[0.0, 0.0], [1.0, 0.0]], requires_grad=True)
        k, v = ad.Tensor(np.zeros((2, 2)), requires_grad=True), ad.Tensor(np.zeros((2, 1)), requires_grad=True)
        with _quiet():
            out = ad.softmax((q / u) @ k.T, axis=-1) @ v
            (dk,) = ad.grad((ad.where([[False], [True]], out, 0.0) * G).sum(), [k], create_graph=True)
            (h,) = ad.grad((dk * W).sum(), [v])
        return h.data

    poisoned = np.ones((2, 2))
    poisoned[0, 0] = 0.0
    expected = second(np.ones((2, 2)))
    assert np.abs(expected).min() > 0.1
    np.testing.assert_allclose(second(poisoned), expected, rtol=1e-12)


def test_a_loss_that_is_not_selected_passes_nothing_back():
    y = ad.Tensor([[np.inf, 1.0], [0.5, 2.0]], requires_grad=True)
    for loss in (F.mse_loss, lambda y, t: F.cross_entropy(y, [0, 1])):
        with _quiet():
            (g,) = ad.grad(ad.where(False, loss(y, np.zeros((2, 2))), 0.0), y)
        np.testing.assert_array_equal(g.data, np.zeros((2, 2)))
    with _quiet():  # per sample: only the second one is selected
        (g,) = ad.grad(ad.where([False, True], F.cross_entropy(y, [0, 1], reduction="none"), 0.0).sum(), y)
    p = np.exp(y.data[1]) / np.exp(y.data[1]).sum()
    np.testing.assert_allclose(g.data, [[0.0, 0.0], p - [0.0, 1.0]])


def test_a_layer_whose_unselected_output_unit_has_an_infinite_weight():
    layer = nn.Linear(2, 2, rng=np.random.default_rng(0))
    layer.weight.data[0, 1] = np.inf  # unit 0 is infinite wherever x[:, 1] ≠ 0; it is never selected
    x = ad.Tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    with _quiet():
        ad.where([False, True], layer(x), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.repeat(layer.weight.data[1:], 2, axis=0))
    np.testing.assert_array_equal(layer.weight.grad, [[0.0, 0.0], x.data.sum(axis=0)])
    np.testing.assert_array_equal(layer.bias.grad, [0.0, 2.0])


def test_an_op_that_states_no_rule_gets_zero_when_none_of_its_outputs_is_selected():
    from autodiff.op import op

    @op(name="_outer_square")
    def outer_square(x):
        """z = x xᵀ"""
        return np.outer(x, x), (x,)

    outer_square.vjp(lambda g, x: (g + g.T) @ x)
    try:
        x = ad.Tensor([np.inf, 1.0], requires_grad=True)
        with _quiet():
            (none,) = ad.grad(ad.where(False, outer_square(x), 0.0).sum(), x)
            (some,) = ad.grad(ad.where([[False, False], [False, True]], outer_square(x), 0.0).sum(), x)
        np.testing.assert_array_equal(none.data, [0.0, 0.0])
        assert np.isnan(some.data[1])  # no rule for a partial selection: the NaN shows rather than a guess
    finally:
        registry.pop("_outer_square")
