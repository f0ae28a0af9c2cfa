"""Memory of a W3 step: tracemalloc peak, resident-set growth and drift, minor page faults.

The tracemalloc peak is measured in this process (NumPy reports its array buffers to
tracemalloc; PyTorch's allocator does not, so it has no figure). RSS growth and drift are
measured in a fresh subprocess per implementation, so one's heap cannot hide another's.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

from benchmarks.suite import build
from benchmarks.workloads import make_problem

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Current resident set size in bytes (not the maximum: /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def traced_peak(impl: str, dtype: str, key: str = "W3", tiny: bool = False) -> int:
    """Peak bytes traced by tracemalloc above the level before one step (after two warm-up steps)."""
    runner = build(impl, key, dtype, tiny)
    runner.step()
    runner.step()
    gc.collect()
    tracemalloc.start()
    try:
        runner.step()  # let tracemalloc see one step's steady state before the measured one
        gc.collect()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        runner.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


def long_run(impl: str, dtype: str, steps: int, key: str = "W3", tiny: bool = False) -> dict:
    """In this process: RSS before building, growth after `steps` steps, drift over the last 90%,
    and minor page faults per step."""
    problem = make_problem(key, dtype, tiny)
    build(impl, key, dtype, tiny=True).step()  # imports (PyTorch's too) are not what we measure
    gc.collect()
    start = rss()
    runner = build(impl, key, dtype, tiny, problem)
    warm = max(1, steps // 10)
    for _ in range(warm):
        runner.step()
    after_warm = rss()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps - warm):
        runner.step()
    f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    end = rss()
    return {
        "impl": impl,
        "dtype": dtype,
        "steps": steps,
        "rss_growth": end - start,
        "drift": end - after_warm,
        "faults_per_step": (f1 - f0) / max(1, steps - warm),
    }


def long_run_subprocess(impl: str, dtype: str, steps: int, extra: list[str] = (), threads: int = 1) -> dict:
    """`long_run` in a fresh `python -m benchmarks --worker memory EXTRA` process."""
    args = ["--worker", "memory", "--impls", impl, "--dtypes", dtype, "--steps", str(steps), *extra]
    return run_worker(args, threads)


def run_worker(args: list[str], threads: int = 1) -> dict:
    """Run `python -m benchmarks ARGS` with `threads` BLAS/OpenMP threads; parse its JSON line."""
    env = dict(os.environ, AUTODIFF_BENCH_THREADS=str(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=root, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
