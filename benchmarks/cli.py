"""`python -m benchmarks`: check, time and report every workload; `--help` lists the options."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from benchmarks import envinfo, memory, report
from benchmarks.suite import OURS_OPTIONS, Row, Timing, applies, available_impls, run_workload
from benchmarks.workloads import WORKLOADS


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time our engine against hand-written NumPy backprop (and PyTorch when importable). "
        "Ratios to NumPy in one interleaved run; quote ratios, not absolute times.",
    )
    ap.add_argument("--quick", action="store_true", help="few steps (a smoke run; ratios are rough)")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (for tests: agreement, not speed)")
    ap.add_argument("--only", default=",".join(WORKLOADS), help="workloads, e.g. W1,W3 (default: all)")
    ap.add_argument("--dtypes", default="float64,float32", help="default: float64,float32")
    ap.add_argument("--impls", default=None,
                    help="default: numpy,ours,raw,compiled,torch (ours = nn eagerly, raw = plain Tensors eagerly, "
                    "compiled = nn under ad.compile; torch when importable)")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if it is installed")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds of timing per workload and dtype (≥30 rounds)")
    ap.add_argument("--min-rounds", type=int, default=None, help="default 30 (5 with --quick)")
    ap.add_argument("--no-memory", action="store_true", help="skip the W3 memory measurements")
    ap.add_argument("--long", action="store_true", help="RSS growth and drift over 2,000 W3 steps (default 200)")
    ap.add_argument("--threads2", action="store_true", help="add a two-thread W3 row, each framework in its own process")
    ap.add_argument("--markdown", nargs="?", const="-", default=None, metavar="PATH",
                    help="also write the tables as Markdown to PATH (or stdout)")
    ap.add_argument("--losses", choices=["auto", "composed"], default="auto",
                    help="our W1–W3 losses: nn.functional's fused ones when available (auto) or composed from ops")
    ap.add_argument("--keep-openblas-env", action="store_true",
                    help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (by default this command unsets them)")
    ap.add_argument("--worker", choices=["time", "memory"], help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=200, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


@contextlib.contextmanager
def pinned_threads(n: int):
    """BLAS/OpenMP (threadpoolctl, if installed) and PyTorch limited to `n` threads, restored after."""
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(ImportError):
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(n))
        torch = sys.modules.get("torch")
        if torch is None:
            with contextlib.suppress(Exception):
                import torch
        if torch is not None:
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            stack.callback(torch.set_num_threads, before)
        yield


def _timing_json(row: Row) -> dict:
    if row.error:
        return {"error": row.error}
    return {i: {"times": t.times, "faults": t.faults} for i, t in row.timings.items()}


def worker(args: argparse.Namespace, impls: list[str], dtypes: list[str]) -> int:
    if args.worker == "memory":
        out = memory.long_run(impls[0], dtypes[0], args.steps, tiny=args.tiny)
    else:
        key = args.only.split(",")[0]
        out = _timing_json(run_workload(key, dtypes[0], impls, args.tiny, **_timing_opts(args)))
    print(json.dumps(out))
    return 0


def _timing_opts(args: argparse.Namespace) -> dict:
    if args.quick:
        return dict(min_rounds=args.min_rounds or 5, warmup=1, budget=0.0)
    return dict(min_rounds=args.min_rounds or 30, warmup=5, budget=args.budget)


def _passed_on(args: argparse.Namespace) -> list[str]:
    """The options a worker subprocess must get too."""
    out = ["--tiny"] if args.tiny else []
    return [*out, "--losses", args.losses]


def two_thread_rows(args: argparse.Namespace, impls: list[str], dtypes: list[str]) -> list[Row]:
    """W3 with two threads: ours and PyTorch each in its own process, each interleaved with NumPy."""
    rows = []
    base = ["--worker", "time", "--only", "W3", "--budget", str(args.budget)]
    base += ["--quick"] if args.quick else []
    base += _passed_on(args)
    for dt in dtypes:
        row = Row("W3", dt, threads=2)
        for impl in [i for i in impls if i != "numpy"]:
            res = memory.run_worker([*base, "--dtypes", dt, "--impls", f"numpy,{impl}"], threads=2)
            if "error" in res:
                row.error = res["error"]
                break
            t = {k: Timing(v["times"], v["faults"]) for k, v in res.items()}
            # Each implementation was interleaved with its own NumPy run: keep its ratio to that one.
            r = Row("W3", dt, timings=t)
            row.external[impl] = (r.ratio(impl), r.ratio(impl, "min"))
            row.timings.setdefault("numpy", t["numpy"])
            row.timings[impl] = t[impl]
        rows.append(row)
        print(report.text_table(report.HEADER, [report.row_cells(row)]).splitlines()[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    threads = int(os.environ.get("AUTODIFF_BENCH_THREADS", "1"))
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    impls = args.impls.split(",") if args.impls else available_impls(torch=not args.no_torch)
    if args.no_torch:
        impls = [i for i in impls if i != "torch"]
    OURS_OPTIONS.clear()
    OURS_OPTIONS.update(losses_from=args.losses)
    with pinned_threads(threads):
        if args.worker:
            return worker(args, impls, dtypes)
        return run(args, impls, dtypes)


def run(args: argparse.Namespace, impls: list[str], dtypes: list[str]) -> int:
    started = time.perf_counter()
    env = envinfo.collect()
    for k, v in env:
        print(f"{k}: {v}")
    print(f"implementations: {', '.join(impls)}; ratios to NumPy are medians of per-round ratios (best-to-best in brackets)\n")
    print(report.text_table(report.HEADER, []), flush=True)
    rows, failed = [], False
    for key in [k.strip() for k in args.only.split(",") if k.strip()]:
        for dt in dtypes:
            row = run_workload(key, dt, impls, args.tiny, **_timing_opts(args))
            failed |= bool(row.error)
            rows.append(row)
            print(report.text_table(report.HEADER, [report.row_cells(row)]).splitlines()[-1], flush=True)
    if args.threads2 and "W3" in args.only:
        rows += two_thread_rows(args, impls, dtypes)
    notes = sorted({n for r in rows for n in r.notes})
    for n in notes:
        print("note:", n)

    mem_header, mem_rows = None, []
    if not args.no_memory:
        steps = 2000 if args.long else (20 if args.quick else 200)
        mem_impls = [i for i in impls if applies(i, "W3")]
        peaks = {dt: {i: memory.traced_peak(i, dt, tiny=args.tiny) for i in mem_impls if i != "torch"} for dt in dtypes}
        runs = {dt: {i: memory.long_run_subprocess(i, dt, steps, _passed_on(args)) for i in mem_impls} for dt in dtypes}
        mem_header, mem_rows = report.memory_rows(peaks, runs)
        print()
        print(report.text_table(mem_header, mem_rows))
    elapsed = time.perf_counter() - started
    print(f"\nwhole run: {elapsed:.0f} s")

    if args.markdown:
        md = ["### Environment", "", *[f"- {k}: {v}" for k, v in env], "",
              "### Step time, as a ratio to hand-written NumPy (median of per-round ratios; best-to-best in brackets)", "",
              report.markdown_table(report.HEADER, [report.row_cells(r) for r in rows])]
        md += ["", *[f"- note: {n}" for n in notes]] if notes else []
        if mem_rows:
            md += ["", "### Memory (W3)", "", report.markdown_table(mem_header, mem_rows)]
        md += ["", f"Whole run: {elapsed:.0f} s, command: `python -m benchmarks {' '.join(sys.argv[1:])}`".rstrip()]
        text = "\n".join(md) + "\n"
        if args.markdown == "-":
            print("\n" + text)
        else:
            Path(args.markdown).write_text(text)
            print(f"Markdown written to {args.markdown}")
    return 1 if failed else 0
