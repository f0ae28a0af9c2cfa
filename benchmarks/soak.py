"""`python -m benchmarks.soak`: 10,000 training steps of the spiral network, and how much memory drifts.

The playground's default network (MLP 2-8-8-2, tanh, cross-entropy, SGD with momentum) trains
full-batch on 200 spiral points. Memory is read after a warm-up of 10% of the steps and at the
end: Python's traced allocations (tracemalloc, which sees NumPy's buffers too; on from the start,
so free lists filling up count as warm-up) and the resident set size. `tests/test_soak.py` runs a
short version of this in the test suite.

    .venv/bin/python -m benchmarks.soak [--steps 10000]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc

import numpy as np

import nn

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def soak(steps: int) -> dict:
    rng = np.random.default_rng(0)
    X, t = nn.datasets.spiral(200, 0.05, rng)
    model = nn.MLP([2, 8, 8, 2], rng=rng)
    opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    warm = max(1, steps // 10)
    gc.collect()
    collected = 0
    tracemalloc.start()
    start = time.perf_counter()
    try:
        for i in range(steps):
            loss = loss_fn(model(X), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i == 0:
                first = loss.item()
            if i + 1 == warm:
                collected += gc.collect()
                traced0, rss0 = tracemalloc.get_traced_memory()[0], rss()
        collected += gc.collect()
        traced1, peak = tracemalloc.get_traced_memory()
        rss1 = rss()
    finally:
        tracemalloc.stop()
    return {
        "steps": steps,
        "seconds": time.perf_counter() - start,
        "loss": (first, loss.item()),
        "traced_drift": traced1 - traced0,
        "traced_peak": peak,
        "rss_drift": rss1 - rss0,
        "rss": rss1,
        "garbage": collected,
        "warm": warm,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="training steps (default: %(default)s)")
    args = parser.parse_args(argv)
    r = soak(args.steps)
    after = r["steps"] - r["warm"]
    print(f"soak: {r['steps']:,} steps of MLP 2-8-8-2 on the spiral (cross-entropy, SGD) in {r['seconds']:.1f} s "
          f"(with tracemalloc on); loss {r['loss'][0]:.4f} -> {r['loss'][1]:.4f}")
    print(f"memory drift over the last {after:,} steps: traced {r['traced_drift']:+,} bytes "
          f"({r['traced_drift'] / after:+.2f} bytes/step), resident {r['rss_drift'] / 1024:+,.0f} KiB "
          f"(resident {r['rss'] / 2**20:.1f} MiB, traced peak {r['traced_peak'] / 1024:,.0f} KiB)")
    print(f"objects the cyclic GC found: {r['garbage']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
