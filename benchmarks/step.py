"""`python -m benchmarks.step`: the whole compiled training step against the tightest hand-written one.

Issue 26's table: W1–W3 as `opt.compile_step(loss)` (forward, loss, backward and the SGD update,
replayed into buffers planned at trace time) against `impl_numpy.mlp_tight` (every array
preallocated, activation and update in place), and W4 (forward and backward of the chain under
`ad.compile`) against the NumPy chain. One interleaved run per workload and dtype, one BLAS
thread, the median of per-round ratios (best over best in brackets: on a loaded machine the
steadier figure); with it the lecture's allocating NumPy step, the compiled loss with the eager
optimizer, nn eagerly, and the tight step with its arrays on cache lines as the compiled step's
are (what of the compiled step's lead a hand-written step could have too), for context. Bytes: tracemalloc's peak within one step after the
first few (NumPy's allocations included).
"""

from __future__ import annotations

import argparse
import statistics
import tracemalloc

from benchmarks.suite import Mismatch, applies, build, check_agreement, interleaved
from benchmarks.workloads import WORKLOADS

IMPLS = ["tight", "numpy", "step", "tight_aligned", "compiled", "ours"]
LABELS = {"tight": "tight NumPy", "numpy": "lecture NumPy", "step": "compiled step", "compiled": "compiled loss",
          "ours": "nn eager", "tight_aligned": "tight, aligned"}
TARGETS = {"W1": "≤ 1.2×", "W2": "≤ 1.0×", "W3": "≤ 1.0×", "W4": "≤ 1.2×"}


def bytes_per_step(step, warm: int = 3, steps: int = 5) -> tuple[int, int]:
    """(peak bytes allocated within one step, bytes still allocated after it), worst of `steps`."""
    for _ in range(warm):
        step()
    tracemalloc.start()
    try:
        peak = kept = 0
        for _ in range(steps):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step()
            now, top = tracemalloc.get_traced_memory()
            peak, kept = max(peak, top - before), max(kept, now - before)
    finally:
        tracemalloc.stop()
    return peak, kept


def run(keys: list[str], dtypes: list[str], budget: float, tiny: bool = False) -> list[dict]:
    rows = []
    for key in keys:
        for dtype in dtypes:
            impls = [i for i in IMPLS if applies(i, key)]
            ref = impls[0]
            try:
                check_agreement({i: build(i, key, dtype, tiny) for i in impls}, dtype)
            except Mismatch as e:
                rows.append({"key": key, "dtype": dtype, "error": f"MISMATCH: {e}"})
                continue
            runners = {i: build(i, key, dtype, tiny) for i in impls}
            timings = interleaved({i: r.step for i, r in runners.items()}, min_rounds=30, warmup=5, budget=budget)
            ratios = {i: statistics.median(a / b for a, b in zip(timings[i].times, timings[ref].times)) for i in impls}
            best = {i: min(timings[i].times) / min(timings[ref].times) for i in impls}
            memory = {i: bytes_per_step(build(i, key, dtype, tiny).step) for i in impls}
            rows.append({"key": key, "dtype": dtype, "ref": ref, "ratios": ratios, "best": best, "memory": memory,
                         "ref_time": timings[ref].median, "rounds": len(timings[ref].times)})
    return rows


def markdown(rows: list[dict]) -> str:
    head = ("| workload | dtype | reference (median) | " + " | ".join(f"{LABELS[i]} / ref" for i in IMPLS[1:])
            + " | target (step) | bytes/step peak: ref · step | rounds |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['key']} | {r['dtype']} | {r['error']} |")
            continue
        cells = []
        for i in IMPLS[1:]:
            x = r["ratios"].get(i)
            cells.append("—" if x is None else f"{x:.2f}× ({r['best'][i]:.2f}×)")
        key = r["key"]
        step = "step" if "step" in r["memory"] else "compiled"
        mem = f"{r['memory'][r['ref']][0]:,} · {r['memory'][step][0]:,}"
        lines.append(f"| {key} | {r['dtype'][5:]} | {LABELS[r['ref']]} {r['ref_time'] * 1e6:.1f} µs | "
                     + " | ".join(cells) + f" | {TARGETS.get(key, '')} | {mem} | {r['rounds']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.step", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="W1,W2,W3,W4")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per workload and dtype")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (agreement only)")
    a = ap.parse_args(argv)
    rows = []
    for key in [k for k in a.only.split(",") if k in WORKLOADS]:
        for dtype in a.dtypes.split(","):
            rows += run([key], [dtype], a.budget, a.tiny)
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)  # each row as it is measured
    print(markdown(rows))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
