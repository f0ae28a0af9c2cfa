"""Build every implementation of a workload, check they agree after one step, time them interleaved.

Timing: one step of each implementation in turn (A B C, then B C A, …) in one process, so a
burst of load from other users of the machine hits all of them alike; the median of each one's
step times is compared. Minor page faults are counted around each step (outside the timed part).
"""

from __future__ import annotations

import gc
import importlib
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks.workloads import WORKLOADS, Problem, Runner, make_problem, tolerance

#: Implementation -> (module, suffix): its runner for a workload of kind K is `module.K` + suffix
#: (`impl_ours.mlp_raw`); an implementation without one for a workload is left out of that row.
IMPLS = {
    "numpy": ("benchmarks.impl_numpy", ""),
    "ours": ("benchmarks.impl_ours", ""),
    "raw": ("benchmarks.impl_ours", "_raw"),
    "compiled": ("benchmarks.impl_ours", "_compiled"),
    # issue 26: the whole step compiled, against the tightest hand-written step (benchmarks/step.py)
    "tight": ("benchmarks.impl_numpy", "_tight"),
    "tight_aligned": ("benchmarks.impl_numpy", "_tight_aligned"),
    "step": ("benchmarks.impl_ours", "_step"),
    "torch": ("benchmarks.impl_torch", ""),
}


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def available_impls(torch: bool = True) -> list[str]:
    """The implementations to run: the reference first, ours (nn, raw Tensors, compiled), then
    PyTorch if importable."""
    return ["numpy", "ours", "raw", "compiled"] + (["torch"] if torch and torch_available() else [])


#: Options of our engine's W1–W3 (`--losses`), passed through to `impl_ours.mlp*`.
OURS_OPTIONS: dict = {}


def _factory(impl: str, key: str) -> Callable[..., Runner] | None:
    module, suffix = IMPLS[impl]
    return getattr(importlib.import_module(module), WORKLOADS[key].kind + suffix, None)


def applies(impl: str, key: str) -> bool:
    """Whether `impl` has a runner for workload `key` (W5 measures eager per-op cost only)."""
    return _factory(impl, key) is not None


def build(impl: str, key: str, dtype: str, tiny: bool = False, problem: Problem | None = None) -> Runner:
    """A fresh runner of implementation `impl` for workload `key` (on `problem` if given)."""
    factory = _factory(impl, key)
    if factory is None:
        raise ValueError(f"{impl} has no runner for {key}")
    problem = problem or make_problem(key, dtype, tiny)
    if IMPLS[impl][0] == "benchmarks.impl_ours" and WORKLOADS[key].kind == "mlp":
        return factory(problem, **OURS_OPTIONS)
    return factory(problem)


class Mismatch(AssertionError):
    """Two implementations disagree after one step: their timings would mean nothing."""


def check_agreement(runners: dict[str, Runner], dtype: str) -> None:
    """Run one step of each runner and check every state array is allclose to the reference's."""
    states = {}
    for name, r in runners.items():
        r.step()
        states[name] = [np.array(x, dtype=np.float64) for x in r.state()]
    ref_name = next(iter(runners))
    ref = states[ref_name]
    tol = tolerance(dtype)
    for name, st in states.items():
        if len(st) != len(ref):
            raise Mismatch(f"{name}: {len(st)} state arrays, {ref_name} has {len(ref)}")
        for i, (a, b) in enumerate(zip(st, ref)):
            if a.shape != b.shape or not np.allclose(a, b, **tol):
                worst = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("nan")
                raise Mismatch(
                    f"{name} and {ref_name} differ after one step in state array {i} "
                    f"(shapes {a.shape} / {b.shape}, max |diff| {worst:.3g}, {tol})"
                )


@dataclass
class Timing:
    times: list = field(default_factory=list)  # seconds per step
    faults: int = 0  # minor page faults over all timed steps

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def faults_per_step(self) -> float:
        return self.faults / len(self.times)


def interleaved(
    steps: dict[str, Callable[[], object]], min_rounds: int = 30, warmup: int = 5, budget: float = 3.0
) -> dict[str, Timing]:
    """Time each step function in turn, round after round: at least `min_rounds`, more while the
    estimated total stays within `budget` seconds. Returns each one's step times and page faults."""
    names = list(steps)
    for _ in range(warmup):
        for n in names:
            steps[n]()
    t0 = time.perf_counter()
    for n in names:
        steps[n]()
    per_round = time.perf_counter() - t0
    rounds = max(min_rounds, int(budget / per_round) if per_round > 0 else min_rounds)
    rounds = min(rounds, 20_000)
    out = {n: Timing() for n in names}
    getrusage, who, clock = resource.getrusage, resource.RUSAGE_SELF, time.perf_counter
    gc.collect()
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            f = steps[n]
            before = getrusage(who).ru_minflt
            t0 = clock()
            f()
            t1 = clock()
            rec = out[n]
            rec.faults += getrusage(who).ru_minflt - before
            rec.times.append(t1 - t0)
    return out


@dataclass
class Row:
    """One workload at one dtype: each implementation's timing, or why it was not timed."""

    key: str
    dtype: str
    timings: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    error: str = ""
    threads: int = 1
    #: Divisor from one step to the unit the table quotes (W5: per op).
    ops_per_step: int = 1
    #: Ratios measured elsewhere (the two-thread row): impl -> (median ratio, min ratio).
    external: dict = field(default_factory=dict)

    def ratio(self, impl: str, stat: str = "median") -> float | None:
        """impl's time over NumPy's: the median of the per-round ratios, or ("min") best over best."""
        if impl in self.external:
            return self.external[impl][0 if stat == "median" else 1]
        if impl not in self.timings or "numpy" not in self.timings:
            return None
        a, b = self.timings[impl], self.timings["numpy"]
        if stat == "min":
            return min(a.times) / min(b.times)
        # Each round's two steps ran back to back: their ratio cancels load that changes slowly.
        return statistics.median(x / y for x, y in zip(a.times, b.times))


def run_workload(
    key: str,
    dtype: str,
    impls: list[str],
    tiny: bool = False,
    min_rounds: int = 30,
    warmup: int = 5,
    budget: float = 3.0,
) -> Row:
    """Check that `impls` agree on `key` after one step, then time them interleaved."""
    row = Row(key, dtype)
    impls = [i for i in impls if applies(i, key)]
    problem = make_problem(key, dtype, tiny)
    if problem.kind == "overhead":
        row.ops_per_step = 2 * problem.reps
    try:
        check = {i: build(i, key, dtype, tiny) for i in impls}
        check_agreement(check, dtype)
    except Mismatch as e:
        row.error = f"MISMATCH: {e}"
        return row
    row.notes = [f"{i}: {r.note}" for i, r in check.items() if r.note]
    del check
    runners = {i: build(i, key, dtype, tiny) for i in impls}
    row.timings = interleaved({i: r.step for i, r in runners.items()}, min_rounds, warmup, budget)
    return row
