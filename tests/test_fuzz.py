"""Random programs (autodiff.testing.programs): every input's gradient against finite differences.

Each program is a random DAG of public ops (reuse of intermediates, broadcasting, reductions over
random axes, indexing with arrays and Tensors, zero exponents, matmul chains, softmax, logsumexp …)
on values kept in safe domains. Every one is gradchecked, and its gradients must agree across the
engine's backward paths (the fast walk into `.grad`, `ad.grad`, the anomaly-checking walk, and the
`create_graph` walk); a subset also goes through `gradgradcheck`, and programs over inputs with
zero-length axes through both. The number of programs follows the Hypothesis profile:

    HYPOTHESIS_PROFILE=ci        (default)  40 + 40 + 15 + 15 + 30 + 10 programs, about 6 s
    HYPOTHESIS_PROFILE=thorough             3000 + 1000 + 500 + 500 + 500 + 200 programs

Any failure it finds is pasted (from Hypothesis' report, which prints the program as a script)
into REGRESSIONS below, named, so it is checked on every run from then on.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from hypothesis import given, settings

import autodiff as ad
from autodiff.testing import gradcheck, gradgradcheck
from autodiff.testing.programs import OP_NAMES, Program, programs

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
THOROUGH = PROFILE == "thorough"
N_FIRST = 3000 if THOROUGH else 40
N_LARGE = 1000 if THOROUGH else 40
N_SECOND = 500 if THOROUGH else 15
N_FLOAT32 = 500 if THOROUGH else 15
N_EMPTY = 500 if THOROUGH else 30
N_EMPTY_SECOND = 200 if THOROUGH else 10

#: Programs tried, by check; reported at the end of this module's tests.
COUNTS = {"gradcheck": 0, "gradgradcheck": 0, "float32": 0, "zero-size": 0}


class _CountReport:
    """A pytest plugin, registered by the fixture below, that prints the counts in the terminal summary."""

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(
            f"fuzz ({PROFILE} profile): {COUNTS['gradcheck']} random programs gradchecked, "
            f"{COUNTS['gradgradcheck']} gradgradchecked, {COUNTS['float32']} run in float32 against float64, "
            f"{COUNTS['zero-size']} of them over zero-length axes"
        )


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    if not request.config.pluginmanager.has_plugin("fuzz-counts"):
        request.config.pluginmanager.register(_CountReport(), "fuzz-counts")


def weighted_loss(outs, weights):
    return sum((o * w).sum() for o, w in zip(outs, weights))


def check_gradients(program: Program) -> None:
    """gradcheck, then the same gradients from every backward path, and inputs left unchanged."""
    assert gradcheck(program, *program.tensors())
    xs = program.tensors()
    outs = program(*xs)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-1.5, 1.5, o.shape) for o in outs]
    reference = [g.data for g in ad.grad(list(outs), xs, [w.copy() for w in weights])]

    weighted_loss(outs, weights).backward()  # the fast walk, accumulating into .grad
    for x, g in zip(xs, reference):
        np.testing.assert_allclose(np.zeros_like(g) if x.grad is None else x.grad, g, rtol=1e-10, atol=1e-12)

    with ad.detect_anomaly():  # the checking walk: no anomaly in a safe program, same numbers
        checked = ad.grad(list(program(*xs)), xs, [w.copy() for w in weights])
    for c, g in zip(checked, reference):
        np.testing.assert_allclose(c.data, g, rtol=1e-10, atol=1e-12)

    recorded = ad.grad(list(program(*xs)), xs, [w.copy() for w in weights], create_graph=True)
    for r, g in zip(recorded, reference):  # graph VJPs agree with the NumPy VJPs
        np.testing.assert_allclose(r.data, g, rtol=1e-9, atol=1e-12)

    for x, a in zip(xs, program.inputs):
        np.testing.assert_array_equal(x.data, a)


@settings(max_examples=N_FIRST)
@given(programs())
def test_random_programs_have_correct_gradients(program):
    COUNTS["gradcheck"] += 1
    check_gradients(program)


@settings(max_examples=N_LARGE)
@given(programs(max_steps=24, min_steps=12, max_inputs=5, max_input_size=60))
def test_larger_random_programs_have_correct_gradients(program):
    COUNTS["gradcheck"] += 1
    check_gradients(program)


@settings(max_examples=N_SECOND)
@given(programs(max_steps=8))
def test_random_programs_have_correct_second_derivatives(program):
    COUNTS["gradgradcheck"] += 1
    assert gradgradcheck(program, *program.tensors())


@settings(max_examples=N_FLOAT32)
@given(programs())
def test_random_programs_stay_float32_and_agree_with_float64(program):
    COUNTS["float32"] += 1
    xs32, xs64 = program.tensors(np.float32), program.tensors(np.float64)
    outs32, outs64 = program(*xs32), program(*xs64)
    for o32, o64 in zip(outs32, outs64):
        assert o32.dtype == np.float32
        np.testing.assert_allclose(o32.data, o64.data, rtol=2e-3, atol=2e-3)
    weights = [np.ones(o.shape) for o in outs64]
    g32 = ad.grad(list(outs32), xs32, [w.astype(np.float32) for w in weights])
    g64 = ad.grad(list(outs64), xs64, weights)
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        scale = 1 + np.abs(b.data).max()
        np.testing.assert_allclose(a.data, b.data, rtol=1e-2, atol=1e-2 * scale)


@settings(max_examples=N_EMPTY)
@given(programs(zero_size=True))
def test_random_programs_over_zero_length_axes_have_gradients_of_every_inputs_shape(program):
    COUNTS["gradcheck"] += 1
    COUNTS["zero-size"] += 1
    check_gradients(program)  # gradcheck checks every gradient's shape, also of inputs without elements
    xs = program.tensors()
    for x, g in zip(xs, ad.grad(list(program(*xs)), xs, [np.ones(o.shape) for o in program(*xs)])):
        assert g.shape == x.shape and g.dtype == x.dtype


@settings(max_examples=N_EMPTY_SECOND)
@given(programs(zero_size=True, max_steps=8))
def test_random_programs_over_zero_length_axes_have_correct_second_derivatives(program):
    COUNTS["gradgradcheck"] += 1
    COUNTS["zero-size"] += 1
    assert gradgradcheck(program, *program.tensors())


def test_the_generator_makes_index_tensors_zero_exponents_and_zero_length_axes():
    sources = []

    @settings(max_examples=60, derandomize=True, database=None)
    @given(programs(ops=["getitem", "pow"], min_steps=3, max_steps=6))
    def draw(program):
        sources.append(program.source)

    draw()
    text = "\n".join(sources)
    assert re.search(r"\[ad\.Tensor\(c\d+\)\]", text)  # a Tensor as the index
    assert "dtype=bool)" in text and "dtype=np.intp)" in text  # masks and integer indices among the constants
    assert re.search(r"\*\* 0(\.0)?\n", text) and ("0.0 **" in text or "ad.pow(0.0" in text)  # x⁰ and 0ˣ
    empties, outputs = [], []

    @settings(max_examples=30, derandomize=True, database=None)
    @given(programs(zero_size=True, max_steps=6))
    def draw_empty(program):
        empties.append(any(a.size == 0 for a in program.inputs))
        outputs.append(any(o.size for o in program(*program.tensors())))

    draw_empty()
    assert all(empties) and any(outputs)  # every one has an empty input; some still give values


def test_the_generator_reaches_every_op_and_its_programs_replay():
    seen: set[str] = set()
    sizes = []

    @settings(max_examples=150, derandomize=True, database=None)
    @given(programs())
    def draw(program):
        seen.update(program.ops)
        sizes.append(program.size)
        if len(sizes) % 25 == 0:  # repr is a self-contained script giving the same values
            namespace: dict = {}
            exec(repr(program), namespace)
            for o, p in zip(namespace["outputs"], program(*program.tensors())):
                np.testing.assert_array_equal(o.data, p.data)

    draw()
    assert seen == set(OP_NAMES)
    assert max(sizes) >= 8


def test_programs_can_be_restricted_to_some_ops_and_reject_unknown_names():
    @settings(max_examples=10, derandomize=True, database=None)
    @given(programs(ops=["matmul", "reduction"]))
    def restricted(program):
        assert set(program.ops) <= {"matmul", "reduction", "tanh"}

    restricted()

    @settings(max_examples=1, database=None)
    @given(programs(ops=["tanh", "bogus"]))
    def bogus(program):
        raise AssertionError("never reached: drawing the program fails first")

    with pytest.raises(ValueError, match="unknown ops"):
        bogus()


# ---------------------------------------------------------------------------- regressions
# Programs that once failed, or that pin a graph shape worth keeping: name → (source, inputs).
# Paste a failing program from Hypothesis' report here (its `def f` and `inputs`).
REGRESSIONS: dict[str, tuple[str, list[np.ndarray]]] = {
    # A value reused by three consumers, one of them broadcast and one a where that drops it.
    "reuse_broadcast_and_where": (
        "c0 = np.array([True, False, True])\n"
        "def f(x0, x1):\n"
        "    v2 = x0 * x1\n"
        "    v3 = ad.where(c0, v2, x0)\n"
        "    v4 = ad.logsumexp(v2, axis=0, keepdims=True) + v3\n"
        "    return (v4, v2.sum(axis=1))\n",
        [np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), np.array([0.3, -0.2, 1.1])],
    ),
    # Integer indexing with repeats feeding a matmul chain and a softmax.
    "repeated_index_into_matmul_chain": (
        "c0 = np.array([0, 2, 2, 1], dtype=np.intp)\n"
        "def f(x0, x1):\n"
        "    v2 = x0[c0] @ x1 @ x1.T\n"
        "    return (ad.softmax(v2, axis=0),)\n",
        [np.array([[0.5, -1.0], [2.0, 1.5], [0.25, -0.75]]), np.array([[0.3, -0.2], [1.1, 0.4]])],
    ),
    # A mask and indices given as Tensors; zero powers of a base with exact zeros (slope 0, not 0 · ∞).
    "index_tensors_and_zero_powers_at_zero": (
        "c0 = np.array([True, False, True], dtype=bool)\n"
        "c1 = np.array([2, 0, 2], dtype=np.intp)\n"
        "c2 = np.array([0.0, 1.0, 1.0])\n"
        "def f(x0, x1):\n"
        "    v2 = x0 * np.asarray(c2, x0.dtype)\n"
        "    v3 = v2 ** 0 + ad.pow(v2, np.asarray([0.0, 2.0, 1.0], x0.dtype)) + x1 ** v2\n"
        "    return (v3[ad.Tensor(c0)], v3[ad.Tensor(c1)] * x1[ad.Tensor(c1)])\n",
        [np.array([0.5, -1.0, 2.0]), np.array([0.7, 1.3, 0.9])],
    ),
    # Found by the thorough run: x⁰ at a denormal x, whose x⁻¹ overflows (its slope was 0 · ∞ = NaN).
    "zero_power_of_a_denormal": (
        "def f(x0):\n"
        "    v1 = x0 ** 0\n"
        "    v2 = ad.add(v1, v1)\n"
        "    return (v2,)\n",
        [np.array([5e-324, 0.0])],
    ),
    # x⁰ at a tiny x, whose x⁻² overflows: its second derivative was 0 · ∞ = NaN (a constant exponent 0 is flat to every order).
    "zero_power_of_a_tiny_base": (
        "def f(x0):\n"
        "    v1 = x0 ** 0 + ad.pow(x0, np.asarray([0.0, 2.0], x0.dtype))\n"
        "    return (v1,)\n",
        [np.array([1e-200, 0.5])],
    ),
    # Inputs without elements: a k = 0 matmul gives zeros, joined with an empty input, summed over it.
    "zero_length_axes": (
        "def f(x0, x1, x2):\n"
        "    v3 = x0 @ x1\n"
        "    v4 = ad.concatenate([x0, v3 * x2], axis=1)\n"
        "    v5 = v4.sum(axis=1) + x0.sum(axis=1) + x2.sum()\n"
        "    return (ad.softmax(v4, axis=-1), v5, x1.T.reshape(3, 0) * 2.0)\n",
        [np.zeros((2, 0)), np.zeros((0, 3)), np.array([0.5, -1.0, 2.0])],
    ),
    # 0-d values broadcast back against matrices, a stack of a tensor with itself.
    "scalar_reduction_broadcast_back_and_self_stack": (
        "def f(x0):\n"
        "    v1 = x0.max() - x0.mean()\n"
        "    v2 = ad.stack([x0, x0 * v1, x0], axis=1)\n"
        "    return (ad.log(1.0 + ad.exp(v2)).sqrt(),)\n",
        [np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])],
    ),
}


def regression(name: str) -> Program:
    source, inputs = REGRESSIONS[name]
    return Program(source, inputs)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_programs(name):
    program = regression(name)
    check_gradients(program)
    assert gradgradcheck(program, *program.tensors())
