"""The environment a run happened in: CPU, Python, NumPy and its BLAS, PyTorch, threads, load."""

from __future__ import annotations

import os
import platform
import time

import numpy as np

import benchmarks


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                return (
                    f"{lib.get('internal_api')} {lib.get('version')}, kernel {lib.get('architecture')}, "
                    f"{lib.get('num_threads')} thread(s) (threadpoolctl)"
                )
    except ImportError:
        pass
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')} (numpy build config; threadpoolctl not installed)"
    except Exception:
        return "unknown"


def torch_info() -> str:
    try:
        import torch
    except Exception:
        return "not installed (torch columns skipped)"
    cap = ""
    try:
        cap = f", CPU capability {torch.backends.cpu.get_cpu_capability()}"
    except Exception:
        pass
    blas = "mkl" if "BLAS_INFO=mkl" in torch.__config__.show() else "see torch.__config__.show()"
    return f"{torch.__version__}, BLAS {blas}{cap}, {torch.get_num_threads()} thread(s)"


def openblas_env() -> str:
    if benchmarks.UNSET_ENV:
        was = ", ".join(f"{k}={v}" for k, v in benchmarks.UNSET_ENV.items())
        return f"unset for this run (was {was})"
    now = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ}
    if now:
        return "kept: " + ", ".join(f"{k}={v}" for k, v in now.items())
    return "not set"


def source_version() -> str:
    """The git commit the engine's source is at, and whether it has uncommitted changes (read-only)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "autodiff", "nn"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    if not head:
        return ""
    return f" (git {head}{' + uncommitted changes in autodiff/ or nn/' if dirty else ''})"


def collect() -> list[tuple[str, str]]:
    import autodiff

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    threads = ", ".join(f"{v}={os.environ.get(v, '-')}" for v in benchmarks.THREAD_VARS)
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", f"{cpu_model()} ({os.cpu_count()} logical cores)"),
        ("load average at start", " ".join(f"{x:.2f}" if isinstance(x, float) else x for x in load)),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("NumPy", np.__version__),
        ("NumPy BLAS", numpy_blas()),
        ("OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE", openblas_env()),
        ("thread variables", threads),
        ("PyTorch", torch_info()),
        ("autodiff", autodiff.__version__ + source_version()),
    ]
