"""Benchmarks: our engine against hand-written NumPy backprop (and PyTorch when importable).

Run with `python -m benchmarks` (or `make bench`); `benchmarks/README.md` explains the workloads,
the method and the latest results. BLAS must be pinned to one thread before NumPy is first
imported, so that happens here, when the package is imported, and only if NumPy is not loaded yet
(a test session that imported NumPy already is left alone). `AUTODIFF_BENCH_THREADS` overrides the
count; the two-thread row uses it in its subprocesses.
"""

import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

if "numpy" not in sys.modules:
    _threads = os.environ.get("AUTODIFF_BENCH_THREADS", "1")
    for _var in THREAD_VARS:
        os.environ[_var] = _threads

#: Variables `python -m benchmarks` removed from its own environment, with their old values.
UNSET_ENV: dict[str, str] = {}
