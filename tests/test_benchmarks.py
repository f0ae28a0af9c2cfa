"""The benchmark suite's implementations agree: same weights (or values and gradients) after a step.

Correctness only, on tiny sizes: no timing is asserted here (`python -m benchmarks` does the timing).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import cli, impl_numpy, impl_ours, memory
from benchmarks.suite import Mismatch, applies, available_impls, build, check_agreement
from benchmarks.workloads import WORKLOADS, make_problem

IMPLS = available_impls()
DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("key", list(WORKLOADS))
def test_implementations_agree_after_one_step(key, dtype):
    runners = {i: build(i, key, dtype, tiny=True) for i in IMPLS if applies(i, key)}
    assert len(runners) >= 3 if key != "W5" else len(runners) >= 2
    check_agreement(runners, dtype)
    for r in runners.values():
        for x in r.state():
            assert np.asarray(x).dtype == np.dtype(dtype), "no silent upcast in any implementation"


@pytest.mark.parametrize("key", ["W1", "W2", "W3"])
def test_composed_losses_agree_with_the_reference(key):
    p = make_problem(key, "float64", tiny=True)
    check_agreement({
        "numpy": impl_numpy.mlp(p),
        "ours": impl_ours.mlp(p, losses_from="composed"),
        "raw": impl_ours.mlp_raw(p, losses_from="composed"),
        "compiled": impl_ours.mlp_compiled(p, losses_from="composed"),
    }, "float64")


def test_the_compiled_runner_keeps_agreeing_over_replays():
    p = make_problem("W2", "float64", tiny=True)
    ref, compiled = impl_numpy.mlp(p), impl_ours.mlp_compiled(p)
    for _ in range(3):  # still the reference's weights after several replays
        check_agreement({"numpy": ref, "compiled": compiled}, "float64")


def test_a_wrong_implementation_is_caught():
    p = make_problem("W1", "float64", tiny=True)
    wrong = make_problem("W1", "float64", tiny=True)
    wrong.lr *= 1.01
    with pytest.raises(Mismatch):
        check_agreement({"numpy": impl_numpy.mlp(p), "ours": impl_ours.mlp(wrong)}, "float64")


def test_quick_tiny_run_of_every_workload(capsys, tmp_path):
    md = tmp_path / "results.md"
    assert cli.main(["--quick", "--tiny", "--no-memory", "--min-rounds", "2", "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    for key in WORKLOADS:
        assert f"\n{key} " in out
    assert "MISMATCH" not in out
    assert "| W5 | f32 |" in md.read_text()


def test_memory_measurements_run_on_tiny_sizes(capsys):
    assert memory.traced_peak("ours", "float64", tiny=True) > 0
    assert cli.main(["--worker", "memory", "--impls", "ours", "--dtypes", "float32", "--steps", "10", "--tiny"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(res) >= {"rss_growth", "drift", "faults_per_step"}


def test_the_profiler_runs_each_kind_of_implementation(capsys):
    from benchmarks import profiling

    assert profiling.main(["W4", "--steps", "1", "--cprofile"]) == 0  # ours on W4 means raw Tensors
    assert profiling.main(["W4", "--impl", "compiled", "--steps", "1", "--cprofile"]) == 0
    assert "function calls" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        profiling.main(["W5", "--impl", "compiled"])
